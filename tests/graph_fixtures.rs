//! Black-box tests of `stagescope graph --format json` against hand-checked fixtures.
//!
//! * `tests/fixtures/graph/<name>/Dockerfile` + `expected.json` (+ optional `args.json`,
//!   `{"target": …, "platform": …, "build_args": {…}}`):
//!   the JSON printed on stdout, minus its "file" key, must match `expected.json`.
//!   Objects are compared on the keys `expected.json` names (the contract allows more
//!   keys); `edges` and `externals` are compared as sets (sorted before comparing),
//!   every other array in order.
//! * `tests/fixtures/errors/<name>/Dockerfile` + `expected.txt` (+ optional `args.json`):
//!   exit code 2 and exactly one line on stderr, `<path>:LINE:COL: message`. `expected.txt`
//!   is `LINE:COL phrase[ | phrase...]`; `*` for LINE or COL accepts any value (BuildKit
//!   locates most errors by line only, and some not at all), and the message must contain
//!   one of the phrases, ignoring case.
//!
//! Every fixture is checked before the test fails, so one failure never hides another.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `--target`, `--platform` and `--build-arg` from an optional `args.json`.
fn fixture_args(dir: &Path) -> Result<Vec<String>, String> {
    let path = dir.join("args.json");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut args = Vec::new();
    if let Some(target) = value.get("target").and_then(Value::as_str) {
        args.push("--target".to_string());
        args.push(target.to_string());
    }
    if let Some(platform) = value.get("platform").and_then(Value::as_str) {
        args.push("--platform".to_string());
        args.push(platform.to_string());
    }
    if let Some(map) = value.get("build_args").and_then(Value::as_object) {
        let sorted: BTreeMap<&String, &Value> = map.iter().collect();
        for (k, v) in sorted {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            args.push("--build-arg".to_string());
            args.push(format!("{k}={v}"));
        }
    }
    Ok(args)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the real binary with a timeout, so a hang fails one fixture instead of the suite.
fn run(args: &[String]) -> Result<Run, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagescope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1")
        .spawn()
        .map_err(|e| format!("cannot start stagescope: {e}"))?;
    let mut out = child.stdout.take().ok_or("no stdout pipe")?;
    let mut err = child.stderr.take().ok_or("no stderr pipe")?;
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "timed out after {TIMEOUT:?}: stagescope {}",
                    args.join(" ")
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn graph_args(file: &Path, extra: &[String]) -> Vec<String> {
    let mut args = vec![
        "graph".to_string(),
        "--format".to_string(),
        "json".to_string(),
        "-f".to_string(),
        file.display().to_string(),
    ];
    args.extend_from_slice(extra);
    args
}

/// Sorts `edges` and `externals` so that their order is not part of the contract.
fn canonicalize(value: &mut Value) {
    let sort = |arr: &mut Vec<Value>, keys: &[&str]| {
        arr.sort_by_key(|item| {
            keys.iter()
                .map(|k| match item.get(*k) {
                    Some(Value::Number(n)) => format!("{:>12}", n),
                    Some(other) => other.to_string(),
                    None => String::new(),
                })
                .collect::<Vec<_>>()
        });
    };
    if let Some(Value::Array(edges)) = value.get_mut("edges") {
        sort(edges, &["line", "from", "to", "via"]);
    }
    if let Some(Value::Array(externals)) = value.get_mut("externals") {
        sort(externals, &["line", "to", "image", "via"]);
    }
}

/// Records every difference between `expected` and `actual` under `path`.
fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match a.get(key) {
                    Some(av) => diff(&sub, ev, av, out),
                    None => out.push(format!("{sub}: missing (expected {ev})")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                diff(&format!("{path}[{i}]"), ev, av, out);
            }
            for (i, ev) in e.iter().enumerate().skip(a.len()) {
                out.push(format!("{path}[{i}]: missing, expected {ev}"));
            }
            for (i, av) in a.iter().enumerate().skip(e.len()) {
                out.push(format!("{path}[{i}]: unexpected {av}"));
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        _ if expected == actual => {}
        _ => out.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn check_graph_fixture(dir: &Path, file_arg: &Path) -> Result<(), String> {
    let expected_path = dir.join("expected.json");
    let expected_text = fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e}", expected_path.display()))?;
    let mut expected: Value = serde_json::from_str(&expected_text)
        .map_err(|e| format!("{}: invalid JSON: {e}", expected_path.display()))?;
    let args = graph_args(file_arg, &fixture_args(dir)?);
    let run = run(&args)?;
    if run.code != Some(0) {
        return Err(format!(
            "exit code {:?} (expected 0)\n    stderr: {}",
            run.code,
            run.stderr.trim()
        ));
    }
    let mut actual: Value = serde_json::from_str(&run.stdout)
        .map_err(|e| format!("stdout is not JSON ({e}):\n{}", indent(&run.stdout)))?;
    if let Value::Object(map) = &mut actual {
        map.remove("file");
    }
    canonicalize(&mut expected);
    canonicalize(&mut actual);
    let mut diffs = Vec::new();
    diff("", &expected, &actual, &mut diffs);
    if diffs.is_empty() {
        return Ok(());
    }
    let pretty = serde_json::to_string_pretty(&actual).unwrap_or_default();
    Err(format!(
        "{} difference(s):\n{}\n    got:\n{}",
        diffs.len(),
        diffs
            .iter()
            .map(|d| format!("    - {d}"))
            .collect::<Vec<_>>()
            .join("\n"),
        indent(&pretty)
    ))
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn report(kind: &str, total: usize, failures: &[(String, String)]) {
    if failures.is_empty() {
        return;
    }
    let mut msg = format!("{} of {total} {kind} fixture(s) failed:\n", failures.len());
    for (name, why) in failures {
        msg.push_str(&format!("\n[{name}] {why}\n"));
    }
    msg.push_str(&format!(
        "\nfailed: {}\n",
        failures
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    panic!("{msg}");
}

#[test]
fn graph_fixtures_match_expected_json() {
    let dirs = fixtures("graph");
    assert!(
        dirs.len() >= 28,
        "expected at least 28 graph fixtures, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        let file = dir.join("Dockerfile");
        if let Err(why) = check_graph_fixture(dir, &file) {
            failures.push((name_of(dir), why));
        }
    }
    report("graph", dirs.len(), &failures);
}

/// `-f DIR` reads `DIR/Dockerfile`: the same graph as naming the file.
#[test]
fn graph_accepts_a_directory() {
    let dirs = fixtures("graph");
    let mut failures = Vec::new();
    for name in ["go-basic", "mount-from"] {
        let dir = dirs
            .iter()
            .find(|d| name_of(d) == name)
            .expect("fixture exists");
        if let Err(why) = check_graph_fixture(dir, dir) {
            failures.push((name.to_string(), why));
        }
    }
    report("directory-argument", 2, &failures);
}

struct ExpectedError {
    line: Option<u32>,
    col: Option<u32>,
    phrases: Vec<String>,
}

fn parse_expected_error(dir: &Path) -> Result<ExpectedError, String> {
    let path = dir.join("expected.txt");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = text.trim();
    let (pos, phrase) = text
        .split_once(' ')
        .ok_or_else(|| format!("{}: expected `LINE:COL phrase`", path.display()))?;
    let (l, c) = pos
        .split_once(':')
        .ok_or_else(|| format!("{}: bad position {pos:?}", path.display()))?;
    let num = |v: &str| -> Result<Option<u32>, String> {
        if v == "*" {
            return Ok(None);
        }
        v.parse()
            .map(Some)
            .map_err(|_| format!("{}: bad position {pos:?}", path.display()))
    };
    let (line, col) = (num(l)?, num(c)?);
    let phrases = phrase
        .split(" | ")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    Ok(ExpectedError { line, col, phrases })
}

/// Exit code 2, one line on stderr, no panic; returns that line.
fn single_error_line(run: &Run) -> Result<String, String> {
    if run.code != Some(2) {
        return Err(format!(
            "exit code {:?} (expected 2)\n    stdout: {}\n    stderr: {}",
            run.code,
            run.stdout.trim(),
            run.stderr.trim()
        ));
    }
    if run.stderr.contains("panicked") || run.stderr.contains("RUST_BACKTRACE") {
        return Err(format!("panicked:\n{}", indent(&run.stderr)));
    }
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() != 1 {
        return Err(format!(
            "expected one line on stderr, got {}:\n{}",
            lines.len(),
            indent(&run.stderr)
        ));
    }
    Ok(lines[0].to_string())
}

fn check_error_fixture(dir: &Path) -> Result<(), String> {
    let expected = parse_expected_error(dir)?;
    let file = dir.join("Dockerfile");
    let run = run(&graph_args(&file, &fixture_args(dir)?))?;
    let line = single_error_line(&run)?;
    let prefix = format!("{}:", file.display());
    let rest = line
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("stderr does not start with {prefix:?}: {line}"))?;
    let mut parts = rest.splitn(3, ':');
    let (l, c, message) = (parts.next(), parts.next(), parts.next());
    let (l, c, message) = match (l, c, message) {
        (Some(l), Some(c), Some(m)) => (l, c, m.trim()),
        _ => return Err(format!("stderr is not `PATH:LINE:COL: message`: {line}")),
    };
    let (l, c): (u32, u32) = match (l.parse(), c.parse()) {
        (Ok(l), Ok(c)) => (l, c),
        _ => return Err(format!("LINE:COL is not numeric in: {line}")),
    };
    let mut problems = Vec::new();
    if expected.line.is_some_and(|el| el != l) || expected.col.is_some_and(|ec| ec != c) {
        let show = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        problems.push(format!(
            "position {l}:{c}, expected {}:{}",
            show(expected.line),
            show(expected.col)
        ));
    }
    let lower = message.to_lowercase();
    if !expected
        .phrases
        .iter()
        .any(|p| lower.contains(&p.to_lowercase()))
    {
        problems.push(format!("message lacks {:?}", expected.phrases));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n    stderr: {line}", problems.join("; ")))
    }
}

#[test]
fn error_fixtures_are_rejected_with_one_located_line() {
    let dirs = fixtures("errors");
    assert!(
        dirs.len() >= 10,
        "expected at least 10 error fixtures, found {}",
        dirs.len()
    );
    let mut failures = Vec::new();
    for dir in &dirs {
        if let Err(why) = check_error_fixture(dir) {
            failures.push((name_of(dir), why));
        }
    }
    report("error", dirs.len(), &failures);
}

#[test]
fn missing_file_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("no-such-dir").join("Dockerfile");
    let run = run(&graph_args(&missing, &[])).expect("stagescope runs");
    let line = single_error_line(&run).unwrap_or_else(|why| panic!("{why}"));
    assert!(
        line.contains(&missing.display().to_string()),
        "the error should name {}: {line}",
        missing.display()
    );
}

#[test]
fn directory_without_dockerfile_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("README.md"), "no Dockerfile here\n").expect("write");
    let run = run(&graph_args(tmp.path(), &[])).expect("stagescope runs");
    let line = single_error_line(&run).unwrap_or_else(|why| panic!("{why}"));
    assert!(
        line.contains(&tmp.path().display().to_string()),
        "the error should name {}: {line}",
        tmp.path().display()
    );
}
