//! Reaching the engine: an unreachable DOCKER_HOST fails fast with one clear line; the
//! negotiated API version works for real calls (kept for bollard's coming change to how it
//! prefixes request paths); classic-only mistakes fail before anything is built.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Project};

fn unreachable(host: &str) {
    let project = Project::new("FROM busybox\nRUN true\n");
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("build")
        .arg(project.path())
        .env("DOCKER_HOST", host)
        .stdin(Stdio::null())
        .output()
        .expect("run stagescope build");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < Duration::from_secs(5), "{host}: took {took:?}");
    assert!(!out.status.success(), "{host}: should fail");
    assert_eq!(out.status.code(), Some(1), "{host}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{host}: one line, got: {stderr}");
    let line = lines[0];
    assert!(
        line.contains("cannot reach the Docker daemon"),
        "{host}: {line}"
    );
    assert!(
        line.contains("DOCKER_HOST"),
        "{host}: says what was tried: {line}"
    );
    assert!(line.contains(host), "{host}: names the address: {line}");
    assert!(out.stdout.is_empty(), "{host}: nothing on stdout");
}

#[test]
fn unreachable_tcp_host_fails_fast_with_one_line() {
    unreachable("tcp://127.0.0.1:1");
}

#[test]
fn missing_unix_socket_fails_fast_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("no-such-docker.sock");
    unreachable(&format!("unix://{}", sock.display()));
}

fn api_at_least(v: &str, want: (u32, u32)) -> bool {
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= want
}

#[test]
fn negotiated_connection_answers_real_requests() {
    require_docker!();
    common::runtime().block_on(async {
        let engine = common::engine().await;
        assert!(
            api_at_least(&engine.api_version, (1, 41)),
            "negotiated {}",
            engine.api_version
        );
        let version = engine.docker.version().await.expect("GET /version");
        let server_api = version.api_version.expect("the daemon reports its API");
        assert!(
            api_at_least(&server_api, (1, 41)),
            "daemon API {server_api}"
        );
        // The negotiated version is what the daemon offers, or what bollard speaks.
        assert!(
            api_at_least(&server_api, {
                let mut it = engine
                    .api_version
                    .split('.')
                    .map(|p| p.parse().unwrap_or(0));
                (it.next().unwrap_or(0), it.next().unwrap_or(0))
            }),
            "negotiated {} above the daemon's {server_api}",
            engine.api_version
        );
        engine.docker.ping().await.expect("GET /_ping");
        // A versioned endpoint with a body: the base image's metadata.
        let img = engine
            .docker
            .inspect_image(stagescope_core::engine_internals::base_image::BASE_IMAGE)
            .await
            .expect("inspect busybox:latest");
        assert!(img.id.is_some_and(|id| id.starts_with("sha256:")));
        assert!(
            engine.offers_buildkit(),
            "API 1.41 on Linux offers BuildKit"
        );
    });
}

#[test]
fn classic_refuses_buildkit_syntax_up_front_naming_the_line() {
    require_docker!();
    for (dockerfile, line, what) in [
        (
            "FROM busybox\nRUN true\nRUN --mount=type=cache,target=/c true\n",
            3,
            "--mount",
        ),
        ("FROM busybox\n\nRUN <<EOF\necho hi\nEOF\n", 3, "heredoc"),
    ] {
        let project = Project::new(dockerfile);
        let started = Instant::now();
        let out = Command::new(BIN)
            .arg("build")
            .arg(project.path())
            .args(["--builder", "classic", "--progress", "json"])
            .stdin(Stdio::null())
            .output()
            .expect("run stagescope build");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(&format!("line {line}")), "{what}: {stderr}");
        assert!(stderr.contains(what), "{what}: {stderr}");
        // Refused before a build started: no build events at all.
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("build_started"),
            "{what}: a build started"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
