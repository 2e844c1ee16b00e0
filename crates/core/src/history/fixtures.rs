//! Recorded runs made from a Dockerfile's text, for the tests of what reads records.

use crate::history::facts::step_facts;
use crate::history::record::{FORMAT, FileMark, Outcome, RunRecord, Timed};
use stagescope_dockerfile::{Dockerfile, GraphOptions};
use stagescope_plan::BuildEvent;
use stagescope_plan::plan::fixtures::plan_of;

/// A run of `text` with these build args and context files (path, digest), no events yet.
pub fn record(text: &str, args: &[(&str, &str)], files: &[(&str, &str)]) -> RunRecord {
    let df = Dockerfile::parse(text.as_bytes()).expect("parse");
    let opts = GraphOptions {
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..GraphOptions::default()
    };
    RunRecord {
        format: FORMAT,
        id: "run".into(),
        started_unix_ms: 0,
        context: "/ctx".into(),
        dockerfile: "/ctx/Dockerfile".into(),
        dockerfile_text: text.into(),
        target: None,
        build_args: opts.build_args.clone(),
        platform: None,
        no_cache: false,
        builder: None,
        engine: String::new(),
        plan: plan_of(text),
        steps: step_facts(&df, &opts),
        base_ids: vec![Some("sha256:aaa".into()), Some("sha256:aaa".into())],
        inputs: files
            .iter()
            .map(|(p, d)| {
                (
                    p.to_string(),
                    FileMark {
                        size: 1,
                        mtime_ns: 0,
                        digest: d.to_string(),
                    },
                )
            })
            .collect(),
        inputs_truncated: false,
        events: Vec::new(),
        log_bytes_dropped: 0,
        outcome: Outcome::Built,
        wall_ms: 0,
    }
}

/// `rec` after every instruction of the plan finished, cached or not.
pub fn finished(mut rec: RunRecord, cached: bool) -> RunRecord {
    for (s, st) in rec.plan.stages.clone().iter().enumerate() {
        for k in 0..st.instructions.len() {
            rec.events.push(Timed {
                at_ms: 0,
                event: BuildEvent::InstructionFinished {
                    stage: s,
                    instruction: k,
                    cached,
                    duration_ms: 5,
                },
            });
        }
    }
    rec
}
