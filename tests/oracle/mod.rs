//! What the daemon oracle tests share (the docker CLI as the reference, classic builder): the
//! skip-or-fail rule and a cleanup guard.

use std::process::{Command, Output};

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("run docker")
}

/// Whether the daemon answers; when it does not, a failure under `CI`, else a note.
pub fn docker_available() -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "docker CLI or daemon not available, and CI is set"
        );
        eprintln!("note: docker not available; skipping a daemon oracle test");
        return false;
    }
    // The oracle builds start FROM busybox: make sure it is there, as the engine tests do.
    static BASE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_stagescope"))
            .arg("setup-base")
            .output()
            .expect("run stagescope setup-base");
        assert!(
            out.status.success(),
            "stagescope setup-base failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    true
}

/// Removes the container and image on every path out of the test.
pub struct Cleanup {
    pub image: String,
    pub container: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(c) = &self.container {
            let _ = docker(&["rm", "-f", c]);
        }
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}
