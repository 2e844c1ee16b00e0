//! `builds` and `builds show`: the records BuildKit keeps, as text and JSON.

use serde_json::{Value, json};

use super::history::{timeline_text, when};
use super::progress::format_duration;
use super::sanitize;
use stagescope_core::builds::HistoryRecord;
use stagescope_core::history::RunRecord;
use stagescope_plan::state::{Failure, InstructionState, Status};
use stagescope_plan::text::one_line;
use stagescope_plan::{PlanInstruction, PlanStage};

/// gRPC's code for a cancelled call: a build stopped by its client.
const CANCELLED: i32 = 1;

/// `running`, `completed`, `failed` or `canceled`, as buildx words them (in lower case).
pub fn status(r: &HistoryRecord) -> &'static str {
    match (&r.error, r.active()) {
        (_, true) => "running",
        (None, false) => "completed",
        (Some(e), false) if e.code == CANCELLED => "canceled",
        (Some(_), false) => "failed",
    }
}

fn steps(r: &HistoryRecord) -> String {
    format!("{} ({} cached)", r.steps, r.cached_steps)
}

/// `builds`: newest first.
pub fn builds_text(recs: &[HistoryRecord]) -> String {
    let mut out = format!(
        "{:<26} {:<9} {:<19}  {:>7}  {:<14} {:<12} {}\n",
        "REF", "STATUS", "CREATED (UTC)", "TIME", "STEPS", "TARGET", "DOCKERFILE"
    );
    for r in recs {
        out.push_str(&format!(
            "{:<26} {:<9} {:<19}  {:>7}  {:<14} {:<12} {}\n",
            sanitize::name(&r.r#ref),
            status(r),
            r.created_ms.map_or_else(|| "-".into(), when),
            r.duration_ms().map_or_else(|| "-".into(), format_duration),
            steps(r),
            one_line(&sanitize::name(r.target().unwrap_or("-")), 12),
            sanitize::name(r.dockerfile_name().unwrap_or("-")),
        ));
    }
    out
}

fn record_json(r: &HistoryRecord) -> Value {
    json!({
        "ref": r.r#ref,
        "status": status(r),
        "created": r.created_ms.map(when),
        "created_unix_ms": r.created_ms,
        "completed_unix_ms": r.completed_ms,
        "duration_ms": r.duration_ms(),
        "steps": r.steps,
        "cached_steps": r.cached_steps,
        "completed_steps": r.completed_steps,
        "target": r.target(),
        "build_args": r.build_args(),
        "platform": r.attrs.get("platform"),
        "dockerfile": r.dockerfile_name(),
        "frontend": r.frontend,
        "images": r.image_names,
        "result_digest": r.result_digest,
        "error": r.error.as_ref().map(|e| e.message.clone()),
    })
}

pub fn builds_json(recs: &[HistoryRecord]) -> Value {
    Value::Array(recs.iter().map(record_json).collect())
}

/// An instruction's outcome in a word: an instruction that finished with nothing to do
/// (a FROM, an ARG) did not "run".
fn outcome(is: &InstructionState) -> &'static str {
    match is.status {
        Status::Done if is.no_work => "no work",
        s => status_word(s),
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Waiting => "not run",
        Status::Running => "running",
        Status::Done => "ran",
        Status::Cached => "cached",
        Status::Failed => "failed",
        Status::NotNeeded => "not needed",
    }
}

/// The stage and instruction a failure names, when it names one.
fn failed_at<'a>(run: &'a RunRecord, f: &Failure) -> Option<(&'a PlanStage, &'a PlanInstruction)> {
    let st = run.plan.stages.get(f.stage?)?;
    Some((st, st.instructions.get(f.instruction?)?))
}

/// `builds show REF`: the record as stagescope reports its own runs.
pub fn show_text(rec: &HistoryRecord, run: &RunRecord) -> String {
    let st = run.state();
    let mut out = format!(
        "build {}  {}  {} UTC  {}  {} steps, {} cached\n",
        sanitize::name(&rec.r#ref),
        status(rec),
        rec.created_ms.map_or_else(|| "-".into(), when),
        rec.duration_ms()
            .map_or_else(|| "-".into(), format_duration),
        rec.steps,
        rec.cached_steps
    );
    out.push_str(&format!(
        "{}  target {}  on {}\n",
        sanitize::name(&run.dockerfile.display().to_string()),
        sanitize::name(rec.target().unwrap_or("(last stage)")),
        sanitize::name(&run.engine)
    ));
    for name in &rec.image_names {
        out.push_str(&format!("image {}\n", sanitize::name(name)));
    }
    for (stage, ss) in run.plan.stages.iter().zip(&st.stages) {
        if ss.status == Status::NotNeeded {
            continue;
        }
        out.push_str(&format!(
            "\nstage {}\n",
            sanitize::name(&stage.display_name())
        ));
        for (ins, is) in stage.instructions.iter().zip(&ss.instructions) {
            let time = match (is.status, is.duration_ms) {
                (Status::Done | Status::Failed, Some(d)) if !is.no_work => format_duration(d),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {:>4}  {:<10} {:>7}  {}\n",
                ins.line,
                outcome(is),
                time,
                one_line(&sanitize::text(&ins.text, false), 70)
            ));
            if let Some(m) = &is.miss {
                out.push_str(&format!(
                    "                          miss: {}: {}\n",
                    m.reason.as_str(),
                    sanitize::text(&m.detail, false)
                ));
            }
        }
    }
    if let Some(f) = &st.failure {
        let at = failed_at(run, f).map(|(st, i)| {
            format!(
                " at {}:{} ({})",
                run.dockerfile.display(),
                i.line,
                st.display_name()
            )
        });
        out.push_str(&format!(
            "\nfailed{}: {}\n",
            sanitize::name(&at.unwrap_or_default()),
            sanitize::text(&f.message, false)
        ));
    }
    let timeline = timeline_text(run);
    if !timeline.is_empty() {
        out.push_str("\ntimeline (█ ran, ░ cached, * critical path)\n");
        out.push_str(&timeline);
    }
    out
}

pub fn show_json(rec: &HistoryRecord, run: &RunRecord) -> Value {
    let st = run.state();
    let stages: Vec<Value> = run
        .plan
        .stages
        .iter()
        .zip(&st.stages)
        .map(|(stage, ss)| {
            json!({
                "index": stage.index,
                "name": stage.display_name(),
                "status": status_word(ss.status),
                "instructions": stage.instructions.iter().zip(&ss.instructions).map(|(ins, is)| json!({
                    "line": ins.line,
                    "text": ins.text,
                    "status": outcome(is),
                    "cached": is.cached,
                    "no_work": is.no_work,
                    "duration_ms": is.duration_ms,
                    "miss": is.miss,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let failure = st.failure.as_ref().map(|f| {
        let line = failed_at(run, f).map(|(_, i)| i.line);
        json!({
            "message": f.message,
            "stage": f.stage,
            "instruction": f.instruction,
            "line": line,
            "exit_code": f.exit_code,
        })
    });
    let mut v = record_json(rec);
    v["dockerfile"] = json!(run.dockerfile);
    v["engine"] = json!(run.engine);
    v["stages"] = Value::Array(stages);
    v["failure"] = failure.unwrap_or(Value::Null);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_core::builds::RecordError;
    use stagescope_core::history::Timed;
    use stagescope_core::history::fixtures::{finished, record};
    use stagescope_plan::BuildEvent;

    const DF: &str =
        "FROM busybox AS deps\nRUN make deps\n\nFROM busybox\nCOPY --from=deps /d /d\nRUN false\n";

    fn rec(r: &str, error: Option<&str>) -> HistoryRecord {
        HistoryRecord {
            r#ref: r.into(),
            created_ms: Some(1_796_563_963_940),
            completed_ms: Some(1_796_563_966_067),
            steps: 9,
            cached_steps: 3,
            attrs: [("filename".to_string(), "Dockerfile".to_string())].into(),
            error: error.map(|m| RecordError {
                code: 2,
                message: m.into(),
                ..RecordError::default()
            }),
            ..HistoryRecord::default()
        }
    }

    #[test]
    fn the_list_has_a_row_per_record_with_its_status() {
        let running = HistoryRecord {
            completed_ms: None,
            ..rec("k7xnv5gl2xk47cabdiqv13muu", None)
        };
        let cancelled = HistoryRecord {
            error: Some(RecordError {
                code: CANCELLED,
                message: "context canceled".into(),
                ..RecordError::default()
            }),
            ..rec("a1", None)
        };
        let all = [
            running,
            rec("t1lncn721gsfgaoh784il0rxh", None),
            rec("l839", Some("exit code: 3")),
            cancelled,
        ];
        insta::assert_snapshot!(builds_text(&all));
        let j = builds_json(&all);
        let statuses: Vec<&str> = j
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["status"].as_str().expect("status"))
            .collect();
        assert_eq!(statuses, ["running", "completed", "failed", "canceled"]);
        assert_eq!(j[1]["duration_ms"], 2127);
        assert_eq!(j[1]["cached_steps"], 3);
    }

    #[test]
    fn show_reports_each_line_and_where_the_build_failed() {
        let mut run = finished(record(DF, &[], &[]), false);
        // The last RUN failed instead of finishing.
        run.events.retain(|t| {
            !matches!(
                t.event,
                BuildEvent::InstructionFinished {
                    stage: 1,
                    instruction: 2,
                    ..
                }
            )
        });
        run.events.push(Timed {
            at_ms: 9,
            event: BuildEvent::BuildFailed {
                stage: Some(1),
                instruction: Some(2),
                message: "process \"/bin/sh -c false\" did not complete successfully: exit code: 1"
                    .into(),
                exit_code: Some(1),
            },
        });
        let r = rec("l839wsadprxza444zx6yfe2rw", Some("exit code: 1"));
        insta::assert_snapshot!(show_text(&r, &run));
        let j = show_json(&r, &run);
        assert_eq!(j["failure"]["line"], 6);
        assert_eq!(j["stages"][0]["instructions"][1]["line"], 2);
        assert_eq!(j["stages"][0]["instructions"][1]["status"], "ran");
        assert_eq!(j["stages"][1]["instructions"][2]["status"], "failed");
    }
}
