//! Which instruction made what, through the real binary against the real daemon, with both
//! builders: a directory is added by the instruction that made it (its last writer beside
//! it), `added_by.text` is the instruction alone, the empty mount points BuildKit's RUN
//! leaves are the runtime's and no change in a diff, and the words a diff attributes with
//! are read as the builder expands them.

mod common;

use std::process::Command;

use common::{BIN, Cleanup, Project, build_json, nonce};
use serde_json::Value;

const BUILDERS: [&str; 2] = ["buildkit", "classic"];

/// `stagescope tree --image IMAGE --json`, one object per path.
fn tree(image: &str) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["tree", "--image", image, "--json"])
        .output()
        .expect("run tree");
    assert!(
        out.status.success(),
        "tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::parse_ndjson(&out.stdout)
}

fn entry<'a>(entries: &'a [Value], path: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in the tree"))
}

/// `stagescope diff CONTEXT --builder B --format json` (it removes what its build made).
fn diff(dir: &std::path::Path, builder: &str) -> Value {
    let out = Command::new(BIN)
        .arg("diff")
        .arg(dir)
        .args(["--builder", builder, "--format", "json"])
        .output()
        .expect("run diff");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn changed_paths(v: &Value) -> Vec<String> {
    v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["path"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_directory_is_added_by_the_instruction_that_made_it() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&format!(
            "FROM busybox AS builder\n\
             WORKDIR /src\n\
             COPY a.txt .\n\
             RUN echo {n} > built\n"
        ));
        project.write("a.txt", "a\n");
        let run = build_json(project.path(), &["--builder", builder], &mut cleanup);
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        let image = run.stage("builder")["image"]
            .as_str()
            .expect("builder image")
            .to_string();
        let entries = tree(&image);
        let src = entry(&entries, "src");
        assert_eq!(src["added_by"]["text"], "WORKDIR /src", "{builder}: {src}");
        let last = src["last_changed_by"]["text"].as_str().unwrap_or_default();
        assert!(
            last.starts_with("RUN ") && last.contains(&n),
            "{builder}: the RUN wrote src/ last: {src}"
        );
        assert!(
            src["added_by"]["layer"].as_u64() < src["last_changed_by"]["layer"].as_u64(),
            "{builder}: {src}"
        );
        let a = entry(&entries, "src/a.txt");
        let text = a["added_by"]["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("COPY "), "{builder}: {a}");
        assert!(a.get("last_changed_by").is_none(), "{builder}: {a}");
        // The text is the instruction only: the layer has a field of its own.
        for e in &entries {
            for key in ["added_by", "last_changed_by"] {
                let t = e[key]["text"].as_str().unwrap_or_default();
                assert!(!t.starts_with("layer "), "{builder}: {e}");
            }
        }
        assert!(
            entry(&entries, "src/built")["added_by"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("RUN ")),
            "{builder}"
        );
        // BuildKit's RUN leaves empty /dev, /proc and /sys; the classic builder none. Where
        // they are, they are the runtime's.
        let mounts: Vec<&Value> = entries
            .iter()
            .filter(|e| matches!(e["path"].as_str(), Some("dev" | "proc" | "sys")))
            .collect();
        for m in &mounts {
            assert_eq!(m["runtime"], true, "{builder}: {m}");
        }
        if builder == "classic" {
            assert!(mounts.is_empty(), "{mounts:?}");
        }
    }
}

#[test]
fn runtime_mount_points_are_no_change_in_a_diff() {
    require_docker!();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    let mut removed = Vec::new();
    for builder in BUILDERS {
        let v = diff(&demo, builder);
        let paths = changed_paths(&v);
        assert!(paths.iter().any(|p| p == "/src"), "{builder}: {paths:?}");
        for p in ["/dev", "/proc", "/sys"] {
            assert!(!paths.iter().any(|c| c == p), "{builder}: {p} in {paths:?}");
        }
        assert!(
            v["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .all(|f| !matches!(f["path"].as_str(), Some("/dev" | "/proc" | "/sys"))),
            "{builder}: {v}"
        );
        removed.push(v["summary"]["removed"].clone());
    }
    // BuildKit's builder stage holds the three mount points, the classic one does not: the
    // counts agree only when they are left out.
    assert_eq!(removed[0], removed[1], "{removed:?}");
}

#[test]
fn a_diff_reads_workdir_and_copy_words_as_the_builder_expands_them() {
    require_docker!();
    for builder in BUILDERS {
        let n = nonce();
        let project = Project::new(&format!(
            "FROM busybox AS builder\n\
             WORKDIR /src\n\
             RUN echo SECRET={n} > .env\n\
             FROM busybox\n\
             ARG ROOT=/srv\n\
             ENV APP=\"$ROOT/app\"\n\
             WORKDIR \"$APP\"\n\
             COPY --from=builder \"/src/.env\" ./conf/\n"
        ));
        let v = diff(project.path(), builder);
        let finding = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["path"] == "/srv/app/conf/.env")
            .unwrap_or_else(|| panic!("{builder}: no finding for the copied .env: {v}"));
        let by = finding["instruction"].as_str().unwrap_or_default();
        assert!(
            by.contains("(line 8)") && by.ends_with("identical"),
            "{builder}: attributed to the COPY it came through: {finding}"
        );
    }
}
