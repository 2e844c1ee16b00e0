//! `stagescope man [--dir DIR]`: the man page clap_mangen makes from the command-line
//! definitions, on stdout; with `--dir`, stagescope.1 and one page per subcommand in DIR.

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};

use super::completions::print_all;
use super::{EXIT_FAILED, fail};

pub(crate) fn man(args: &ManArgs) -> u8 {
    // `help` gets no page of its own, so the main page does not name one.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = &args.dir else {
        let mut page = Vec::new();
        return match Man::new(cmd).render(&mut page) {
            Ok(()) => print_all(&page),
            Err(e) => fail(EXIT_FAILED, format!("cannot render the man page: {e}")),
        };
    };
    // A subcommand has no version of its own: each page's footer names the program's.
    let source = format!(
        "{} {}",
        cmd.get_name(),
        cmd.get_version().unwrap_or_default()
    );
    let mut pages = cmd.get_subcommands().filter(|s| !s.is_hide_set());
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        pages.try_for_each(|sub| {
            Man::new(sub.clone())
                .source(&source)
                .generate_to(dir)
                .map(drop)
        })?;
        Man::new(cmd.clone()).generate_to(dir).map(drop)
    });
    match written {
        Ok(()) => 0,
        Err(e) => fail(
            EXIT_FAILED,
            format!("cannot write the man pages to {}: {e}", dir.display()),
        ),
    }
}
