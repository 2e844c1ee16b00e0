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

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
pub use common::Dangling;

/// Whether the daemon answers (and `busybox:latest` is ready): the engine tests' rule, a
/// failure under `CI`, else a note and a skip.
pub fn docker_available() -> bool {
    common::docker_ready()
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
