//! Builds made the way people make them, by `docker buildx build` on today's Docker (whose
//! BuildKit keeps a record of each), and what stagescope reads of them.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

/// Docker 26 (`STAGESCOPE_MODERN_HOST`), with `busybox:latest` ready; None (the test
/// skips) when unset outside CI, and in the pass that runs every engine test on Docker 26
/// already (DOCKER_HOST is that engine): once is enough.
pub fn modern_engine() -> Option<String> {
    let host = super::engine_from("STAGESCOPE_MODERN_HOST")?;
    if std::env::var("DOCKER_HOST").is_ok_and(|h| h == host) {
        eprintln!("note: these tests ran in the first pass; skipping");
        return None;
    }
    super::setup_base_on(&host);
    Some(host)
}

/// `docker buildx build ARGS… DIR` on `host`. Unless ARGS tag it, the result stays in the
/// build cache (`--output type=cacheonly`): no untagged image is left behind.
pub fn buildx(host: &str, dir: &Path, args: &[&str]) -> Output {
    let output: &[&str] = if args.contains(&"-t") {
        &[]
    } else {
        &["--output", "type=cacheonly"]
    };
    Command::new("docker")
        .args(["buildx", "build", "--progress", "plain"])
        .args(output)
        .args(args)
        .arg(dir)
        .env("DOCKER_HOST", host)
        .output()
        .expect("docker buildx build")
}

/// `stagescope ARGS…` on `host`.
pub fn stagescope(host: &str, args: &[&str]) -> Output {
    Command::new(super::BIN)
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .expect("stagescope")
}

/// The records `stagescope builds --format json` lists whose build had `--build-arg
/// key=value`, newest first.
pub fn records_with(host: &str, key: &str, value: &str) -> Vec<Value> {
    let out = stagescope(host, &["builds", "--format", "json"]);
    assert!(
        out.status.success(),
        "builds: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).expect("builds JSON");
    all.as_array()
        .expect("a list")
        .iter()
        .filter(|r| r["build_args"][key] == value)
        .cloned()
        .collect()
}

/// `stagescope builds show REF --format json`.
pub fn show(host: &str, r#ref: &str) -> Value {
    let out = stagescope(host, &["builds", "show", r#ref, "--format", "json"]);
    assert!(
        out.status.success(),
        "builds show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("show JSON")
}

/// The instruction of `show`'s stage `stage` at Dockerfile line `line`.
pub fn instruction_at<'a>(show: &'a Value, stage: &str, line: u64) -> &'a Value {
    let st = show["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {show}"));
    st["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .find(|i| i["line"] == line)
        .unwrap_or_else(|| panic!("no line {line} in stage {stage}: {st}"))
}

/// `docker buildx build --build-arg NONCE=nonce DIR` started in the background, once
/// BuildKit lists it as running.
pub fn running(host: &str, dir: &Path, nonce: &str) -> Child {
    let arg = format!("NONCE={nonce}");
    let build = Command::new("docker")
        .args([
            "buildx",
            "build",
            "--progress",
            "plain",
            "--build-arg",
            &arg,
            "--output",
            "type=cacheonly",
        ])
        .arg(dir)
        .env("DOCKER_HOST", host)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker buildx build");
    let up = super::wait_until(Duration::from_secs(30), || {
        records_with(host, "NONCE", nonce)
            .first()
            .is_some_and(|r| r["status"] == "running")
    });
    assert!(up, "the build never showed as running");
    build
}

/// A tag on `host`, removed when dropped (also when the test fails).
pub struct Tag<'a> {
    pub host: &'a str,
    pub name: String,
}

impl Drop for Tag<'_> {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", &self.name])
            .env("DOCKER_HOST", self.host)
            .output();
    }
}
