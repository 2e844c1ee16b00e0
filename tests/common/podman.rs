//! Where the Podman tests find Podman's API: `STAGESCOPE_PODMAN_HOST`, which `.ci/run` sets
//! from `scripts/podman-service.sh`. Under `CI` a missing or silent service fails the test.

use std::process::Command;
use std::sync::OnceLock;

/// The `unix://` address of a Podman service with `busybox:latest` in its store, or None
/// (after a note) when none was set up outside CI.
pub fn podman_host(bin: &str) -> Option<String> {
    static HOST: OnceLock<Option<String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let ci = std::env::var_os("CI").is_some();
        let Some(host) = std::env::var("STAGESCOPE_PODMAN_HOST").ok() else {
            assert!(
                !ci,
                "CI is set but STAGESCOPE_PODMAN_HOST is not: .ci/run starts Podman with scripts/podman-service.sh"
            );
            eprintln!("note: STAGESCOPE_PODMAN_HOST unset (scripts/podman-service.sh); skipping the Podman tests");
            return None;
        };
        let out = Command::new(bin)
            .arg("setup-base")
            .env("DOCKER_HOST", &host)
            .output()
            .expect("run stagescope setup-base");
        assert!(
            out.status.success(),
            "stagescope setup-base on Podman ({host}) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(host)
    })
    .clone()
}
