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
    let host = stagescope::dockerfile::host_platform();
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
