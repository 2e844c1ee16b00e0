//! BuildKit builds take their context through the build session: the daemon asks only for
//! files whose stat changed since its last sync, so a warm rebuild sends no file contents,
//! an edited file is all that travels, and what COPY sees is the edited tree. Real daemon.

mod common;

use std::fs;
use std::path::Path;

use common::{Cleanup, cat_in_image};
use stagescope_context::BuildContext;
use stagescope_core::engine_internals::connect::Engine;
use stagescope_core::engine_internals::run::{
    BuildInputs, BuildOn, BuildOutcome, BuildRequest, BuilderChoice, new_build_id, run_build,
    state_image,
};
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

const DOCKERFILE: &str = "FROM busybox AS a\n\
                          COPY . /ctx/\n\
                          RUN cat /ctx/sub/small > /seen\n\
                          FROM busybox\n\
                          COPY --from=a /seen /seen\n";

fn request() -> BuildRequest {
    BuildRequest {
        builder: BuilderChoice::Buildkit,
        ..Default::default()
    }
}

/// One build of `dir`: its outcome and the file bytes the session sent (the last
/// ContextProgress, 0 when there was none).
async fn build(engine: &Engine, dir: &Path, cleanup: &mut Cleanup) -> (BuildOutcome, u64) {
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    let graph = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    let plan = BuildPlan::from_model(&df, &graph);
    let ctx = BuildContext::new(dir, None).expect("context");
    let id = new_build_id();
    cleanup.build_ids.push(id.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let req = request();
    let inputs = BuildInputs {
        engine,
        req: &req,
        dockerfile: &df,
        context: &ctx,
        build_id: &id,
        session: None,
    };
    let outcome = run_build(BuildOn::Engine(inputs), &plan, &tx)
        .await
        .expect("build");
    drop(tx);
    let mut sent = 0;
    while let Some(ev) = rx.recv().await {
        if let BuildEvent::ContextProgress { bytes } = ev {
            sent = bytes;
        }
    }
    (outcome, sent)
}

#[test]
fn a_warm_rebuild_sends_no_file_contents_and_an_edit_sends_only_itself() {
    require_docker!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::create_dir_all(dir.join("sub")).expect("mkdir");
    fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    fs::write(dir.join("big.bin"), vec![7u8; 3 << 20]).expect("big");
    fs::write(dir.join("sub/small"), "first").expect("small");
    let mut cleanup = Cleanup::new();
    common::runtime().block_on(async {
        let engine = common::engine().await;
        let (cold, sent) = build(&engine, dir, &mut cleanup).await;
        assert_eq!(cold.builder, BuilderKind::Buildkit);
        assert!(!cold.failed);
        // A new directory is a new shared key: everything travels once.
        assert!(sent >= 3 << 20, "cold build sent {sent} bytes");

        let (warm, sent) = build(&engine, dir, &mut cleanup).await;
        assert!(!warm.failed);
        assert_eq!(sent, 0, "a warm rebuild sent file contents");

        fs::write(dir.join("sub/small"), "second!").expect("edit");
        let (edited, sent) = build(&engine, dir, &mut cleanup).await;
        assert!(!edited.failed);
        assert_eq!(sent, "second!".len() as u64, "only the edited file travels");
        let image = edited.image.as_deref().expect("final image");
        assert_eq!(cat_in_image(image, "/seen"), "second!");

        // A state image (a Dockerfile cut after COPY, served by its own session as a file
        // that exists only in the session) sees the same context, sending nothing new.
        let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
        let ctx = BuildContext::new(dir, None).expect("context");
        let id = edited.build_id.clone();
        let inputs = BuildInputs {
            engine: &engine,
            req: &request(),
            dockerfile: &df,
            context: &ctx,
            build_id: &id,
            session: None,
        };
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let at_copy = state_image(inputs, BuilderKind::Buildkit, 0, 1, &tx)
            .await
            .expect("state image")
            .expect("an image");
        assert_eq!(cat_in_image(&at_copy, "/ctx/sub/small"), "second!");
        assert_eq!(
            cat_in_image(&at_copy, "/ctx/Dockerfile"),
            DOCKERFILE.trim_end()
        );
    });
}

/// Step mode: a pause before every stage, each answered with "next" — a chain of builds of
/// cut Dockerfiles, all through one session. Every stage gets its image, and the context's
/// bytes travel once for the whole chain.
#[test]
fn step_mode_builds_each_cut_through_one_session() {
    use stagescope_core::session::driver::{Advance, drive};
    use stagescope_core::session::{Events, Session, SessionEvent, Setup, StepMode};
    use std::sync::{Arc, Mutex};

    require_docker!();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    fs::create_dir_all(dir.join("sub")).expect("mkdir");
    fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    fs::write(dir.join("big.bin"), vec![9u8; 2 << 20]).expect("big");
    fs::write(dir.join("sub/small"), "stepped").expect("small");
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    let graph = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    let plan = BuildPlan::from_model(&df, &graph);
    let setup = Setup {
        dockerfile: df,
        graph,
        plan,
        context: BuildContext::new(dir, None).expect("context"),
        request: request(),
    };
    let mut cleanup = Cleanup::new();
    common::runtime().block_on(async {
        let session = Session::new(setup, common::engine().await);
        cleanup.build_ids.push(session.build_id.clone());
        let (adv_tx, adv_rx) = tokio::sync::mpsc::unbounded_channel();
        let (_bp_tx, bp_rx) = tokio::sync::watch::channel(Vec::new());
        let seen: Arc<Mutex<Vec<SessionEvent>>> = Arc::default();
        let log = seen.clone();
        let events = Events::new(move |ev| {
            if matches!(ev, SessionEvent::Paused(_)) {
                let _ = adv_tx.send(Advance {
                    mode: StepMode::Next,
                    breakpoints: Vec::new(),
                });
            }
            log.lock().expect("lock").push(ev);
        });
        drive(&session, true, &events, adv_rx, bp_rx).await;
        let seen = seen.lock().expect("lock");
        let pauses = seen
            .iter()
            .filter(|e| matches!(e, SessionEvent::Paused(_)))
            .count();
        assert!(pauses >= 2, "a pause before each stage: {pauses}");
        assert!(
            matches!(seen.last(), Some(SessionEvent::Ended(Ok(())))),
            "{:?}",
            seen.last()
        );
        let mut images = std::collections::BTreeMap::new();
        let mut sent = 0;
        for e in seen.iter() {
            match e {
                SessionEvent::Build(BuildEvent::StageImage { stage, image }) => {
                    images.insert(*stage, image.clone());
                }
                SessionEvent::Build(BuildEvent::ContextProgress { bytes }) => {
                    sent = sent.max(*bytes);
                }
                _ => {}
            }
        }
        assert_eq!(cat_in_image(&images[&0], "/seen"), "stepped");
        assert_eq!(cat_in_image(&images[&1], "/seen"), "stepped");
        assert!(
            (2 << 20..4 << 20).contains(&sent),
            "the chain sent {sent} bytes: the context once"
        );
    });
}
