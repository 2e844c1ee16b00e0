//! `stagescope completions SHELL`: the completion script clap_complete makes from the
//! command-line definitions, on stdout.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

use super::{EXIT_FAILED, fail};

pub(crate) fn completions(args: &CompletionsArgs) -> u8 {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    // Into memory first: clap_complete panics when its writer fails (`| head` closing).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    print_all(&script)
}

/// Print generated text: 0, also when the reader went away (`| head`); 1 on any other
/// write error.
pub(super) fn print_all(bytes: &[u8]) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => fail(EXIT_FAILED, format!("cannot write to stdout: {e}")),
    }
}
