//! Docker 26 with the containerd image store (`"features": {"containerd-snapshotter": true}`),
//! as Docker Desktop and new installs run it: image ids are manifest digests and `docker save`
//! writes an OCI layout. A multi-stage build, every stage's image, a stage's files with the
//! instruction that added each, a state mid-stage, and the diff of the release against its
//! builder. `STAGESCOPE_CONTAINERD_HOST` names the daemon (`scripts/modern-engine.sh` starts
//! it); under `CI` a missing one fails.

mod common;

use std::process::{Command, Output};

use common::{JsonRun, Project, nonce, parse_ndjson};

fn on(host: &str, args: &[&str]) -> Output {
    Command::new(common::BIN)
        .args(args)
        .env("DOCKER_HOST", host)
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("run stagescope")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes what the builds made on that daemon, on every path out.
struct Clean(String, Vec<String>);
impl Drop for Clean {
    fn drop(&mut self) {
        for id in &self.1 {
            let _ = on(&self.0, &["clean", "--build", id]);
        }
    }
}

#[test]
fn stages_files_and_diffs_work_on_the_containerd_image_store() {
    let Some(host) = common::engine_from("STAGESCOPE_CONTAINERD_HOST") else {
        return;
    };
    ok(on(&host, &["setup-base"]), "setup-base");
    let n = nonce();
    let p = Project::new(&format!(
        "FROM busybox AS builder\n\
         WORKDIR /src\n\
         RUN echo {n} > main.c && echo 'DATABASE_PASSWORD=x' > .env\n\
         RUN echo built > app\n\
         \n\
         FROM busybox\n\
         COPY --from=builder /src /app\n\
         CMD [\"/app/app\"]\n"
    ));
    let mut clean = Clean(host.clone(), Vec::new());
    for builder in ["buildkit", "classic"] {
        let out = on(
            &host,
            &[
                "build",
                p.path().to_str().expect("utf-8"),
                "--progress",
                "json",
                "--builder",
                builder,
            ],
        );
        let run = JsonRun {
            code: out.status.code(),
            events: parse_ndjson(&out.stdout),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if let Some(id) = run.build_id() {
            clean.1.push(id);
        }
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        // The classic builder made both stages' images, BuildKit the target's (the builder
        // stage's is made below, when `tree` opens it); each opens there.
        let images: Vec<String> = run
            .of("stage_image")
            .iter()
            .filter_map(|e| e["image"].as_str().map(str::to_string))
            .collect();
        let want = if builder == "classic" { 2 } else { 1 };
        assert_eq!(images.len(), want, "{builder}: {}", run.describe());
        for image in &images {
            let out = Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", image])
                .env("DOCKER_HOST", &host)
                .output()
                .expect("docker image inspect");
            assert!(out.status.success(), "{builder}: {image} is no image there");
        }
    }

    // A stage's files, with the instruction that added each (from the OCI-layout save).
    let tree = ok(
        on(
            &host,
            &[
                "tree",
                "--stage",
                "builder",
                "--json",
                p.path().to_str().expect("utf-8"),
            ],
        ),
        "tree --stage builder",
    );
    let app = tree
        .lines()
        .find(|l| l.contains("\"path\":\"src/app\""))
        .unwrap_or_else(|| panic!("src/app in the builder stage: {tree}"));
    assert!(app.contains("\"line\":4"), "added by line 4: {app}");

    // The state after the first RUN: main.c, no app yet.
    let at = ok(
        on(
            &host,
            &[
                "tree",
                "--stage",
                "builder",
                "--at",
                "2",
                p.path().to_str().expect("utf-8"),
            ],
        ),
        "tree --at 2",
    );
    assert!(at.contains("main.c") && !at.contains(" app"), "{at}");

    // The release against its builder: the secret it carries.
    let out = on(
        &host,
        &[
            "diff",
            p.path().to_str().expect("utf-8"),
            "--format",
            "json",
            "--fail-on",
            "secrets",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("diff JSON");
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["path"] == "/app/.env" && f["rule"] == "dotenv"),
        "{v:#}"
    );
}
