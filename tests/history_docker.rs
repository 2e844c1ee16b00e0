//! Run history against the real daemon, with BuildKit and with the classic builder: each
//! rebuild's cache misses carry the first cause (a changed file under a COPY source, the
//! instructions after it naming that COPY, a changed build arg, `--no-cache`), an unchanged
//! rebuild has none, and `history`, `compare` and `--record` read what was recorded.

mod common;

use std::path::Path;
use std::process::Command;

use common::{BIN, Cleanup, Dangling, JsonRun, Project, build_json_with, nonce};
use serde_json::Value;

/// The binary with its history in `state`.
fn cmd(state: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("XDG_STATE_HOME", state);
    c
}

/// The misses of a run, as (line, reason, the whole miss object).
fn misses(run: &JsonRun) -> Vec<(u64, String, Value)> {
    run.of("instruction_finished")
        .into_iter()
        .filter_map(|e| {
            let m = e.get("miss")?;
            Some((
                e["line"].as_u64().unwrap_or(0),
                m["reason"].as_str().unwrap_or("").to_string(),
                m.clone(),
            ))
        })
        .collect()
}

fn reason_at(run: &JsonRun, line: u64) -> String {
    misses(run)
        .into_iter()
        .find(|(l, _, _)| *l == line)
        .map(|(_, r, _)| r)
        .unwrap_or_else(|| panic!("no miss at line {line}: {}", run.describe()))
}

fn history_of(state: &Path, builder: &str) {
    require_docker!();
    let n = nonce();
    let p = Project::new(&format!(
        "FROM busybox AS builder\n\
         ARG MODE=fast\n\
         WORKDIR /src\n\
         COPY src/ ./\n\
         RUN echo {n} && cat a.txt > out.txt\n\
         RUN echo \"mode=$MODE {n}\" > mode.txt\n\
         FROM busybox\n\
         COPY --from=builder /src/out.txt /out.txt\n"
    ));
    // Contents of this test's own: a COPY of them is never served from another run's cache.
    p.write("src/a.txt", &format!("one {n}\n"));
    p.write("src/b.txt", "b\n");
    let mut cleanup = Cleanup::new();
    // A classic run's steps stay as cache when a later run takes over the context's tags.
    let _steps = Dangling(n.clone());
    let build = |args: &[&str], cleanup: &mut Cleanup| {
        let mut all = vec!["--builder", builder];
        all.extend_from_slice(args);
        let run = build_json_with(cmd(state), p.path(), &all, cleanup);
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        run
    };

    let first = build(&[], &mut cleanup);
    assert_eq!(reason_at(&first, 5), "first-build", "{builder}");

    let same = build(&[], &mut cleanup);
    assert_eq!(
        misses(&same),
        vec![],
        "{builder}: an unchanged rebuild has no misses"
    );

    // Another size too: an edit within the same second that keeps the size can pass for
    // unchanged where an engine compares metadata.
    p.write("src/a.txt", &format!("two, longer {n}\n"));
    let changed = build(&[], &mut cleanup);
    let (_, reason, copy) = misses(&changed)
        .into_iter()
        .find(|(l, _, _)| *l == 4)
        .unwrap_or_else(|| panic!("{builder}: the COPY ran: {}", changed.describe()));
    assert_eq!(reason, "files-changed", "{builder}: {copy}");
    assert_eq!(copy["paths"], serde_json::json!(["src/a.txt"]), "{builder}");
    assert!(
        copy["detail"].as_str().unwrap_or("").contains("src/a.txt"),
        "{copy}"
    );
    let (_, reason, after) = misses(&changed)
        .into_iter()
        .find(|(l, _, _)| *l == 5)
        .expect("the RUN after the COPY ran");
    assert_eq!(reason, "parent-missed", "{builder}: {after}");
    assert!(
        after["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("line 4 "),
        "{builder}: names the COPY's line: {after}"
    );

    let arg = build(&["--build-arg", "MODE=slow"], &mut cleanup);
    let (_, reason, m) = misses(&arg)
        .into_iter()
        .find(|(l, _, _)| *l == 6)
        .unwrap_or_else(|| panic!("{builder}: the RUN using MODE ran: {}", arg.describe()));
    assert_eq!(reason, "arg-changed", "{builder}: {m}");
    assert_eq!(m["arg"], "MODE");
    assert!(
        misses(&arg).iter().all(|(l, _, _)| *l != 4),
        "{builder}: the COPY does not see MODE and stays cached"
    );

    let record = p.path().join("run.json");
    let record_arg = record.to_str().expect("utf8");
    let nc = build(&["--no-cache", "--record", record_arg], &mut cleanup);
    assert_eq!(reason_at(&nc, 5), "no-cache", "{builder}");
    assert!(record.is_file(), "--record wrote the file");

    // history: the five runs, newest first, with their results.
    let out = cmd(state)
        .args(["history", "--format", "json"])
        .arg(p.path())
        .output()
        .expect("history");
    assert!(out.status.success());
    let h: Value = serde_json::from_slice(&out.stdout).expect("json");
    let runs = h["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 5, "{h:#}");
    assert_eq!(runs[0]["id"].as_str(), nc.build_id().as_deref());
    assert!(
        runs.iter()
            .all(|r| r["outcome"] == "built" && r["builder"] == builder)
    );
    let text = cmd(state)
        .arg("history")
        .arg(p.path())
        .output()
        .expect("history");
    assert!(String::from_utf8_lossy(&text.stdout).contains("built"));

    // compare: the last two runs by default; the file and an id prefix name runs too.
    let out = cmd(state)
        .args(["compare", "--format", "json", "-C"])
        .arg(p.path())
        .output()
        .expect("compare");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(c["b"]["id"].as_str(), nc.build_id().as_deref());
    assert_eq!(c["a"]["id"].as_str(), arg.build_id().as_deref());
    let first_id = first.build_id().expect("id");
    let out = cmd(state)
        .args(["compare", "--format", "markdown", "-C"])
        .arg(p.path())
        .arg(&first_id[..8])
        .arg(&record)
        .output()
        .expect("compare");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        md.contains("| stage | line |") && md.contains("no-cache"),
        "{md}"
    );
}

#[test]
fn miss_reasons_history_and_compare_with_buildkit() {
    let state = tempfile::tempdir().expect("tmp");
    history_of(state.path(), "buildkit");
}

#[test]
fn miss_reasons_history_and_compare_with_the_classic_builder() {
    let state = tempfile::tempdir().expect("tmp");
    history_of(state.path(), "classic");
}

#[test]
fn compare_and_replay_refuse_what_is_not_there() {
    let state = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("tmp");
    let out = cmd(state.path())
        .args(["compare", "-C"])
        .arg(dir.path())
        .output()
        .expect("compare");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no recorded runs"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": 99}").expect("write");
    let out = cmd(state.path())
        .arg("replay")
        .arg(&bad)
        .output()
        .expect("replay");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format 99"), "{err}");
}
