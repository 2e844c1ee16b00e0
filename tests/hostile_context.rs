//! Build contexts nobody tidied: unreadable files, sockets, FIFOs, symlinks pointing out of
//! the context, 100k files. The docker CLI (classic builder, which tars the context itself)
//! is the reference for what is sent and what fails.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::process::{Command, Output, Stdio};

use common::{BIN, Cleanup, Project, build_json, docker, docker_ok, nonce};

/// `cmd` run without the capabilities that let root read any file, so a mode-000 file is
/// unreadable to it as to anyone else (the tests run as root in CI).
fn without_read_override(program: &str) -> Command {
    let root = docker_free_uid() == "0";
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
            "--",
            program,
        ]);
        c
    } else {
        Command::new(program)
    };
    cmd.stdin(Stdio::null());
    cmd
}

fn docker_free_uid() -> String {
    let out = Command::new("id").arg("-u").output().expect("id -u");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

#[test]
fn an_unreadable_file_fails_in_one_line_naming_it_unless_ignored() {
    require_docker!();
    let project = Project::new("FROM busybox\nCOPY . /ctx/\n");
    project.write("ok", "fine");
    let locked = project.write("sub/locked", "secret");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let unreadable = without_read_override("cat")
        .arg(&locked)
        .output()
        .expect("cat");
    assert!(
        !unreadable.status.success(),
        "the file is still readable, so this test would prove nothing"
    );

    // The reference: the docker CLI refuses before sending anything.
    let cli = without_read_override("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "--no-cache"])
        .arg(project.path())
        .output()
        .expect("docker build");
    assert!(
        !cli.status.success(),
        "the docker CLI sent an unreadable file"
    );
    assert!(
        stderr_of(&cli).contains("sub/locked"),
        "docker CLI: {}",
        stderr_of(&cli)
    );

    for builder in ["buildkit", "classic"] {
        let out = without_read_override(BIN)
            .args(["build", "--progress", "plain", "--builder", builder])
            .arg(project.path())
            .output()
            .expect("stagescope build");
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{builder}: {err}");
        assert_eq!(err.lines().count(), 1, "{builder}: one line, got {err:?}");
        assert!(
            err.contains(&locked.display().to_string()) && err.contains("ermission denied"),
            "{builder}: the error must name the file: {err:?}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("building with"),
            "{builder}: refused before the build starts, as the docker CLI does"
        );
    }

    // Excluded, it is never opened: the build goes through.
    project.write(".dockerignore", "sub/locked\n");
    let mut cleanup = Cleanup::new();
    let out = without_read_override(BIN)
        .args(["build", "--progress", "json"])
        .arg(project.path())
        .output()
        .expect("stagescope build");
    let events = common::parse_ndjson(&out.stdout);
    if let Some(id) = events
        .iter()
        .find_map(|e| e["build_id"].as_str().map(str::to_string))
    {
        cleanup.build_ids.push(id);
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
}

#[test]
fn an_unreadable_directory_fails_in_one_line_naming_it() {
    require_docker!();
    let project = Project::new("FROM busybox\nCOPY . /ctx/\n");
    project.write("shut/inside", "x");
    let shut = project.path().join("shut");
    std::fs::set_permissions(&shut, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let out = without_read_override(BIN)
        .args(["build", "--progress", "plain"])
        .arg(project.path())
        .output()
        .expect("stagescope build");
    std::fs::set_permissions(&shut, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.contains(&shut.display().to_string()), "{err:?}");
}

/// What an image holds under `/ctx/`: path -> tar entry type and, for links, the target.
fn ctx_of(image: &str) -> BTreeMap<String, String> {
    let id = docker_ok(&["create", image, "/nonexistent"]);
    let out = docker(&["export", &id]);
    let _ = docker(&["rm", "-f", &id]);
    assert!(out.status.success(), "docker export {image} failed");
    let mut found = BTreeMap::new();
    let mut ar = tar::Archive::new(out.stdout.as_slice());
    for entry in ar.entries().expect("entries") {
        let entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let Some(rel) = path.strip_prefix("ctx/") else {
            continue;
        };
        let rel = rel.trim_end_matches('/');
        if rel.is_empty() {
            continue;
        }
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| format!(" -> {}", l.display()))
            .unwrap_or_default();
        found.insert(
            rel.to_string(),
            format!("{:?}{link}", entry.header().entry_type()),
        );
    }
    found
}

#[test]
fn sockets_fifos_and_symlinks_out_of_the_context_go_as_the_docker_cli_sends_them() {
    require_docker!();
    let n = nonce();
    let project = Project::new(&format!("FROM busybox\nCOPY . /ctx/\nLABEL n={n}\n"));
    let dir = project.path();
    project.write("plain", "x");
    let _listener = UnixListener::bind(dir.join("sock")).expect("socket");
    let fifo = Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    symlink("/etc/passwd", dir.join("abs-out")).expect("symlink");
    symlink("../../outside", dir.join("rel-out")).expect("symlink");
    symlink("/nonexistent/target", dir.join("dangling")).expect("symlink");

    let mut cleanup = Cleanup::new();
    let reference = cleanup.tag("ctx-reference");
    // The CLI's own tar: with buildx installed as its plugin, `docker build` is a BuildKit
    // build (which sent the socket as a regular file), so the reference says classic.
    let cli = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &reference, &dir.display().to_string()])
        .output()
        .expect("docker build");
    assert!(cli.status.success(), "docker build: {}", stderr_of(&cli));
    let want = ctx_of(&reference);
    // Guard against a vacuous comparison: these are what the CLI is known to do.
    assert!(
        !want.contains_key("sock"),
        "the CLI skips sockets: {want:?}"
    );
    assert_eq!(want.get("fifo").map(String::as_str), Some("Fifo"));
    assert_eq!(
        want.get("abs-out").map(String::as_str),
        Some("Symlink -> /etc/passwd")
    );

    // Our tar holds the same entries as the CLI's.
    let sent = stagescope_context::list_context(dir, None).expect("list");
    let sent: Vec<String> = sent.iter().map(|p| p.display().to_string()).collect();
    assert!(sent.contains(&"fifo".to_string()) && !sent.contains(&"sock".to_string()));

    for builder in ["buildkit", "classic"] {
        let run = build_json(dir, &["--builder", builder], &mut cleanup);
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        let image = run.summary()["image"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{builder}: no image: {}", run.describe()));
        let mut want = want.clone();
        let mut got = ctx_of(&image);
        if builder == "buildkit" {
            // The FIFO reaches the daemon either way; whether COPY puts it in the image is
            // BuildKit's choice: 0.8 (Docker 20.10) leaves it out, 0.13 (Docker 26) copies it.
            want.remove("fifo");
            if let Some(kind) = got.remove("fifo") {
                assert_eq!(kind, "Fifo", "{builder}: the FIFO stays a FIFO");
            }
        }
        assert_eq!(got, want, "{builder}: ours (left) vs the docker CLI's");
    }
}

#[test]
fn a_context_of_100k_files_builds_and_arrives_whole() {
    require_docker!();
    const DIRS: usize = 100;
    const PER_DIR: usize = 1000;
    let n = nonce();
    let project = Project::new(&format!(
        // A bind mount of the context counts what arrived without committing a layer of
        // 100k files, which is the daemon's slow part, not the context's.
        "FROM busybox\nRUN --mount=type=bind,target=/x echo {n} && find /x -type f | wc -l > /count\n"
    ));
    for d in 0..DIRS {
        let dir = project.path().join(format!("d{d:03}"));
        std::fs::create_dir(&dir).expect("mkdir");
        for f in 0..PER_DIR {
            std::fs::File::create(dir.join(format!("f{f:04}"))).expect("create");
        }
    }
    let mut cleanup = Cleanup::new();
    let started = std::time::Instant::now();
    let run = build_json(project.path(), &[], &mut cleanup);
    let took = started.elapsed();
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let image = run.summary()["image"].as_str().expect("image").to_string();
    let count = common::cat_in_image(&image, "/count");
    // The files and the Dockerfile.
    assert_eq!(count.trim(), (DIRS * PER_DIR + 1).to_string());
    eprintln!("100k-file context built in {took:.1?}");
}
