//! InvalidBaseImagePlatform, the one build check that needs the engine: the base image the
//! engine has locally (busybox, built for this machine) against another target platform.
//! Nothing is pulled and nothing is created.

mod common;

use std::process::Command;

use common::{BIN, Project};

fn check(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .arg("check")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run stagescope check");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn a_local_base_of_another_platform_is_flagged() {
    require_docker!();
    let p = Project::new("FROM busybox\nRUN true\n");
    let host = stagescope_dockerfile::host_platform();
    let other = if host.contains("arm64") {
        "linux/amd64"
    } else {
        "linux/arm64"
    };
    let (code, out) = check(p.path(), &["--platform", other]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            ":1: InvalidBaseImagePlatform: Base image busybox was pulled with platform \"{host}\", expected \"{other}\" for current build"
        )),
        "{out}"
    );
    // Built for this machine: nothing to say.
    let (code, out) = check(p.path(), &[]);
    assert_eq!(code, Some(0));
    assert!(!out.contains("InvalidBaseImagePlatform"), "{out}");
}

/// Removes an image tag when dropped, whatever the test did.
struct RemoveImage(String);

impl Drop for RemoveImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

#[test]
fn a_local_base_images_env_defines_its_variables() {
    require_docker!();
    let tag = format!("stagescope-check-env:{}", common::nonce());
    let _remove = RemoveImage(tag.clone());
    let base = Project::new("FROM busybox\nENV GOPATH=/go\n");
    let built = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", &tag])
        .arg(base.path())
        .output()
        .expect("docker build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let p = Project::new(&format!("FROM {tag}\nWORKDIR $GOPATH/src\n"));
    let (code, out) = check(p.path(), &[]);
    assert_eq!(code, Some(0));
    assert!(!out.contains("UndefinedVar"), "{out}");
    // An engine that lacks the image cannot say: BuildKit would pull it, we flag it.
    let p = Project::new("FROM stagescope-no-such-image:1\nWORKDIR $GOPATH/src\n");
    let (_, out) = check(p.path(), &[]);
    assert!(out.contains("UndefinedVar"), "{out}");
}
