//! BuildKit builds take their context through the build session: the daemon asks only for
//! files whose stat changed since its last sync, so a warm rebuild sends no file contents,
//! an edited file is all that travels, and what COPY sees is the edited tree. Real daemon.

mod common;

use std::fs;
use std::path::Path;

use common::{Cleanup, cat_in_image};
use stagescope::build::{BuildEvent, BuildPlan, BuilderKind};
use stagescope::dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope::engine::connect::Engine;
use stagescope::engine::context::BuildContext;
use stagescope::engine::run::{
    BuildInputs, BuildOutcome, BuildRequest, BuilderChoice, new_build_id, run_build, state_image,
};

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
    let outcome = run_build(engine, &request(), &df, &plan, &ctx, &id, &tx)
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
