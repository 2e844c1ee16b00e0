//! BuildKit's own build records on today's Docker, made by `docker buildx build` as people
//! make them: `builds`, `builds show` (lines placed by the source map, misses explained
//! against the earlier record), `compare` of two records, a failed build, `attach` to a
//! build still running, and the one-line refusal of Docker 20.10, whose BuildKit keeps none.

mod common;

use std::process::Command;
use std::sync::Mutex;

use common::buildx::{
    Tag, buildx, instruction_at, modern_engine, records_with, running, show, stagescope,
};
use common::nonce;
use common::{Project, parse_ndjson};

/// `attach` without a ref follows the newest running build: one build at a time here.
static SERIAL: Mutex<()> = Mutex::new(());

const TWO_STAGES: &str = "FROM busybox AS deps
ARG NONCE
RUN echo \"deps $NONCE\" > /deps

FROM busybox
ARG NONCE
ARG GREETING=hi
COPY --from=deps /deps /deps
RUN echo \"$GREETING $NONCE\" > /greeting
";

#[test]
fn buildx_builds_are_listed_shown_by_line_and_compared() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = modern_engine() else { return };
    let n = nonce();
    let p = Project::new(TWO_STAGES);
    let arg = format!("NONCE={n}");
    // Tagged, as people build: the record names the image.
    let tag = Tag {
        host: &host,
        name: format!("stagescope-test/buildx-{n}:1"),
    };
    let first = buildx(&host, p.path(), &["--build-arg", &arg, "-t", &tag.name]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = buildx(
        &host,
        p.path(),
        &["--build-arg", &arg, "--build-arg", "GREETING=hej"],
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let recs = records_with(&host, "NONCE", &n);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let (newer, older) = (&recs[0], &recs[1]);
    for r in [newer, older] {
        assert_eq!(r["status"], "completed", "{r}");
        assert!(r["steps"].as_u64().is_some_and(|s| s > 0), "{r}");
        assert!(r["duration_ms"].as_u64().is_some(), "{r}");
        assert!(r["created"].is_string(), "{r}");
        assert_eq!(r["dockerfile"], "Dockerfile");
    }
    assert!(newer["cached_steps"].as_u64() > older["cached_steps"].as_u64());
    // A Docker engine's record names no image, but its result is the image's id.
    let id = Command::new("docker")
        .args(["inspect", "--format", "{{.Id}}", &tag.name])
        .env("DOCKER_HOST", &host)
        .output()
        .expect("docker inspect");
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert_eq!(older["result_digest"], id.as_str(), "{older}");

    // The first build ran everything.
    let a = show(&host, older["ref"].as_str().expect("ref"));
    let run = instruction_at(&a, "deps", 3);
    assert_eq!(run["cached"], false, "{run}");
    assert_eq!(run["status"], "ran");
    assert!(
        run["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("RUN echo"))
    );
    assert!(run["duration_ms"].as_u64().is_some());
    // The second: the deps stage from the cache, the RUN that reads GREETING ran again, and
    // why, from the first record.
    let b = show(&host, newer["ref"].as_str().expect("ref"));
    assert_eq!(instruction_at(&b, "deps", 3)["cached"], true, "{b}");
    assert_eq!(instruction_at(&b, "1", 8)["cached"], true, "{b}");
    let greeting = instruction_at(&b, "1", 9);
    assert_eq!(greeting["cached"], false, "{greeting}");
    assert_eq!(greeting["miss"]["reason"], "arg-changed", "{greeting}");
    assert!(
        greeting["miss"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("GREETING")),
        "{greeting}"
    );

    // A prefix of the ref is enough; the text report names the lines too.
    let r = newer["ref"].as_str().expect("ref");
    let text = stagescope(&host, &["builds", "show", &r[..10]]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("stage deps") && text.contains("arg-changed"),
        "{text}"
    );

    // Two records compared as two runs are.
    let cmp = stagescope(
        &host,
        &[
            "compare",
            older["ref"].as_str().expect("ref"),
            newer["ref"].as_str().expect("ref"),
        ],
    );
    let cmp_text = String::from_utf8_lossy(&cmp.stdout);
    assert!(
        cmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cmp.stderr)
    );
    assert!(cmp_text.contains("arg-changed"), "{cmp_text}");
}

#[test]
fn a_failed_buildx_build_shows_the_line_that_failed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = modern_engine() else { return };
    let n = nonce();
    let p = Project::new(
        "FROM busybox AS broken\nARG NONCE\nRUN echo \"$NONCE\" && \\\n    exit 3\nRUN echo never\n",
    );
    let arg = format!("NONCE={n}");
    let out = buildx(&host, p.path(), &["--build-arg", &arg]);
    assert!(!out.status.success());
    let recs = records_with(&host, "NONCE", &n);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["status"], "failed");
    let s = show(&host, recs[0]["ref"].as_str().expect("ref"));
    assert_eq!(s["failure"]["line"], 3, "{s}");
    assert_eq!(s["failure"]["exit_code"], 3, "{s}");
    assert_eq!(instruction_at(&s, "broken", 3)["status"], "failed");
    assert_eq!(instruction_at(&s, "broken", 5)["status"], "not run");
}

#[test]
fn attach_follows_a_running_buildx_build_to_its_end() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = modern_engine() else { return };
    let n = nonce();
    let p = Project::new(
        "FROM busybox\nARG NONCE\nRUN echo \"$NONCE\" && sleep 4 && echo slept\nRUN echo after\n",
    );
    let mut build = running(&host, p.path(), &n);
    // No ref: the newest running build, this one. The Dockerfile is the one in -C.
    let dir = p.path().to_str().expect("utf-8 path");
    let out = stagescope(&host, &["attach", "--progress", "json", "-C", dir]);
    let built = build.wait().expect("buildx");
    assert!(built.success());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = parse_ndjson(&out.stdout);
    let finished: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "instruction_finished")
        .filter_map(|e| e["line"].as_u64())
        .collect();
    assert!(finished.contains(&3) && finished.contains(&4), "{events:?}");
    assert!(
        events.iter().any(|e| e["event"] == "build_finished"),
        "attach ends with the build: {events:?}"
    );
    let log: String = events
        .iter()
        .filter(|e| e["event"] == "log")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(log.contains("slept"), "{log}");
    // Nothing is left running to attach to.
    let again = stagescope(&host, &["attach", "--progress", "plain"]);
    assert_eq!(again.status.code(), Some(1));
}

/// The machine's engine when it is Docker 20.10 (whose BuildKit 0.8 keeps no history).
fn docker_20_10() -> Option<String> {
    let host = std::env::var("STAGESCOPE_MACHINE_HOST")
        .unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string());
    let v = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .env("DOCKER_HOST", &host)
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&v.stdout).trim().to_string();
    if !v.starts_with("20.10") {
        eprintln!("note: the machine's engine is {v:?}, not 20.10; skipping");
        return None;
    }
    Some(host)
}

#[test]
fn docker_20_10_says_in_one_line_that_it_keeps_no_history() {
    let Some(host) = docker_20_10() else { return };
    for args in [
        &["builds"][..],
        &["builds", "show", "x"],
        &["attach", "--progress", "plain"],
    ] {
        let out = stagescope(&host, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("keeps no build history"), "{err}");
    }
}
