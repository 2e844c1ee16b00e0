//! Headless step mode for the benchmark (benches/session_context.sh): the TUI's driver with
//! a pause before every stage, each pause answered at once with "next". Prints the wall
//! time in milliseconds.
//!
//!   cargo run --release --example step_chain -- CONTEXT

use std::time::Instant;

use stagescope_context::BuildContext;
use stagescope_core::engine_internals::connect::{Environment, connect};
use stagescope_core::engine_internals::run::{BuildRequest, BuilderChoice};
use stagescope_core::session::driver::{Advance, drive};
use stagescope_core::session::{Events, Session, SessionEvent, Setup, StepMode};
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::BuildPlan;

fn main() -> Result<(), String> {
    let dir = std::env::args().nth(1).ok_or("usage: step_chain CONTEXT")?;
    let text = std::fs::read(format!("{dir}/Dockerfile")).map_err(|e| e.to_string())?;
    let dockerfile = Dockerfile::parse(&text).map_err(|e| e.message)?;
    let graph = StageGraph::build(&dockerfile, &GraphOptions::default()).map_err(|e| e.message)?;
    let plan = BuildPlan::from_model(&dockerfile, &graph);
    let context = BuildContext::new(&dir, None).map_err(|e| e.to_string())?;
    let request = BuildRequest {
        builder: BuilderChoice::Buildkit,
        ..Default::default()
    };
    let setup = Setup {
        dockerfile,
        graph,
        plan,
        context,
        request,
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .map_err(|e| e.to_string())?;
        let session = Session::new(setup, engine);
        let (adv_tx, adv_rx) = tokio::sync::mpsc::unbounded_channel();
        let (_bp_tx, bp_rx) = tokio::sync::watch::channel(Vec::new());
        let (end_tx, end_rx) = std::sync::mpsc::channel();
        let events = Events::new(move |ev| match ev {
            SessionEvent::Paused(_) => {
                let _ = adv_tx.send(Advance {
                    mode: StepMode::Next,
                    breakpoints: Vec::new(),
                });
            }
            SessionEvent::Ended(r) => {
                let _ = end_tx.send(r);
            }
            SessionEvent::Build(_) => {}
        });
        let t = Instant::now();
        drive(&session, true, &events, adv_rx, bp_rx).await;
        let ms = t.elapsed().as_millis();
        end_rx
            .recv()
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let _ = stagescope_core::engine_internals::clean::clean(
            session.engine().map_err(|e| e.to_string())?,
            Some(&session.build_id),
        )
        .await;
        println!("{ms}");
        Ok(())
    })
}
