//! `stagescope attach [REF]`: a build still running, whoever started it (buildx, Compose,
//! an IDE), followed through BuildKit's own record of it until it ends.

use std::io::IsTerminal;

use stagescope_core::builds;
use stagescope_plan::BuildEvent;
use tokio::sync::mpsc::unbounded_channel;

use super::builds::records;
use super::reporter::Reporter;
use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, fail, interrupted, runtime};
use crate::cli::AttachArgs;

pub(crate) fn attach(args: &AttachArgs) -> u8 {
    if args.progress.is_none() && !std::io::stdout().is_terminal() {
        return fail(
            EXIT_USAGE,
            "the terminal UI needs a terminal; --progress plain or json prints the events",
        );
    }
    runtime().block_on(async {
        let (bk, all) = match records(&args.remote).await {
            Ok(r) => r,
            Err(e) => return fail(EXIT_FAILED, e),
        };
        let rec = match &args.r#ref {
            Some(r) => builds::pick(&bk, &all, r),
            // Newest first: the newest that still runs.
            None => all.iter().find(|r| r.active()).cloned().ok_or_else(|| {
                format!(
                    "no build is running on {} (`stagescope builds` lists the ended ones)",
                    bk.describe()
                )
            }),
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => return fail(EXIT_FAILED, e),
        };
        let on_disk = args.file.clone().unwrap_or_else(|| {
            args.context
                .join(rec.dockerfile_name().unwrap_or("Dockerfile"))
        });
        let on_disk = on_disk.is_file().then_some(on_disk);
        let src = match builds::source_of(&bk, &rec, on_disk.as_deref()).await {
            Ok(s) => s,
            Err(e) => return fail(EXIT_USAGE, e),
        };
        let shell = match builds::skeleton(&bk, &rec, &src) {
            Ok(s) => s,
            Err(e) => return fail(EXIT_USAGE, e),
        };
        let earlier = builds::earlier_runs(&bk, &all, &rec, &shell).await;
        let (tx, mut rx) = unbounded_channel::<BuildEvent>();
        let follow = {
            let (bk, rec, src, run) = (bk.clone(), rec.clone(), src.clone(), shell.clone());
            tokio::spawn(async move {
                builds::run_of(&bk, &rec, (&src, run), earlier, |ev| {
                    let _ = tx.send(ev.clone());
                })
                .await
            })
        };
        let Some(progress) = args.progress else {
            return match stagescope_tui::app::follow(&shell, rx).await {
                Ok(code) => code,
                Err(e) => fail(EXIT_FAILED, format!("terminal error: {e}")),
            };
        };
        let mut reporter = Reporter::new(progress, shell.plan.clone());
        let mut stop = Box::pin(interrupted());
        loop {
            tokio::select! {
                biased;
                ev = rx.recv() => match ev {
                    Some(ev) => reporter.on_event(&ev),
                    None => break,
                },
                // Leaving stops only the following: the build goes on in BuildKit.
                () = stop.as_mut() => {
                    return fail(EXIT_INTERRUPTED, format!("detached from build {}; it goes on", rec.r#ref));
                }
            }
        }
        reporter.finish();
        match follow.await {
            Ok(Ok(_)) if reporter.state().failure.is_some() => EXIT_FAILED,
            Ok(Ok(_)) => 0,
            Ok(Err(e)) => fail(EXIT_FAILED, e),
            Err(e) => fail(EXIT_FAILED, format!("following build {}: {e}", rec.r#ref)),
        }
    })
}
