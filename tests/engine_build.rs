//! Builds through the real binary against the real daemon, with both builders: every
//! stage's image opens, a second run is cached, a failure names its step and leaves its
//! pre-failure state openable, build args reach RUN, plain progress reads right.

mod common;

use common::{Cleanup, Project, build_json, build_plain, cat_in_image, exported_has, nonce};

const BUILDERS: [&str; 2] = ["buildkit", "classic"];

fn three_stages(n: &str) -> String {
    format!(
        "FROM busybox AS left\n\
         RUN echo left-{n} > /left.txt\n\
         \n\
         FROM busybox AS right\n\
         RUN echo right-{n} > /right.txt\n\
         \n\
         FROM busybox AS final\n\
         COPY --from=left /left.txt /left.txt\n\
         COPY --from=right /right.txt /right.txt\n\
         RUN cat /left.txt /right.txt > /both.txt\n"
    )
}

#[test]
fn three_stages_build_open_and_cache_with_both_builders() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&three_stages(&n));
        let tag = cleanup.tag("three");
        let args = ["--builder", builder, "-t", tag.as_str()];
        let run = build_json(project.path(), &args, &mut cleanup);
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        let summary = run.summary();
        assert_eq!(summary["ok"], true, "{builder}: {}", run.describe());
        let started = run.of("build_started");
        assert_eq!(started[0]["builder"], builder);

        // Every needed stage opens and holds what the stage made. The classic builder made
        // an image of each on its way; BuildKit exports the target only, as buildx does, and
        // another stage's image is made when something opens it.
        for (stage, file, want) in [
            ("left", "/left.txt", format!("left-{n}")),
            ("right", "/right.txt", format!("right-{n}")),
        ] {
            match run.stage(stage)["image"].as_str() {
                Some(image) => assert_eq!(cat_in_image(image, file), want, "{builder} {stage}"),
                None => {
                    assert_eq!(builder, "buildkit", "classic made every stage's image");
                    let tree = std::process::Command::new(common::BIN)
                        .args(["tree", "--stage", stage, "--json"])
                        .arg(project.path())
                        .output()
                        .expect("tree");
                    let listed = String::from_utf8_lossy(&tree.stdout);
                    let name = file.trim_start_matches('/');
                    assert!(
                        listed.contains(&format!("\"path\":\"{name}\"")),
                        "{builder} {stage}: {listed}"
                    );
                }
            }
        }
        let final_image = run.stage("final")["image"]
            .as_str()
            .expect("final image")
            .to_string();
        assert_eq!(summary["image"], final_image.as_str());
        assert!(exported_has(&final_image, "/both.txt"), "{builder}");
        assert_eq!(
            cat_in_image(&final_image, "/both.txt"),
            format!("left-{n}\nright-{n}")
        );
        // `-t` names the target's image.
        let tagged = common::docker_ok(&["image", "inspect", "-f", "{{.Id}}", &tag]);
        assert_eq!(tagged, final_image, "{builder}: -t tags the final image");

        // Nothing was cached the first time (the nonce is new) ...
        for stage in ["left", "right"] {
            let ins = &run.stage(stage)["instructions"][1];
            assert_eq!(ins["cached"], false, "{builder} {stage} first run");
        }
        // ... and everything the second time.
        let again = build_json(project.path(), &args, &mut cleanup);
        assert_eq!(again.code, Some(0), "{builder}: {}", again.describe());
        for stage in ["left", "right", "final"] {
            let s = again.stage(stage);
            assert!(
                s["cached_count"].as_u64().unwrap_or(0) > 0,
                "{builder} {stage} second run: {}",
                again.describe()
            );
        }
        let runs: Vec<_> = again
            .of("instruction_finished")
            .into_iter()
            .filter(|e| {
                let (Some(stage), Some(k)) = (e["stage"].as_str(), e["instruction"].as_u64())
                else {
                    return false;
                };
                matches!((stage, k), ("left", 1) | ("right", 1) | ("final", 3))
            })
            .collect();
        assert_eq!(runs.len(), 3, "{builder}: {}", again.describe());
        for e in runs {
            assert_eq!(e["cached"], true, "{builder}: RUN line not cached: {e}");
        }
    }
}

#[test]
fn failing_run_names_its_step_and_keeps_the_state_before() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&format!(
            "FROM busybox AS prep\n\
             RUN echo {n} > /ready.txt\n\
             \n\
             FROM prep AS broken\n\
             ENV X=1\n\
             RUN echo before-{n} > /before.txt\n\
             RUN echo about to fail && exit 7\n\
             RUN echo never\n"
        ));
        let run = build_json(project.path(), &["--builder", builder], &mut cleanup);
        assert_eq!(run.code, Some(1), "{builder}: {}", run.describe());
        let failed = run.of("build_failed");
        assert_eq!(failed.len(), 1, "{builder}: {}", run.describe());
        let f = failed[0];
        assert_eq!(f["stage"], "broken", "{builder}: {f}");
        assert_eq!(f["instruction"], 3, "{builder}: {f}");
        assert_eq!(f["line"], 7, "{builder}: {f}");
        assert_eq!(f["exit_code"], 7, "{builder}: {f}");
        assert!(f["message"].as_str().is_some_and(|m| !m.is_empty()));

        let summary = run.summary();
        assert_eq!(summary["ok"], false);
        assert_eq!(summary["failure"]["line"], 7, "{builder}");
        assert_eq!(summary["failure"]["exit_code"], 7, "{builder}");

        // The state right after `RUN echo before` opens and holds its file.
        let states: Vec<_> = run
            .of("state_image")
            .into_iter()
            .filter(|e| e["stage"] == "broken" && e["instruction"] == 2)
            .collect();
        let image = states
            .last()
            .and_then(|e| e["image"].as_str())
            .unwrap_or_else(|| panic!("{builder}: no state image: {}", run.describe()))
            .to_string();
        assert_eq!(
            summary["failure"]["state_image"],
            image.as_str(),
            "{builder}"
        );
        assert_eq!(cat_in_image(&image, "/before.txt"), format!("before-{n}"));
        assert_eq!(cat_in_image(&image, "/ready.txt"), n);
    }
}

#[test]
fn build_args_reach_run() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&format!(
            "FROM busybox\nARG MSG=unset\nRUN echo \"msg=$MSG {n}\"\n"
        ));
        let run = build_json(
            project.path(),
            &["--builder", builder, "--build-arg", "MSG=x-from-the-cli"],
            &mut cleanup,
        );
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        assert!(
            run.log_text().contains(&format!("msg=x-from-the-cli {n}")),
            "{builder}: {}",
            run.describe()
        );
        // A single-stage Dockerfile (no stage name in BuildKit's labels) still attributes
        // the log to its RUN.
        let logs = run.of("log");
        assert!(
            logs.iter().any(|l| l["instruction"] == 2 && l["line"] == 3),
            "{builder}: {}",
            run.describe()
        );
    }
}

#[test]
fn plain_progress_shows_cached_slowest_and_critical_path() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&format!(
            "FROM busybox AS base\nRUN echo {n} > /n && sleep 0.3\n\
             FROM base AS app\nRUN cat /n\n"
        ));
        let args = ["--builder", builder];
        let (code, text) = build_plain(project.path(), &args, &mut cleanup);
        assert_eq!(code, Some(0), "{builder}: {text}");
        assert!(text.contains("slowest instructions:"), "{builder}: {text}");
        assert!(
            text.contains(&format!("RUN echo {n} > /n && sleep 0.3")),
            "{builder}: {text}"
        );
        assert!(
            text.contains("critical path: base -> app"),
            "{builder}: {text}"
        );
        let (code, text) = build_plain(project.path(), &args, &mut cleanup);
        assert_eq!(code, Some(0), "{builder}: {text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("[base 2/2] RUN echo") && l.ends_with("CACHED")),
            "{builder}: {text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("[app 2/2] RUN cat /n") && l.ends_with("CACHED")),
            "{builder}: {text}"
        );
        assert!(text.contains("critical path:"), "{builder}: {text}");
    }
}

#[test]
fn plain_progress_keeps_a_hostile_log_off_the_terminal() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        // An OSC that retitles the terminal and a CSI that clears it, then text.
        let project = Project::new(&format!(
            "FROM busybox\nRUN echo {n} && printf '\\033]0;TITLE\\007\\033[2J hi\\n'\n"
        ));
        let (code, text) = build_plain(project.path(), &["--builder", builder], &mut cleanup);
        assert_eq!(code, Some(0), "{builder}: {text}");
        assert!(!text.contains('\x1b'), "{builder}: {text:?}");
        assert!(!text.contains('\x07'), "{builder}: {text:?}");
        assert!(text.contains(" hi\n"), "{builder}: {text}");
        // The log line is the text alone: indent, stream mark, " hi".
        assert!(text.lines().any(|l| l == "     hi"), "{builder}: {text}");
    }
}

/// `docker build -t app .` after a stagescope build is served from the same cache and tags
/// the same image; cleaning up stagescope's run must leave the user's tag and image alone.
#[test]
fn clean_keeps_an_image_the_user_tagged_too() {
    require_docker!();
    let mut cleanup = Cleanup::new();
    let project = Project::new(&three_stages(&nonce()));
    let run = build_json(project.path(), &["--builder", "buildkit"], &mut cleanup);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let image = run.summary()["image"].as_str().expect("image").to_string();
    let users = cleanup.tag("users-own");
    common::docker_ok(&["tag", &image, &users]);
    let id = run.build_id().expect("build id");
    common::runtime().block_on(async {
        let engine = common::engine().await;
        stagescope_core::engine_internals::clean::clean(&engine, Some(&id))
            .await
            .expect("clean");
    });
    let ours = common::docker_ok(&[
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        &format!("stagescope.local/{id}"),
    ]);
    assert_eq!(ours, "", "stagescope's own tags are gone");
    let still = common::docker_ok(&["image", "inspect", "-f", "{{.Id}}", &users]);
    assert_eq!(still, image, "the user's tag survives clean");
}

/// Runs of one context replace each other's tags, and a fully cached rebuild gives back the
/// same image ids (what marks a run is its tags, not a label in the image), as `docker build`
/// does: `docker images` never fills up with one set of tags per run.
#[test]
fn runs_of_one_context_keep_one_set_of_tags_and_the_same_ids() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let project = Project::new(&three_stages(&nonce()));
        let mut ids = Vec::new();
        let mut images = Vec::new();
        for _ in 0..3 {
            let run = build_json(project.path(), &["--builder", builder], &mut cleanup);
            assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
            ids.push(run.build_id().expect("build id"));
            images.push(run.summary()["image"].as_str().expect("image").to_string());
        }
        assert!(
            images.windows(2).all(|w| w[0] == w[1]),
            "{builder}: a cached rebuild made new images: {images:?}"
        );
        let tagged = |id: &str| {
            common::docker_ok(&[
                "images",
                "--format",
                "{{.Repository}}:{{.Tag}}",
                &format!("stagescope.local/{id}"),
            ])
        };
        // The earlier runs' tags are gone (the classic builder's cache keeps an untagged
        // stage image only where no later run tagged the same one).
        for id in &ids[..2] {
            assert_eq!(tagged(id), "", "{builder}: run {id} still has tags");
        }
        assert!(
            tagged(&ids[2]).contains(":final"),
            "{builder}: the last run's target is tagged"
        );
    }
}

#[test]
fn a_fully_cached_rebuild_reads_100_percent_cached_with_both_builders() {
    require_docker!();
    for builder in BUILDERS {
        let mut cleanup = Cleanup::new();
        let n = nonce();
        let project = Project::new(&format!(
            "ARG V=1\n\
             FROM busybox AS base\n\
             ARG V\n\
             ENV N={n}\n\
             WORKDIR /w\n\
             RUN echo $V-$N > v\n\
             FROM base AS app\n\
             LABEL x=y\n\
             COPY --from=base /w/v /v\n\
             CMD [\"cat\", \"/v\"]\n"
        ));
        let args = ["--builder", builder];
        let first = build_json(project.path(), &args, &mut cleanup);
        assert_eq!(first.code, Some(0), "{builder}: {}", first.describe());
        assert!(
            first.stage("base")["cached_percent"].as_u64() < Some(100),
            "{builder}: the RUN ran: {}",
            first.describe()
        );
        let again = build_json(project.path(), &args, &mut cleanup);
        assert_eq!(again.code, Some(0), "{builder}: {}", again.describe());
        for stage in ["base", "app"] {
            let s = again.stage(stage);
            let count = |k: &str| s[k].as_u64().unwrap_or(u64::MAX);
            assert_eq!(
                count("cached_count") + count("no_work_count"),
                count("instruction_count"),
                "{builder} {stage}: every instruction cached or with nothing to do: {s}"
            );
            assert_eq!(s["cached_percent"], 100, "{builder} {stage}: {s}");
            for ins in s["instructions"].as_array().expect("instructions") {
                assert!(
                    ins["cached"] == true || ins["no_work"] == true,
                    "{builder} {stage}: {ins}"
                );
            }
        }
        // The RUN and the COPY came from the cache, not from "no work".
        let base = again.stage("base");
        assert_eq!(base["instructions"][4]["cached"], true, "{builder}: {base}");
        assert_eq!(again.stage("app")["instructions"][2]["cached"], true);
        let (code, text) = build_plain(project.path(), &args, &mut cleanup);
        assert_eq!(code, Some(0), "{builder}: {text}");
        let line = |stage: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(stage) && l.contains(" cached"))
                .unwrap_or_else(|| panic!("{builder}: no summary line for {stage}: {text}"))
                .to_string()
        };
        for stage in ["base", "app"] {
            // `  base   0.0s  2/2 cached, 3 no work  abc…`: all that had work was cached.
            let l = line(stage);
            let counts = l
                .split_whitespace()
                .find(|w| w.contains('/'))
                .and_then(|w| w.split_once('/'))
                .unwrap_or_else(|| panic!("{builder}: {l}"));
            assert_eq!(counts.0, counts.1, "{builder}: {l}");
        }
    }
}
