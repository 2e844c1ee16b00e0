//! `stagescope build`: the build headless, as a plain log or NDJSON progress.

use std::io::{IsTerminal, Write};

use stagescope_core::engine::EngineError;
use stagescope_core::engine::clean as engine_clean;
use stagescope_core::session::{Events, SessionEvent};
use stagescope_plan::{BuildEvent, BuildState};
use stagescope_report as report;
use stagescope_report::progress::{JsonReporter, PlainReporter};
use stagescope_report::sanitize;
use tokio::sync::mpsc::unbounded_channel;

use super::{
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, fail, interrupted, prepare, runtime, session_for,
};
use crate::cli::{BuildArgs, ProgressArg};

enum Reporter {
    Plain(PlainReporter<std::io::Stdout>),
    Json(JsonReporter<std::io::Stdout>),
}

impl Reporter {
    fn on_event(&mut self, ev: &BuildEvent) {
        // stdout closed (a pipe into `head`): keep building, stop printing.
        let _ = match self {
            Reporter::Plain(r) => r.on_event(ev),
            Reporter::Json(r) => r.on_event(ev),
        };
    }

    fn state(&self) -> &BuildState {
        match self {
            Reporter::Plain(r) => &r.state,
            Reporter::Json(r) => &r.state,
        }
    }

    fn finish(&mut self) {
        if let Reporter::Json(r) = self {
            let _ = r.finish();
        }
    }
}

pub(crate) fn build(args: &BuildArgs) -> u8 {
    let flags = &args.flags;
    let setup = match prepare(flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = setup.plan.clone();
    let mut reporter = match args.progress {
        ProgressArg::Plain => Reporter::Plain(
            PlainReporter::new(plan, std::io::stdout()).with_colour(colour_allowed()),
        ),
        ProgressArg::Json => Reporter::Json(JsonReporter::new(plan, std::io::stdout())),
    };
    runtime().block_on(async {
        let session = match session_for(setup, flags).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        // As `docker build`: the check warnings first; `error=true` stops the build.
        let lint = match session.lint().await {
            Ok(r) => r,
            Err(e) => return fail(EXIT_USAGE, e),
        };
        match args.progress {
            ProgressArg::Plain => eprint!("{}", report::check::summary(&lint)),
            ProgressArg::Json => print!("{}", report::check::events(&lint)),
        }
        if let Some(v) = lint.violation() {
            return fail(EXIT_FAILED, v);
        }
        // The reporter lives on this task: events reach it through a channel, recorded on
        // the way.
        let recording = session.start_recording(args.record.record.clone()).await;
        let (tx, mut rx) = unbounded_channel();
        let events = recording.wrap(Events::new(move |ev| {
            if let SessionEvent::Build(ev) = ev {
                let _ = tx.send(ev);
            }
        }));
        // Boxed so an interrupt can drop it, closing the request, before cleaning up.
        let mut work = Box::pin(session.run(&events));
        // One listener for the whole build: a new one per event would miss a Ctrl-C that
        // lands while an event is being printed (a busy log, a loaded machine).
        let mut stop = Box::pin(interrupted());
        let outcome = loop {
            tokio::select! {
                biased;
                Some(ev) = rx.recv() => reporter.on_event(&ev),
                res = work.as_mut() => break Some(res),
                () = stop.as_mut() => break None,
            }
        };
        drop(work);
        while let Ok(ev) = rx.try_recv() {
            reporter.on_event(&ev);
        }
        reporter.finish();
        super::finish_recording(&recording);
        match outcome {
            None => {
                // Dropping the request cancelled the build in the daemon; now remove what
                // this run made.
                let n = match session.engine() {
                    Ok(engine) => {
                        engine_clean::clean_unfinished(engine, &session.build_id, reporter.state())
                            .await
                    }
                    Err(_) => 0,
                };
                let _ = std::io::stdout().flush();
                fail(
                    EXIT_INTERRUPTED,
                    format!("interrupted; removed {n} temporary images and containers"),
                )
            }
            Some(Ok(o)) if o.failed => EXIT_FAILED,
            Some(Ok(_)) => 0,
            Some(Err(e)) => {
                let code = if matches!(e, EngineError::NeedsBuildkit { .. }) {
                    EXIT_USAGE
                } else {
                    EXIT_FAILED
                };
                fail(code, format!("error: {e}"))
            }
        }
    })
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
