//! A word where CONTEXT goes that is neither a subcommand nor a directory, caught before clap
//! reads it as something else.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, CommandFactory, value_parser};

use super::Cli;

/// The positional argument [`stray_word`] adds to catch what follows CONTEXT.
const REST: &str = "stagescope-rest";

/// The word a command line gives where CONTEXT goes when it is neither a subcommand nor a
/// directory: the `inspect` of `stagescope inspect x`, the `nosuch` of `stagescope nosuch`.
/// Left to clap, the first is taken for CONTEXT and `x` reported as a subcommand that
/// "cannot be used with '[CONTEXT]'", and the second opens the TUI on a missing directory.
/// `None` for anything else (a subcommand, a directory, `--help`, a usage error clap
/// describes well itself).
pub(crate) fn stray_word<I, T>(args: I) -> Option<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // The same command with a catch-all after CONTEXT, so that what follows the word does
    // not stop the parse before CONTEXT can be looked at.
    let lenient = Cli::command().arg(
        Arg::new(REST)
            .num_args(1..)
            .action(ArgAction::Append)
            .value_parser(value_parser!(OsString))
            .hide(true),
    );
    let matches = lenient.try_get_matches_from(args).ok()?;
    if matches.subcommand().is_some()
        || matches.value_source("context") != Some(ValueSource::CommandLine)
    {
        return None;
    }
    let context = matches.get_one::<PathBuf>("context")?;
    (!context.is_dir()).then(|| context.clone().into_os_string())
}

/// The one-line error for a [`stray_word`], naming the subcommands there are.
pub(crate) fn stray_word_error(word: &OsString) -> String {
    let cmd = Cli::command();
    let names: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    format!(
        "error: '{}' is neither a subcommand nor a directory (subcommands: {})",
        word.to_string_lossy(),
        names.join(", ")
    )
}
