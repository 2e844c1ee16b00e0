//! `stagescope check` through the real binary: output lines, JSON shape and exit codes for
//! the fixtures in `tests/fixtures/check/` (expected details written from BuildKit's
//! `linter/ruleset.go` formats). No Docker needed.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/check")
        .join(name)
}

fn check(name: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stagescope"))
        .arg("check")
        .arg(fixture(name))
        .args(extra)
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

/// `LINE: Rule: detail` of each text line, the path left out.
fn lines(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .map(|l| {
            l.split_once("Dockerfile:")
                .map_or(l, |(_, r)| r)
                .to_string()
        })
        .collect()
}

#[test]
fn text_output_in_line_order() {
    let o = check("casing", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        lines(&o),
        [
            "2: StageNameCasing: Stage name 'Build' should be lowercase",
            "3: ConsistentInstructionCasing: Command 'copy' should match the case of the command majority (uppercase)",
            "6: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label",
            "7: WorkdirRelativePath: Relative workdir \"app\" can have unexpected results if the base image changes",
            "8: LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
            "8: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"key\")",
            "10: ExposeProtoCasing: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
        ]
    );
}

#[test]
fn json_shape() {
    let o = check("casing", &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert!(
        v["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("Dockerfile"))
    );
    let w = &v["warnings"][0];
    assert_eq!(w["rule"], "StageNameCasing");
    assert_eq!(w["line"], 2);
    assert_eq!(w["detail"], "Stage name 'Build' should be lowercase");
    assert_eq!(w["level"], "warning");
    assert_eq!(
        w["url"],
        "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/"
    );
    assert!(v.get("error").is_none());
}

#[test]
fn error_true_exits_1() {
    let o = check("error_true", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        lines(&o),
        ["2: FromAsCasing: 'as' and 'FROM' keywords' casing do not match"]
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("lint violation found for rules: FromAsCasing")
    );
    let v = json(&check("error_true", &["--format", "json"]));
    assert_eq!(v["warnings"][0]["level"], "error");
}

#[test]
fn build_arg_overrides_directive() {
    let o = check(
        "error_true",
        &["--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    let o = check(
        "casing",
        &[
            "--build-arg",
            "BUILDKIT_DOCKERFILE_CHECK=skip=StageNameCasing,ExposeProtoCasing;error=true",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let l = lines(&o);
    assert!(
        l.iter().any(|l| l.contains("CMD to prevent")),
        "the directive's skip no longer holds: {l:?}"
    );
    assert!(
        !l.iter()
            .any(|l| l.contains("StageNameCasing") || l.contains("ExposeProtoCasing"))
    );
}

#[test]
fn dockerfile_error_keeps_earlier_warnings() {
    let o = check("parse_error", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        lines(&o),
        [
            "2: StageNameCasing: Stage name 'BadStageName' should be lowercase",
            "3: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label",
        ]
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains(":4:1: unknown instruction: BADCMD"));
    let v = json(&check("parse_error", &["--format", "json"]));
    assert_eq!(v["error"]["line"], 4);
    assert_eq!(v["error"]["message"], "unknown instruction: BADCMD");
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(2));
}

#[test]
fn bad_check_config_exits_2() {
    let o = check("bad_config", &["--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(
        v["error"]["message"],
        "failed to parse check options: invalid check option \"oops\""
    );
}

#[test]
fn copy_ignored_file_from_dockerignore() {
    let o = check("ignored", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        lines(&o),
        [
            "2: CopyIgnoredFile: Attempting to Copy file \"secret.txt\" that is excluded by .dockerignore",
            "2: CopyIgnoredFile: Attempting to Copy file \"build/out\" that is excluded by .dockerignore",
        ]
    );
}

#[test]
fn clean_dockerfile_prints_nothing() {
    let o = check("clean", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
}

#[test]
fn quoted_url_and_variable_checksum_are_read_as_buildkit_expands_them() {
    // supabase/postgres's `ADD --checksum=${…} "https://…" …`: clean once expanded.
    let o = check("add-checksum-quoted-url", &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout(&o), "");
}
