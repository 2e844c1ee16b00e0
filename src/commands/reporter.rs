//! Build events printed as `--progress` asks: one line per instruction, or NDJSON events
//! and a summary. `build` and `attach` print alike.

use std::io::IsTerminal;

use stagescope_plan::{BuildEvent, BuildPlan, BuildState};
use stagescope_report::progress::{JsonReporter, PlainReporter};
use stagescope_report::sanitize;

use crate::cli::ProgressArg;

/// `--progress plain` or `json` on stdout.
pub(super) enum Reporter {
    Plain(PlainReporter<std::io::Stdout>),
    Json(JsonReporter<std::io::Stdout>),
}

impl Reporter {
    /// The reporter `--progress` asks for, writing to stdout.
    pub(super) fn new(progress: ProgressArg, plan: BuildPlan) -> Reporter {
        match progress {
            ProgressArg::Plain => Reporter::Plain(
                PlainReporter::new(plan, std::io::stdout()).with_colour(colour_allowed()),
            ),
            ProgressArg::Json => Reporter::Json(JsonReporter::new(plan, std::io::stdout())),
        }
    }

    pub(super) fn on_event(&mut self, ev: &BuildEvent) {
        // stdout closed (a pipe into `head`): keep building, stop printing.
        let _ = match self {
            Reporter::Plain(r) => r.on_event(ev),
            Reporter::Json(r) => r.on_event(ev),
        };
    }

    pub(super) fn state(&self) -> &BuildState {
        match self {
            Reporter::Plain(r) => &r.state,
            Reporter::Json(r) => &r.state,
        }
    }

    pub(super) fn finish(&mut self) {
        if let Reporter::Json(r) = self {
            let _ = r.finish();
        }
    }
}

/// Whether the build's own colours reach stdout: see [`sanitize::colour_allowed`].
fn colour_allowed() -> bool {
    let var = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
    sanitize::colour_allowed(
        std::io::stdout().is_terminal(),
        var("NO_COLOR").as_deref(),
        var("FORCE_COLOR").as_deref(),
    )
}
