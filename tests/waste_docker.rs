//! `stagescope waste` on an image whose waste is known by construction (an overwrite, a
//! delete, an opaque directory, hard links, a file rewritten three times), through the
//! engine, through its `docker save` tar (plain, gzip on stdin) and, where the engine writes
//! one (Docker 25+), its OCI layout, with `DOCKER_HOST` pointing nowhere; then dive's gates
//! and a `.dive-ci`, and a build's stage.

#[macro_use]
mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{BIN, Cleanup, Project, docker_ok};
use serde_json::Value;

/// Classic builder: one layer per RUN.
const DOCKERFILE: &str = r#"FROM busybox
RUN head -c 100000 /dev/zero > /over && head -c 7000 /dev/zero > /del \
 && mkdir -p /opq/a && head -c 5000 /dev/zero > /opq/a/f \
 && head -c 64000 /dev/zero > /h1 && ln /h1 /h2 && head -c 1000 /dev/zero > /three
RUN head -c 30000 /dev/zero > /over && rm /del && rm -rf /opq && mkdir -p /opq/b \
 && echo n > /opq/b/g && head -c 2000 /dev/zero > /three && rm /h1
RUN head -c 3000 /dev/zero > /three && rm /h2
RUN head -c 4000 /dev/zero > /three
"#;

/// Per file, the bytes of its hidden copies: /h1's 64000 once, when its last name went.
/// `/opq/a/f` (5000) is hidden by the opaque directory `rm -rf /opq && mkdir -p /opq/b`
/// makes, when the storage driver writes it: fuse-overlayfs (the machine's Docker 20.10)
/// leaves the marker out of the layer, and the image then still shows the file (`docker
/// run … ls /opq` lists `a`), so nothing of it is wasted. The fs crate's tests make the
/// opaque marker themselves.
const WANT: &[(&str, u64)] = &[
    ("/over", 100_000),
    ("/h2", 64_000),
    ("/del", 7_000),
    ("/three", 6_000),
    ("/opq/a/f", 5_000),
];

fn stagescope(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run stagescope")
}

/// The report of a `waste --format json` run that must succeed.
fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "waste failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// What the layers must have wasted: [`WANT`], less /opq/a/f where the image still shows it.
fn want(opaque_written: bool) -> Vec<(String, u64)> {
    WANT.iter()
        .filter(|(p, _)| opaque_written || *p != "/opq/a/f")
        .map(|(p, b)| (p.to_string(), *b))
        .collect()
}

fn check(r: &Value, opaque_written: bool, what: &str) {
    let want = want(opaque_written);
    let total: u64 = want.iter().map(|(_, b)| b).sum();
    assert_eq!(r["wasted_bytes"], total, "{what}: {r:#}");
    assert_eq!(r["user_wasted_bytes"], total, "{what}");
    assert_eq!(r["base_wasted_bytes"], 0, "{what}");
    let files: Vec<(String, u64)> = r["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["wasted_bytes"].as_u64().expect("bytes"),
            )
        })
        .collect();
    assert_eq!(files, want, "{what}");
    let three = &r["files"][3];
    assert_eq!(
        three["copies"].as_array().expect("copies").len(),
        3,
        "{what}"
    );
    assert_eq!(three["visible"]["size"], 4000, "{what}");
    let e = r["efficiency"].as_f64().expect("efficiency");
    let stored = r["stored_bytes"].as_f64().expect("stored");
    assert!((e - (1.0 - total as f64 / stored)).abs() < 1e-9, "{what}");
}

/// Whether the layers hide /opq/a/f: the image composed from its layers no longer has it
/// (`tests/layers_docker.rs` holds that composition to `docker export`).
fn opaque_written(image: &str) -> bool {
    let out = run(stagescope(&["tree", "--image", image]));
    assert!(out.status.success(), "{out:?}");
    let listing = String::from_utf8_lossy(&out.stdout);
    let opq_a = listing.lines().any(|l| l.trim_end().ends_with(" a/"));
    !opq_a
}

/// A command that must not reach an engine (there is none where it points).
fn no_engine(args: &[&str], cache: &Path) -> Command {
    let mut c = stagescope(args);
    c.env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("XDG_CACHE_HOME", cache);
    c
}

#[test]
fn waste_is_exact_through_the_engine_an_archive_and_an_oci_layout() {
    require_docker!();
    let mut cleanup = Cleanup::new();
    let project = Project::new(DOCKERFILE);
    let tag = cleanup.tag("waste");
    common::docker_build_classic(project.path(), &tag);

    let opaque = opaque_written(&tag);
    check(
        &json_of(&run(stagescope(&["waste", &tag, "--format", "json"]))),
        opaque,
        "engine",
    );
    let total: u64 = want(opaque).iter().map(|(_, b)| b).sum();

    // Gates as dive spells them.
    let pass = run(stagescope(&[
        "waste",
        &tag,
        "--highest-wasted-bytes",
        &total.to_string(),
        "--lowest-efficiency",
        "0.01",
    ]));
    assert_eq!(pass.status.code(), Some(0), "{pass:?}");
    let fail = run(stagescope(&[
        "waste",
        &tag,
        "--highest-wasted-bytes",
        "0.17MB",
    ]));
    assert_eq!(fail.status.code(), Some(1));
    let why = String::from_utf8_lossy(&fail.stderr);
    assert!(
        why.contains(&format!(
            "highestWastedBytes: too many bytes wasted (wasted-bytes={total} > threshold=170000)"
        )),
        "{why}"
    );
    let dive_ci = project.write(
        ".dive-ci",
        "rules:\n  lowestEfficiency: 0.999\n  highestUserWastedPercent: disabled\n",
    );
    let mut ci = stagescope(&["waste", &tag, "--ci-config"]);
    ci.arg(&dive_ci);
    let ci = run(ci);
    assert_eq!(ci.status.code(), Some(1), "{ci:?}");
    let why = String::from_utf8_lossy(&ci.stderr);
    assert_eq!(
        why.lines().filter(|l| l.starts_with("FAIL")).count(),
        1,
        "{why}"
    );
    assert!(why.contains("lowestEfficiency"), "{why}");

    // The same image with no engine: its `docker save` tar, plain and gzipped on stdin.
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let tar = dir.path().join("save.tar");
    let saved = Command::new("docker")
        .args(["save", "-o"])
        .arg(&tar)
        .arg(&tag)
        .status()
        .expect("docker save");
    assert!(saved.success());
    let spec = format!("docker-archive:{}", tar.display());
    for pass in ["cold", "warm"] {
        let r = json_of(&run(no_engine(
            &["waste", &spec, "--format", "json"],
            &cache,
        )));
        check(&r, opaque, &format!("docker-archive, {pass}"));
    }
    let mut gz = no_engine(&["waste", "docker-archive:-", "--format", "json"], &cache);
    let mut child = gz
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        let mut enc = flate2::write::GzEncoder::new(
            child.stdin.take().expect("stdin"),
            flate2::Compression::fast(),
        );
        enc.write_all(&std::fs::read(&tar).expect("read tar"))
            .expect("pipe");
        enc.finish().expect("gzip");
    }
    check(
        &json_of(&child.wait_with_output().expect("wait")),
        opaque,
        "gzip on stdin",
    );

    // An engine from 25 on saves an OCI layout: unpacked, it opens as one.
    let layout = dir.path().join("layout");
    std::fs::create_dir(&layout).expect("mkdir");
    tar::Archive::new(std::fs::File::open(&tar).expect("open tar"))
        .unpack(&layout)
        .expect("unpack");
    if !layout.join("index.json").is_file() {
        eprintln!("note: this engine's docker save is the classic layout; no OCI layout to open");
        return;
    }
    let spec = format!("oci-layout:{}", layout.display());
    check(
        &json_of(&run(no_engine(
            &["waste", &spec, "--format", "json"],
            &cache,
        ))),
        opaque,
        "oci-layout",
    );
    let tree = run(no_engine(&["tree", "--image", &spec, "--json"], &cache));
    assert!(tree.status.success(), "{tree:?}");
    let listed = String::from_utf8_lossy(&tree.stdout);
    assert!(
        listed.lines().any(|l| l.contains("\"path\":\"three\"")
            && l.contains("RUN head -c 4000 /dev/zero > /three")),
        "{listed}"
    );
    let diff = run(no_engine(
        &[
            "diff-images",
            &format!("docker-archive:{}", tar.display()),
            &spec,
        ],
        &cache,
    ));
    assert!(diff.status.success(), "{diff:?}");
}

/// The stages stagescope tagged during `f` (a build's `stagescope.local/<id>`), cleaned
/// after it.
fn cleaning_new_builds(f: impl FnOnce()) {
    let ours = || {
        docker_ok(&[
            "images",
            "--format",
            "{{.Repository}}",
            "stagescope.local/*",
        ])
        .lines()
        .map(String::from)
        .collect::<std::collections::BTreeSet<_>>()
    };
    let before = ours();
    f();
    for repo in ours().difference(&before) {
        if let Some(id) = repo.strip_prefix("stagescope.local/") {
            let _ = run(stagescope(&["clean", "--build", id]));
        }
    }
}

#[test]
fn a_stage_names_its_instructions_and_counts_its_base_apart() {
    require_docker!();
    let project = Project::new(&DOCKERFILE.replace("FROM busybox", "FROM busybox AS app"));
    cleaning_new_builds(|| {
        let mut c = stagescope(&["waste", "--stage", "app", "--format", "json"]);
        c.arg(project.path());
        let r = json_of(&run(c));
        // The stage's image is BuildKit's; whether its driver wrote the opaque marker shows
        // in the report alone (the other files are exact either way).
        let opaque = r["files"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == "/opq/a/f"));
        check(&r, opaque, "stage");
        assert_eq!(r["base_layers"], 1, "busybox's one layer");
        let over = &r["files"][0]["copies"][0];
        assert!(
            over["hidden_by"]
                .as_str()
                .expect("text")
                .starts_with("app #2 (line 5)"),
            "{over}"
        );
    });
}
