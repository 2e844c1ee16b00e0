//! What a build sends of its context, as the `context_sent` event reports it: the build and a
//! stage's image are solves with different include sets (each stage's COPY sources), and
//! BuildKit keeps one copy of the context per shared key, deleting what a sync does not list.
//! A warm build after another stage was opened must still send nothing, and an edit only the
//! edited file — through the engine's session and through the Control API alike.

mod common;

use std::process::Command;

use common::{BIN, Cleanup, Project, nonce};

const DOCKERFILE: &str = "FROM busybox AS left\n\
                          COPY left/ /left/\n\
                          FROM busybox AS right\n\
                          COPY right/ /right/\n\
                          FROM busybox\n\
                          COPY --from=left /left /l\n\
                          COPY --from=right /right/r1 /r1\n";

/// `stagescope build --progress json` with `extra` flags: the bytes and files its context
/// transfer sent.
fn sent(p: &Project, extra: &[&str], cleanup: &mut Cleanup) -> (u64, u64) {
    let out = Command::new(BIN)
        .args(["build", "--progress", "json"])
        .arg(p.path())
        .args(extra)
        .output()
        .expect("stagescope build");
    let events = common::parse_ndjson(&out.stdout);
    if let Some(id) = common::announced_build_id(&events) {
        cleanup.build_ids.push(id);
    }
    assert!(
        out.status.success(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = events
        .iter()
        .find(|e| e["event"] == "context_sent")
        .unwrap_or_else(|| panic!("{extra:?}: no context_sent event: {events:?}"));
    (
        ctx["bytes"].as_u64().expect("bytes"),
        ctx["files"].as_u64().unwrap_or(0),
    )
}

fn tree_of_left(p: &Project, extra: &[&str]) {
    let out = Command::new(BIN)
        .args(["tree", "--stage", "left", "--depth", "1"])
        .arg(p.path())
        .args(extra)
        .output()
        .expect("stagescope tree");
    assert!(
        out.status.success(),
        "tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("left"));
}

#[test]
fn a_warm_build_sends_nothing_after_another_stage_was_opened_and_an_edit_sends_itself() {
    require_docker!();
    for extra in [&[][..], &["--buildkit-addr", "docker"][..]] {
        let p = Project::new(DOCKERFILE);
        let n = nonce();
        p.write("left/l1", &"l".repeat(100_000));
        p.write("left/l2", &n);
        p.write("right/r1", &"r".repeat(50_000));
        p.write("right/r2", &"x".repeat(70_000));
        let mut cleanup = Cleanup::new();
        let (cold, files) = sent(&p, extra, &mut cleanup);
        assert!(
            cold >= 150_000 && files >= 3,
            "{extra:?}: cold sent {cold} bytes in {files} files"
        );
        // Another solve, asking for `left/` only.
        tree_of_left(&p, extra);
        let (warm, files) = sent(&p, extra, &mut cleanup);
        assert_eq!((warm, files), (0, 0), "{extra:?}: a warm build sent files");
        p.write("right/r1", "edited");
        let (edited, files) = sent(&p, extra, &mut cleanup);
        assert_eq!(
            (edited, files),
            ("edited".len() as u64, 1),
            "{extra:?}: only the edited file travels"
        );
    }
}
