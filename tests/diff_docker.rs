//! `stagescope diff` against the real daemon: a release stage that ships the builder's
//! leftovers and secrets through one `COPY --from`, a clean multi-stage build, and stages
//! compared with themselves. Each run removes what its own build made (`diff` cleans its
//! build id), so tests running beside it keep theirs. Skipped (with a note) when docker is
//! not available, unless `CI` is set.

use std::path::PathBuf;
use std::process::{Command, Output};

#[allow(dead_code)] // the oracle helpers are for the other daemon tests
mod oracle;

use oracle::docker_available;

const BIN: &str = env!("CARGO_BIN_EXE_stagescope");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn stagescope(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run stagescope")
}

/// The daemon answers and `busybox:latest` exists.
fn ready() -> bool {
    if !docker_available() {
        return false;
    }
    let out = stagescope(&["setup-base"]);
    assert!(
        out.status.success(),
        "setup-base: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

fn json_diff(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = stagescope(&all);
    let code = out.status.code().expect("exit code");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); exit {code}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// Paths the JSON report lists as added.
fn added(v: &serde_json::Value) -> Vec<&str> {
    v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["status"] == "added")
        .filter_map(|c| c["path"].as_str())
        .collect()
}

#[test]
fn every_leftover_and_secret_of_the_leaky_release_is_found_with_its_copy() {
    if !ready() {
        return;
    }
    let ctx = fixture("diff-leaky");
    let ctx = ctx.to_str().expect("utf-8 path");
    let (code, v) = json_diff(&["diff", ctx, "--fail-on", "secrets"]);
    assert_eq!(code, 1, "secrets must fail: {v:#}");
    let findings = v["findings"].as_array().expect("findings");
    let expect = [
        ("/app/.git", "vcs-metadata", "warning"),
        ("/app/.ccache", "compiler-cache", "warning"),
        ("/app/.env", "dotenv", "error"),
        ("/app/id_ed25519", "private-key", "error"),
    ];
    for (path, rule, severity) in expect {
        let f = findings
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("no finding for {path}: {v:#}"));
        assert_eq!(f["rule"], rule, "{f:#}");
        assert_eq!(f["severity"], severity, "{f:#}");
        let by = f["instruction"].as_str().expect("instruction");
        assert!(
            by.starts_with("COPY --from=builder /src /app (line 14)"),
            "{path} brought by {by}"
        );
    }
    // One finding per directory, not per file.
    assert_eq!(
        findings
            .iter()
            .filter(|f| f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/app/.git")))
            .count(),
        1
    );
    assert_eq!(v["summary"]["from"]["label"], "builder");
    assert!(v["summary"]["copied_files"].as_u64().expect("copied") >= 6);

    // The Markdown for a pull request says the same.
    let out = stagescope(&["diff", ctx, "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0), "no --fail-on: exit 0");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("secrets found"), "{md}");
    assert!(md.contains("| error | `/app/.env` |"), "{md}");
}

#[test]
fn a_clean_multi_stage_build_has_no_findings() {
    if !ready() {
        return;
    }
    let ctx = fixture("diff-clean");
    let ctx = ctx.to_str().expect("utf-8 path");
    let (code, v) = json_diff(&["diff", ctx, "--fail-on", "leftovers"]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["summary"]["copied_files"], 1);
    let added = added(&v);
    assert!(added.contains(&"/usr/local/bin/app"), "{added:?}");
}

#[test]
fn identical_stages_and_images_give_an_empty_diff() {
    if !ready() {
        return;
    }
    let ctx = fixture("diff-clean");
    let ctx = ctx.to_str().expect("utf-8 path");
    let (code, v) = json_diff(&["diff", ctx, "--from", "builder", "--to", "builder"]);
    assert_eq!(code, 0);
    let s = &v["summary"];
    assert_eq!(
        (&s["added"], &s["removed"], &s["changed"]),
        (&0.into(), &0.into(), &0.into())
    );
    assert_eq!(v["changes"], serde_json::json!([]));

    let (code, v) = json_diff(&["diff-images", "busybox:latest", "busybox:latest"]);
    assert_eq!(code, 0);
    assert_eq!(v["changes"], serde_json::json!([]));
    assert!(v["summary"]["unchanged"].as_u64().expect("unchanged") > 100);

    // A state inside a stage: the builder right after its WORKDIR has no /src/app yet.
    // The images' own layers are compared: the base made by `setup-base` has no /dev, /proc
    // or /sys, which BuildKit makes as mount points in the RUN's container and leaves in its
    // layer; empty, they are the runtime's and no change.
    let (_, v) = json_diff(&["diff", ctx, "--from", "builder@1", "--to", "builder"]);
    assert_eq!(added(&v), vec!["/src/app", "/src/main.c"]);
}

#[test]
fn usage_errors_exit_2() {
    let ctx = fixture("diff-clean");
    let ctx = ctx.to_str().expect("utf-8 path");
    let out = stagescope(&["diff", ctx, "--from", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let out = stagescope(&["diff", ctx, "--from", "builder@99"]);
    assert_eq!(out.status.code(), Some(2));
    let out = stagescope(&["diff", ctx, "--rules", "/nonexistent/rules.toml"]);
    assert_eq!(out.status.code(), Some(2));
}
