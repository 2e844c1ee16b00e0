//! `stagescope explain --format json` on the lessons of `assets/lessons/`, against the real
//! daemon with BuildKit and with the classic builder: the numbers must be the real images'
//! (a file `dd` wrote with a known size appears with that size, on the instruction that
//! wrote it), what reaches the final image through which `COPY --from` line, what stays
//! behind, and the exit code. `explain` removes the images of its build; each test checks
//! that nothing of its build id is left (and removes it if something is).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, Cleanup, Project, leftover_images};
use serde_json::Value;

fn lesson(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/lessons")
        .join(name)
}

/// Runs `explain DIR [-f DIR/FILE] --builder B --format json`; the JSON, after checking
/// the exit code and that the build left no image behind.
fn explain(dir: &str, file: Option<&str>, builder: &str) -> Value {
    explain_in(&lesson(dir), file, builder, dir)
}

/// [`explain`] of the context `ctx`; `dir` names it in failures.
fn explain_in(ctx: &Path, file: Option<&str>, builder: &str, dir: &str) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.arg("explain").arg(ctx);
    if let Some(f) = file {
        cmd.arg("-f").arg(ctx.join(f));
    }
    let out = cmd
        .args(["--builder", builder, "--format", "json"])
        .output()
        .expect("run stagescope explain");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{dir} {builder}: {err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{dir} {builder}: not JSON ({e}): {err}"));
    let id = v["build_id"].as_str().expect("build_id").to_string();
    let mut cleanup = Cleanup::new();
    cleanup.build_ids.push(id.clone());
    assert_eq!(
        leftover_images(&id),
        Vec::<String>::new(),
        "{dir} {builder}"
    );
    v
}

fn stage<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}: {v:#}"))
}

fn instruction<'a>(st: &'a Value, text_has: &str) -> &'a Value {
    st["instructions"]
        .as_array()
        .expect("instructions")
        .iter()
        .find(|i| i["text"].as_str().is_some_and(|t| t.contains(text_has)))
        .unwrap_or_else(|| panic!("no instruction with {text_has:?}: {st:#}"))
}

fn via_line(reach: &Value, line: u64) -> (u64, u64) {
    let c = reach["via"]
        .as_array()
        .expect("via")
        .iter()
        .find(|c| c["line"] == line)
        .unwrap_or_else(|| panic!("no COPY on line {line}: {reach:#}"));
    (
        c["files"].as_u64().expect("files"),
        c["bytes"].as_u64().expect("bytes"),
    )
}

const BLOB: u64 = 512 * 1024;

fn leaky_release(builder: &str) {
    let v = explain("leaky-release", None, builder);
    let b = stage(&v, "builder");
    let dd = instruction(b, "of=/root/.cache/pkg/blob");
    assert_eq!(dd["effect"], "layer");
    assert_eq!(
        (dd["added"].as_u64(), dd["bytes"].as_u64()),
        (Some(1), Some(BLOB)),
        "{dd:#}"
    );
    assert_eq!(dd["largest"][0]["path"], "/root/.cache/pkg/blob");
    assert!(dd["layer"].is_u64(), "{dd:#}");
    assert!(
        dd["explanation"]
            .as_str()
            .expect("in the JSON")
            .contains("makes a new layer")
    );
    let env = instruction(b, "API_TOKEN");
    assert_eq!(env["largest"][0]["path"], "/src/.env", "{env:#}");
    assert_eq!(
        env["bytes"].as_u64(),
        Some(27),
        "`API_TOKEN=not-a-real-token\\n`"
    );
    let cmd = instruction(stage(&v, "release"), "CMD");
    assert_eq!(
        (cmd["effect"].as_str(), cmd["layer"].as_u64()),
        (Some("metadata"), None)
    );
    assert!(
        b["bytes"].as_u64().expect("in the JSON") > BLOB
            && b["files"].as_u64().expect("in the JSON") > 5
    );

    // Everything the builder made rides along: the sources, the .env and the cache.
    let reach = &b["reaches_final"];
    assert_eq!(via_line(reach, 13), (4, 147 + 94 + 27 + 25), "{reach:#}");
    assert_eq!(via_line(reach, 14), (1, BLOB), "{reach:#}");
    assert_eq!(reach["left_files"], 0, "{reach:#}");

    // The fixed release copies the artifact alone; the rest stays behind.
    let v = explain("leaky-release", Some("Dockerfile.fixed"), builder);
    let b = stage(&v, "builder");
    let reach = &b["reaches_final"];
    assert_eq!(
        (reach["files"].as_u64(), reach["bytes"].as_u64()),
        (Some(1), Some(25))
    );
    assert_eq!(via_line(reach, 12), (1, 25));
    assert_eq!(reach["left_files"], 4, "{reach:#}");
    assert_eq!(reach["left_largest"][0]["path"], "/root/.cache/pkg/blob");
    assert_eq!(reach["left_largest"][0]["bytes"].as_u64(), Some(BLOB));
    let release = stage(&v, "release");
    assert!(release["target"].as_bool().expect("in the JSON"));
    assert!(
        release["bytes"].as_u64().expect("in the JSON") + BLOB
            <= b["bytes"].as_u64().expect("in the JSON")
    );
}

#[test]
fn leaky_release_with_buildkit() {
    require_docker!();
    leaky_release("buildkit");
}

#[test]
fn leaky_release_with_the_classic_builder() {
    require_docker!();
    leaky_release("classic");
}

const TOOLCHAIN: u64 = 3 * 1024 * 1024;

fn single_vs_multi(builder: &str) {
    let multi = explain("single-vs-multi", None, builder);
    let single = explain("single-vs-multi", Some("Dockerfile.single"), builder);
    let cc1 = instruction(stage(&single, "0"), "of=/opt/toolchain/cc1");
    assert_eq!(cc1["bytes"].as_u64(), Some(TOOLCHAIN), "{cc1:#}");
    let obj = instruction(stage(&multi, "build"), "build.sh");
    assert_eq!(obj["added"].as_u64(), Some(2), "hello.o and hello: {obj:#}");
    assert_eq!(obj["largest"][0]["path"], "/src/out/hello.o");
    assert_eq!(obj["largest"][0]["bytes"].as_u64(), Some(256 * 1024));
    let single_bytes = stage(&single, "0")["bytes"].as_u64().expect("in the JSON");
    let multi_bytes = stage(&multi, "release")["bytes"]
        .as_u64()
        .expect("in the JSON");
    assert!(
        single_bytes >= multi_bytes + TOOLCHAIN + 256 * 1024,
        "single {single_bytes}, multi {multi_bytes}"
    );
    let reach = &stage(&multi, "build")["reaches_final"];
    assert_eq!(reach["files"], 1, "{reach:#}");
    assert!(
        reach["left_bytes"].as_u64().expect("in the JSON") >= TOOLCHAIN,
        "{reach:#}"
    );
    assert!(stage(&single, "0")["reaches_final"].is_null());
}

#[test]
fn single_vs_multi_with_buildkit() {
    require_docker!();
    single_vs_multi("buildkit");
}

#[test]
fn single_vs_multi_with_the_classic_builder() {
    require_docker!();
    single_vs_multi("classic");
}

fn parallel(builder: &str) {
    let v = explain("parallel", None, builder);
    assert_eq!(v["stages"].as_array().expect("in the JSON").len(), 5);
    let path = v["critical_path"].as_array().expect("critical_path");
    assert_eq!(
        path.last().and_then(Value::as_str),
        Some("release"),
        "{v:#}"
    );
    assert_eq!(via_line(&stage(&v, "build")["reaches_final"], 18), (1, 4));
    assert_eq!(via_line(&stage(&v, "assets")["reaches_final"], 19), (1, 7));
    let b = instruction(stage(&v, "fetch-b"), "sleep 5");
    assert_eq!(
        (b["added"].as_u64(), b["bytes"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        b["cached"].is_boolean() && b["duration_ms"].is_u64(),
        "{b:#}"
    );
}

#[test]
fn parallel_with_buildkit() {
    require_docker!();
    parallel("buildkit");
}

#[test]
fn parallel_with_the_classic_builder() {
    require_docker!();
    parallel("classic");
}

#[test]
fn a_missing_context_is_one_line_and_exit_2() {
    let out = Command::new(BIN)
        .args(["explain", "/nonexistent/ctx", "--format", "json"])
        .output()
        .expect("run stagescope explain");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_failing_build_is_one_line_and_exit_1_with_nothing_left() {
    require_docker!();
    let p = common::Project::new(&format!(
        "FROM busybox\nRUN echo {} && exit 3\n",
        common::nonce()
    ));
    let out = Command::new(BIN)
        .arg("explain")
        .arg(p.path())
        .args(["--format", "json"])
        .output()
        .expect("run stagescope explain");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("the build failed"), "{err}");
    assert!(out.stdout.is_empty());
    let id = err
        .trim_end()
        .strip_suffix(')')
        .and_then(|e| e.rsplit(' ').next())
        .expect("build id in the message");
    let mut cleanup = Cleanup::new();
    cleanup.build_ids.push(id.to_string());
    assert_eq!(leftover_images(id), Vec::<String>::new(), "{err}");
}

/// A RUN that deletes a file an earlier RUN made: the file's bytes stay in the image, and
/// `explain` quotes that RUN's waste to the byte; the RUNs that hid nothing say nothing.
fn deleting_what_an_earlier_run_made(builder: &str) {
    let project = Project::new(
        "FROM busybox AS app\n\
         RUN head -c 300000 /dev/zero > /big && head -c 1234 /dev/zero > /small\n\
         RUN rm /big\n\
         RUN echo done > /note\n",
    );
    let v = explain_in(project.path(), None, builder, "a RUN deleting");
    let app = stage(&v, "app");
    let rm = instruction(app, "rm /big");
    let w = &rm["waste"];
    assert_eq!(
        (
            w["bytes"].as_u64(),
            w["files"].as_u64(),
            w["deleted"].as_u64(),
            w["overwritten"].as_u64()
        ),
        (Some(300_000), Some(1), Some(1), Some(0)),
        "{rm:#}"
    );
    assert_eq!(w["largest"][0]["path"], "/big", "{rm:#}");
    let said = rm["wasted"].as_str().expect("the sentence");
    assert!(
        said.starts_with(
            "This RUN deleted 293.0K (300000 bytes) that earlier layers of this image still carry (1 file; largest /big, 293.0K)"
        ),
        "{said}"
    );
    for quiet in ["head -c 300000", "echo done"] {
        let i = instruction(app, quiet);
        assert!(
            i.get("waste").is_none() && i.get("wasted").is_none(),
            "{quiet}: {i:#}"
        );
    }
}

#[test]
fn the_waste_of_a_run_with_buildkit() {
    require_docker!();
    deleting_what_an_earlier_run_made("buildkit");
}

#[test]
fn the_waste_of_a_run_with_the_classic_builder() {
    require_docker!();
    deleting_what_an_earlier_run_made("classic");
}
