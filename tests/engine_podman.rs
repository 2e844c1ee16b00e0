//! Podman through its Docker-compatible API, as a user reaches it (`DOCKER_HOST`, or the
//! rootful and rootless sockets found on their own): the build runs with buildah and reads
//! right, every stage opens, `diff` compares, `--builder buildkit` is refused in one line,
//! `clean` removes what the runs made, `builds` says there is no BuildKit history. The service
//! comes from `scripts/podman-service.sh`.

mod common;

use std::process::{Command, Output};
use std::sync::Mutex;

use common::{BIN, Cleanup, Project, build_json_with, nonce, podman::podman_host};

/// `stagescope clean` on Podman removes every stagescope image there: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn stagescope(host: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DOCKER_HOST", host)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    cmd
}

fn ok(out: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Removes, at the end, whatever stagescope made on Podman (the shared Cleanup speaks to
/// the Docker daemon).
struct PodmanClean(String);

impl Drop for PodmanClean {
    fn drop(&mut self) {
        let _ = stagescope(&self.0).arg("clean").output();
    }
}

fn project(n: &str) -> Project {
    Project::new(&format!(
        "FROM busybox AS left\n\
         RUN echo left-{n} > /left.txt\n\
         FROM busybox AS right\n\
         ARG WHO=right\n\
         RUN echo $WHO-{n} > /right.txt && echo to-stderr >&2\n\
         FROM busybox AS final\n\
         COPY --from=left /left.txt /left.txt\n\
         COPY --from=right /right.txt /right.txt\n\
         RUN cat /left.txt /right.txt > /both.txt\n"
    ))
}

#[test]
fn podman_builds_with_buildah_and_every_stage_opens() {
    let Some(host) = podman_host(BIN) else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _clean = PodmanClean(host.clone());
    let mut cleanup = Cleanup::new();
    let n = nonce();
    let p = project(&n);

    let run = build_json_with(stagescope(&host), p.path(), &[], &mut cleanup);
    cleanup.build_ids.clear(); // not the Docker daemon's
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert_eq!(
        run.of("build_started")[0]["builder"],
        "classic",
        "auto picks buildah's classic API on Podman"
    );
    assert!(run.log_text().contains(&format!("right-{n}")) || run.log_text().contains("to-stderr"));
    for stage in ["left", "right", "final"] {
        let s = run.stage(stage);
        assert!(
            s["image"].is_string(),
            "{stage} has an image: {}",
            run.describe()
        );
        let ins = s["instructions"].as_array().expect("instructions");
        assert!(
            ins.iter().all(|i| i["duration_ms"].is_u64()),
            "{stage}: every instruction finished: {}",
            run.describe()
        );
    }
    assert_eq!(run.stage("right")["instructions"][2]["cached"], false);

    // The second run is served from buildah's cache, and says so.
    let again = build_json_with(stagescope(&host), p.path(), &[], &mut cleanup);
    cleanup.build_ids.clear();
    assert_eq!(again.code, Some(0), "{}", again.describe());
    assert_eq!(
        again.stage("right")["instructions"][2]["cached"],
        true,
        "{}",
        again.describe()
    );

    // A stage's files, with the instruction that added each; a state mid-stage.
    let tree = ok(
        stagescope(&host)
            .args(["tree", "--stage", "final", "--json"])
            .arg(p.path())
            .output()
            .expect("tree"),
        "tree --stage final",
    );
    let both = tree
        .lines()
        .find(|l| l.contains("\"path\":\"both.txt\""))
        .unwrap_or_else(|| panic!("both.txt in the final stage: {tree}"));
    assert!(both.contains("\"line\":9"), "added by line 9: {both}");
    let at = ok(
        stagescope(&host)
            .args(["tree", "--stage", "final", "--at", "1", "--depth", "1"])
            .arg(p.path())
            .output()
            .expect("tree --at"),
        "tree --at 1",
    );
    assert!(at.contains("left.txt") && !at.contains("right.txt"), "{at}");

    // The release against the stage it copies most from.
    let diff = ok(
        stagescope(&host)
            .arg("diff")
            .arg(p.path())
            .output()
            .expect("diff"),
        "diff",
    );
    assert!(diff.contains("+ /both.txt"), "{diff}");

    // BuildKit is refused in one line, before anything runs.
    let bk = stagescope(&host)
        .args(["build", "--builder", "buildkit"])
        .arg(p.path())
        .output()
        .expect("build --builder buildkit");
    let err = String::from_utf8_lossy(&bk.stderr);
    assert_eq!(bk.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("podman") && err.contains("--builder classic"),
        "{err}"
    );

    // clean leaves no stagescope image behind on Podman, and the base stays.
    ok(
        stagescope(&host).arg("clean").output().expect("clean"),
        "clean",
    );
    let images = Command::new("podman")
        .args([
            "--url",
            &host,
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .output()
        .expect("podman images");
    let listed = String::from_utf8_lossy(&images.stdout);
    assert!(!listed.contains("stagescope.local/"), "{listed}");
    assert!(listed.contains("busybox:latest"), "{listed}");
}

/// A failing RUN on Podman names its step and exit code, as on Docker.
#[test]
fn podman_failure_names_the_step_and_exit_code() {
    let Some(host) = podman_host(BIN) else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _clean = PodmanClean(host.clone());
    let mut cleanup = Cleanup::new();
    let n = nonce();
    let p = Project::new(&format!(
        "FROM busybox AS prep\nRUN echo {n} > /prepared\nFROM busybox\nCOPY --from=prep /prepared /prepared\nRUN echo failing-{n} && exit 7\n"
    ));
    let run = build_json_with(stagescope(&host), p.path(), &[], &mut cleanup);
    cleanup.build_ids.clear();
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let failed = run.of("build_failed");
    assert_eq!(failed.len(), 1, "{}", run.describe());
    assert_eq!(failed[0]["exit_code"], 7, "{}", run.describe());
    assert_eq!(failed[0]["instruction"], 2, "{}", run.describe());
    assert!(run.log_text().contains(&format!("failing-{n}")));
}

/// With no Docker socket and nothing configured, stagescope finds Podman where Podman puts
/// its socket: `$XDG_RUNTIME_DIR/podman/podman.sock` (rootless), then
/// `/run/podman/podman.sock` (rootful). A private mount namespace with an empty `/run` hides
/// the Docker daemon's socket from this one process.
#[test]
fn rootless_and_rootful_podman_sockets_are_found_without_docker() {
    let Some(host) = podman_host(BIN) else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _clean = PodmanClean(host.clone());
    let isolated = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs none /run"])
        .status()
        .is_ok_and(|s| s.success());
    if !isolated {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `unshare -m` cannot make a mount namespace here"
        );
        eprintln!("note: no mount namespaces here; skipping the socket discovery test");
        return;
    }
    let sock = host.strip_prefix("unix://").expect("a unix:// Podman host");
    let p = project(&nonce());
    let config = tempfile::tempdir().expect("empty docker config");
    let runtime = tempfile::tempdir().expect("runtime dir");
    std::fs::create_dir(runtime.path().join("podman")).expect("podman dir");
    std::os::unix::fs::symlink(sock, runtime.path().join("podman/podman.sock")).expect("link");
    let cases = [
        ("rootless", Some(runtime.path()), String::new()),
        (
            "rootful",
            None,
            format!("mkdir /run/podman && ln -s {sock} /run/podman/podman.sock && "),
        ),
    ];
    for (which, xdg, prepare) in cases {
        let script = format!("mount -t tmpfs none /run && {prepare}exec \"$0\" \"$@\"");
        let mut cmd = Command::new("unshare");
        cmd.args([
            "-m",
            "sh",
            "-c",
            &script,
            BIN,
            "build",
            "--progress",
            "plain",
        ])
        .arg(p.path())
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_CONFIG", config.path())
        .env_remove("XDG_RUNTIME_DIR");
        if let Some(dir) = xdg {
            cmd.env("XDG_RUNTIME_DIR", dir);
        }
        let out = ok(cmd.output().expect("unshare"), which);
        assert!(
            out.starts_with("building with classic"),
            "{which}: found Podman, which builds with buildah: {out}"
        );
        let image = out
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("built "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{which}: the built image: {out}"));
        let found = Command::new("podman")
            .args(["--url", &host, "image", "exists", image])
            .status()
            .expect("podman image exists");
        assert!(found.success(), "{which}: {image} is in Podman's store");
    }
}

/// Podman builds with buildah: `builds` and `attach` say in one line that there is no
/// BuildKit history to read, and exit 1.
#[test]
fn podman_has_no_buildkit_history_to_list() {
    let Some(host) = podman_host(BIN) else { return };
    for args in [&["builds"][..], &["attach", "--progress", "plain"]] {
        let out = stagescope(&host).args(args).output().expect("stagescope");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("podman") && err.contains("no BuildKit"),
            "{err}"
        );
    }
}
