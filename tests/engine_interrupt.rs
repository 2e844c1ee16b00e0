//! Ctrl-C during a long RUN: the binary exits 130 within seconds and leaves no container and
//! no temporary image of that build, with both builders.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BIN, Project, containers_of, leftover_images, nonce, wait_until};
use serde_json::Value;

/// Host processes whose command line holds `marker` (the daemon is local here).
fn host_processes(marker: &str) -> Option<usize> {
    let out = Command::new("pgrep").args(["-f", marker]).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).lines().count())
}

/// The build under test; interrupted (so it cleans up) if the test fails before it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.0.id().to_string()])
                .status();
            let _ = wait_until(Duration::from_secs(10), || {
                !matches!(self.0.try_wait(), Ok(None))
            });
            let _ = self.0.kill();
        }
    }
}

fn interrupt_during_run(builder: &str) {
    let n = nonce();
    let marker = format!("stagescope-interrupt-{n}");
    let project = Project::new(&format!(
        "FROM busybox AS slow\nRUN echo {n} > /n\nRUN sleep 60; echo {marker}\n"
    ));
    let mut child = Running(
        Command::new(BIN)
            .arg("build")
            .arg(project.path())
            .args(["--progress", "json", "--builder", builder])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stagescope build"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Value>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });

    // Wait for the RUN sleep (instruction 2) to start, noting the build id and images seen.
    let mut build_id = None;
    let mut images: Vec<String> = vec![];
    let mut seen = vec![];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{builder}: the RUN never started: {seen:?}"));
        seen.push(ev.to_string());
        if ev["event"] == "build_started" {
            build_id = ev["build_id"].as_str().map(str::to_string);
        }
        // Images of what this build made; instruction 0's is the shared base image.
        if let Some(img) = ev["image"].as_str()
            && ev["instruction"] != 0
        {
            images.push(img.to_string());
        }
        if ev["event"] == "instruction_started" && ev["instruction"] == 2 {
            break;
        }
    }
    let build_id = build_id.expect("build_started comes first");
    // Let the RUN really run: its container (classic) or process (both) exists.
    if builder == "classic" {
        assert!(
            wait_until(Duration::from_secs(10), || {
                !containers_of(&build_id, &images).is_empty()
            }),
            "classic: the RUN container never showed up (so the check below would be vacuous)"
        );
    }
    let local = wait_until(Duration::from_secs(5), || {
        host_processes(&marker).is_some_and(|c| c > 0)
    });

    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let mut code = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            code = child.0.try_wait().expect("try_wait").map(|s| s.code());
            code.is_some()
        }),
        "{builder}: still running 10 s after SIGINT"
    );
    let took = started.elapsed();
    let _ = reader.join();
    for ev in rx.try_iter() {
        if let Some(img) = ev["image"].as_str()
            && ev["instruction"] != 0
        {
            images.push(img.to_string());
        }
    }
    assert_eq!(code, Some(Some(130)), "{builder}: exit code after SIGINT");
    assert!(
        took < Duration::from_secs(5),
        "{builder}: took {took:?} to stop"
    );

    let mut left = vec![];
    let clean = wait_until(Duration::from_secs(10), || {
        left = containers_of(&build_id, &images);
        left.is_empty()
    });
    assert!(clean, "{builder}: containers left: {left:?}");
    let imgs = leftover_images(&build_id);
    assert!(
        imgs.is_empty(),
        "{builder}: temporary images left: {imgs:?}"
    );
    // The classic builder's intermediate image of `RUN echo <nonce>` was made by this run
    // alone (the nonce defeats any cache): it goes too.
    let kept: Vec<&String> = images
        .iter()
        .filter(|i| {
            Command::new("docker")
                .args(["image", "inspect", i.as_str()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    assert!(
        kept.is_empty(),
        "{builder}: intermediate images left: {kept:?}"
    );
    if !local {
        eprintln!("note: {builder}: the RUN's process is not visible on this host; not checked");
    } else {
        let mut n = None;
        assert!(
            wait_until(Duration::from_secs(10), || {
                n = host_processes(&marker);
                n == Some(0)
            }),
            "{builder}: the RUN still runs in the daemon after the interrupt ({n:?} processes)"
        );
    }
}

#[test]
fn ctrl_c_stops_a_buildkit_run_and_leaves_nothing() {
    require_docker!();
    interrupt_during_run("buildkit");
}

#[test]
fn ctrl_c_stops_a_classic_run_and_leaves_nothing() {
    require_docker!();
    interrupt_during_run("classic");
}
