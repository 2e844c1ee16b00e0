//! Today's Docker runs beside the machine's own (`scripts/modern-engine.sh`): both build a RUN,
//! each on its own bridge. A second daemon started with `--bridge none` deletes the machine's
//! `docker0`, after which every RUN there fails; this is the test that would see it.

mod common;

use std::process::Command;

use common::{Project, nonce};

/// The machine's engine: `STAGESCOPE_MACHINE_HOST`, else the default socket.
fn machine_host() -> String {
    std::env::var("STAGESCOPE_MACHINE_HOST")
        .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// A RUN builds on `host` with both builders; what it made is removed.
fn run_builds_on(host: &str) {
    let n = nonce();
    let p = Project::new(&format!("FROM busybox\nRUN echo {n} > /ran\n"));
    for builder in ["buildkit", "classic"] {
        let out = Command::new(common::BIN)
            .args(["build", "--progress", "json", "--builder", builder])
            .arg(p.path())
            .env("DOCKER_HOST", host)
            .output()
            .expect("stagescope build");
        let events = common::parse_ndjson(&out.stdout);
        if let Some(id) = common::announced_build_id(&events) {
            let _ = Command::new(common::BIN)
                .args(["clean", "--build", &id])
                .env("DOCKER_HOST", host)
                .output();
        }
        assert!(
            out.status.success(),
            "a RUN with {builder} on {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_machines_engine_and_todays_engine_both_run_a_run() {
    let Some(modern) = common::engine_from("STAGESCOPE_MODERN_HOST") else {
        return;
    };
    for host in [machine_host(), modern] {
        common::setup_base_on(&host);
        run_builds_on(&host);
    }
    // The machine's bridge is still there.
    let link = Command::new("ip")
        .args(["link", "show", "docker0"])
        .output();
    if let Ok(link) = link {
        assert!(link.status.success(), "docker0 is gone");
    }
}
