//! `stagescope build`: the build headless, as a plain log or NDJSON progress.

use std::io::Write;

use stagescope_core::engine::EngineError;
use stagescope_core::engine::clean as engine_clean;
use stagescope_core::session::{Events, SessionEvent};
use stagescope_report as report;
use tokio::sync::mpsc::unbounded_channel;

use super::reporter::Reporter;
use super::{
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, fail, interrupted, prepare, runtime, session_for,
};
use crate::cli::{BuildArgs, ProgressArg};

pub(crate) fn build(args: &BuildArgs) -> u8 {
    let flags = &args.flags;
    let setup = match prepare(flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = setup.plan.clone();
    let mut reporter = Reporter::new(args.progress, plan);
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
