//! `stagescope tour [CONTEXT]`: the TUI as a guided tour for a class, over `tui`.

use stagescope_tui::app::Start;

use crate::cli::TourArgs;

pub(crate) fn tour(args: &TourArgs) -> u8 {
    let start = Start {
        step: true,
        explain: true,
        tour: true,
    };
    super::tui::run(&args.flags, start, args.record.record.clone())
}
