//! `stagescope [CONTEXT]`: the terminal UI over the same build `build` runs headless.

use std::io::IsTerminal;

use super::{EXIT_FAILED, EXIT_USAGE, fail, prepare, runtime, session_for};
use crate::cli::{BuildFlags, TuiArgs};
use stagescope_tui::app::Start;

pub(crate) fn tui(args: &TuiArgs) -> u8 {
    let start = Start {
        step: args.step,
        explain: args.explain,
        tour: false,
    };
    run(&args.flags, start, args.record.record.clone())
}

/// The TUI on the build `flags` describe, started as `start` says (`tour` starts it too),
/// its run recorded (also into `record`, when given).
pub(super) fn run(flags: &BuildFlags, start: Start, record: Option<std::path::PathBuf>) -> u8 {
    if !std::io::stdout().is_terminal() {
        return fail(
            EXIT_USAGE,
            "the terminal UI needs a terminal; use `stagescope build` for headless output",
        );
    }
    let setup = match prepare(flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let session = match session_for(setup, flags).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let recording = session.start_recording(record).await;
        match stagescope_tui::app::run(session, start, recording).await {
            Ok(code) => code,
            Err(e) => fail(EXIT_FAILED, format!("terminal error: {e}")),
        }
    })
}
