//! Shared helpers for the tests against the real Docker daemon: make sure the daemon and
//! `busybox:latest` are there (once per test binary), drive the real binary, read its NDJSON,
//! and remove what each build made.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

pub mod buildx;
pub mod loopback;
pub mod podman;
use stagescope_core::engine_internals::connect::{Engine, Environment, connect};

pub const BIN: &str = env!("CARGO_BIN_EXE_stagescope");

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI")
}

/// stdout of a docker command that must succeed, trimmed.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True when the daemon answers and `busybox:latest` is ready; false (after a printed note)
/// when there is no daemon. With `CI` set a missing daemon fails the test instead.
pub fn docker_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let up = Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !up {
            assert!(
                std::env::var_os("CI").is_none(),
                "no Docker daemon answers, and CI is set"
            );
            eprintln!("note: no Docker daemon answers; skipping the engine tests");
            return false;
        }
        let out = Command::new(BIN)
            .arg("setup-base")
            .output()
            .expect("run stagescope setup-base");
        assert!(
            out.status.success(),
            "stagescope setup-base failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        true
    })
}

/// Returns from the test when there is no daemon (see `docker_ready`).
#[macro_export]
macro_rules! require_docker {
    () => {
        if !common::docker_ready() {
            return;
        }
    };
}

/// `busybox:latest` on the engine at `host` (`stagescope setup-base`), which must work.
pub fn setup_base_on(host: &str) {
    let ready = Command::new(BIN)
        .arg("setup-base")
        .env("DOCKER_HOST", host)
        .output()
        .expect("setup-base");
    assert!(
        ready.status.success(),
        "{host}: {}",
        String::from_utf8_lossy(&ready.stderr)
    );
}

/// Polls `check` every 200 ms until it returns true or `limit` passes.
pub fn wait_until(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A fresh id so a test's RUN lines hit no cache another test or run left.
pub fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// A build context in a temporary directory.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(dockerfile: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write Dockerfile");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }
}

/// One run of `stagescope build --progress json`.
#[derive(Debug)]
pub struct JsonRun {
    pub code: Option<i32>,
    pub events: Vec<Value>,
    pub stderr: String,
}

/// The build id a `--progress json` run announced in its `build_started`.
pub fn announced_build_id(events: &[Value]) -> Option<String> {
    events
        .iter()
        .find(|e| e["event"] == "build_started")
        .and_then(|e| e["build_id"].as_str())
        .map(str::to_string)
}

/// One of today's engines that `scripts/modern-engine.sh` starts, from the variable it
/// prints (`STAGESCOPE_MODERN_HOST`, …). Under `CI` a missing one fails the test; elsewhere
/// the test is skipped with a note.
pub fn engine_from(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(h) if !h.is_empty() => Some(h),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {var} is not: scripts/modern-engine.sh starts that engine"
            );
            eprintln!("note: {var} unset (scripts/modern-engine.sh); skipping");
            None
        }
    }
}

impl JsonRun {
    pub fn build_id(&self) -> Option<String> {
        announced_build_id(&self.events)
    }

    pub fn of(&self, kind: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event"] == kind).collect()
    }

    pub fn summary(&self) -> &Value {
        let last = self.events.last().expect("some output");
        assert_eq!(last["event"], "summary", "the summary is the last line");
        last
    }

    /// Every log line the build printed, joined.
    pub fn log_text(&self) -> String {
        self.of("log")
            .iter()
            .filter_map(|e| e["text"].as_str())
            .collect()
    }

    /// The summary of the named (or numbered) stage.
    pub fn stage<'a>(&'a self, stage: &str) -> &'a Value {
        self.summary()["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| {
                s["stage"] == stage
                    || s["stage"].as_u64().map(|i| i.to_string()).as_deref() == Some(stage)
            })
            .unwrap_or_else(|| panic!("no stage {stage} in the summary"))
    }

    pub fn describe(&self) -> String {
        let lines: Vec<String> = self.events.iter().map(Value::to_string).collect();
        format!(
            "exit {:?}\nstderr: {}\nstdout:\n{}",
            self.code,
            self.stderr,
            lines.join("\n")
        )
    }
}

pub fn parse_ndjson(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `run_build` from `cmd` (the binary, with whatever environment the test gave it).
fn run_build_with(mut cmd: Command, dir: &Path, progress: &str, args: &[&str]) -> Output {
    cmd.arg("build")
        .arg(dir)
        .args(["--progress", progress])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run stagescope build")
}

/// `stagescope build --progress json <dir> <args>`; the build is registered with `cleanup`.
pub fn build_json(dir: &Path, args: &[&str], cleanup: &mut Cleanup) -> JsonRun {
    build_json_with(Command::new(BIN), dir, args, cleanup)
}

/// `build_json` from `cmd`: the binary with the environment the test set on it.
pub fn build_json_with(cmd: Command, dir: &Path, args: &[&str], cleanup: &mut Cleanup) -> JsonRun {
    let out = run_build_with(cmd, dir, "json", args);
    let run = JsonRun {
        code: out.status.code(),
        events: parse_ndjson(&out.stdout),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if let Some(id) = run.build_id() {
        cleanup.build_ids.push(id);
    }
    run
}

/// `stagescope build --progress plain`: (exit code, stdout, stderr). The build id is read
/// from the first line and registered with `cleanup`.
pub fn build_plain(dir: &Path, args: &[&str], cleanup: &mut Cleanup) -> (Option<i32>, String) {
    build_plain_with(Command::new(BIN), dir, args, cleanup)
}

/// `build_plain` from `cmd`: the binary with the environment the test set on it.
pub fn build_plain_with(
    cmd: Command,
    dir: &Path,
    args: &[&str],
    cleanup: &mut Cleanup,
) -> (Option<i32>, String) {
    let out = run_build_with(cmd, dir, "plain", args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if let Some(id) = stdout
        .lines()
        .next()
        .and_then(|l| l.split("(build ").nth(1))
        .map(|rest| rest.trim_end_matches(')').to_string())
    {
        cleanup.build_ids.push(id);
    }
    let text = format!(
        "{stdout}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub async fn engine() -> Engine {
    connect(&Environment::from_process(None))
        .await
        .expect("connect to the daemon")
}

/// Removes, when dropped, everything the registered builds made (through
/// `engine::clean::clean` for each build id) and the extra tags.
#[derive(Default)]
pub struct Cleanup {
    pub build_ids: Vec<String>,
    pub tags: Vec<String>,
}

impl Cleanup {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tag unique to this test run, removed at the end.
    pub fn tag(&mut self, what: &str) -> String {
        let t = format!("stagescope-test-{what}:{}", nonce());
        self.tags.push(t.clone());
        t
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for t in &self.tags {
            let _ = docker(&["rmi", "-f", t]);
        }
        if self.build_ids.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.build_ids);
        runtime().block_on(async {
            let Ok(engine) = connect(&Environment::from_process(None)).await else {
                return;
            };
            for id in &ids {
                let _ = stagescope_core::engine_internals::clean::clean(&engine, Some(id)).await;
            }
        });
    }
}

/// Removes, when dropped, the untagged images whose history names `marker` (a nonce of the
/// test's own): what a classic build leaves beside its tag. The stages before the last of a
/// multi-stage build are images of their own that no tag holds, and a classic image whose
/// tag a later run of the same context took keeps its parent steps as cache. Neither goes
/// with the tag.
pub struct Dangling(pub String);

impl Drop for Dangling {
    fn drop(&mut self) {
        let listed = docker(&["images", "-q", "--no-trunc", "--filter", "dangling=true"]);
        for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
            let history = docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", id]);
            if String::from_utf8_lossy(&history.stdout).contains(&self.0) {
                let _ = docker(&["rmi", id]);
            }
        }
    }
}

/// `docker build -t TAG DIR` with the classic builder (one layer per RUN), which must work.
pub fn docker_build_classic(dir: &Path, tag: &str) {
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(dir)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cat` a file inside an image (the image must open and hold it).
pub fn cat_in_image(image: &str, path: &str) -> String {
    docker_ok(&["run", "--rm", "--entrypoint", "cat", image, path])
}

/// Create (never start) a container of `image`, export it and say whether `path` is in it.
pub fn exported_has(image: &str, path: &str) -> bool {
    let id = docker_ok(&["create", image, "/nonexistent"]);
    let out = docker(&["export", &id]);
    let _ = docker(&["rm", "-f", &id]);
    assert!(out.status.success(), "docker export {image} failed");
    let want = path.trim_start_matches('/');
    let mut ar = tar::Archive::new(out.stdout.as_slice());
    ar.entries().expect("export entries").any(|e| {
        e.ok()
            .and_then(|e| e.path().ok().map(|p| p.to_string_lossy().into_owned()))
            .is_some_and(|p| p.trim_end_matches('/') == want)
    })
}

/// The lines a docker listing printed, with `filter` as its `--filter`.
fn listed(what: &str, filter: &str) -> Vec<String> {
    let out = docker(&[what, "-a", "-q", "--filter", filter]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Images still labelled with, or tagged for, this build.
pub fn leftover_images(build_id: &str) -> Vec<String> {
    let mut out = listed("images", &format!("label=dev.stagescope.build={build_id}"));
    let repo = format!("stagescope.local/{build_id}");
    out.extend(
        docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}", &repo])
            .lines()
            .map(str::to_string),
    );
    out
}

/// Containers (running or not) made right from one of `images` (ids, short or full), or
/// labelled with the build. Not `--filter ancestor=`: that also matches every container of
/// an image built on top, which on a shared daemon means other people's.
pub fn containers_of(build_id: &str, images: &[String]) -> Vec<String> {
    let mut out = listed("ps", &format!("label=dev.stagescope.build={build_id}"));
    let all: Vec<String> = docker_ok(&["ps", "-a", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    if !all.is_empty() {
        let mut args = vec!["inspect", "-f", "{{.Id}} {{.Image}}"];
        args.extend(all.iter().map(String::as_str));
        // A container may go away between the listing and the inspect: ignore the failure.
        let listing = docker(&args);
        for line in String::from_utf8_lossy(&listing.stdout).lines() {
            let Some((id, image)) = line.split_once(' ') else {
                continue;
            };
            let hex = image.trim_start_matches("sha256:");
            if images
                .iter()
                .map(|i| i.trim_start_matches("sha256:"))
                .any(|i| !i.is_empty() && hex.starts_with(i))
            {
                out.push(id[..12.min(id.len())].to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
