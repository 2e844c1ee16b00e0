//! `stagescope replay RUN|FILE`: the terminal UI on a recorded run, with no engine.

use std::io::IsTerminal;

use super::history::resolve_any;
use super::{EXIT_FAILED, EXIT_USAGE, fail, runtime};
use crate::cli::ReplayArgs;

pub(crate) fn replay(args: &ReplayArgs) -> u8 {
    let record = match resolve_any(&args.run, &args.context, &args.remote) {
        Ok(r) => r,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    if !std::io::stdout().is_terminal() {
        return fail(
            EXIT_USAGE,
            "the replay needs a terminal; `stagescope compare` prints a run headless",
        );
    }
    runtime().block_on(async {
        match stagescope_tui::app::replay(&record).await {
            Ok(code) => code,
            Err(e) => fail(EXIT_FAILED, format!("terminal error: {e}")),
        }
    })
}
