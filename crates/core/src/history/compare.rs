//! Two recorded runs side by side: per stage and instruction, the time and cache result in
//! each, the delta, and why the newer run missed; the totals and critical paths.

use serde::Serialize;

use super::record::RunRecord;
use stagescope_plan::Miss;

/// One run's part of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Side {
    pub cached: bool,
    pub duration_ms: u64,
}

/// One instruction in either run, matched by stage and text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub stage: String,
    /// Line in the newer run (in the older one for an instruction that went away).
    pub line: usize,
    pub text: String,
    pub a: Option<Side>,
    pub b: Option<Side>,
    /// b minus a, when both finished.
    pub delta_ms: Option<i64>,
    /// Why it ran in b.
    pub miss: Option<Miss>,
}

/// A run's summary line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: String,
    pub started_unix_ms: u64,
    pub outcome: &'static str,
    pub wall_ms: u64,
    pub builder: Option<String>,
    pub cached_share: Option<f64>,
    /// Stage names along the critical path.
    pub critical_path: Vec<String>,
    /// What the critical path's stages took, summed.
    pub critical_ms: u64,
    /// Where the wall time went outside the instructions.
    pub outside: Outside,
}

/// A run's time outside its instructions: the part a run with every instruction cached can
/// still lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Outside {
    /// Reaching the engine, checks, the context walk: until the build started.
    pub before_build_ms: u64,
    /// The daemon loading the build context, and the file bytes that took.
    pub context_ms: u64,
    pub context_bytes: u64,
    /// The engine's own steps besides the context (base image metadata, exporting, the
    /// image of a stage).
    pub engine_steps_ms: u64,
    /// After the build's last event: images, tags, the record.
    pub after_build_ms: u64,
}

impl Outside {
    pub fn of(r: &RunRecord) -> Outside {
        use stagescope_plan::BuildEvent;
        let mut o = Outside::default();
        let mut last = 0;
        for t in &r.events {
            last = last.max(t.at_ms);
            match &t.event {
                BuildEvent::BuildStarted { .. } => o.before_build_ms = t.at_ms,
                BuildEvent::ContextSent {
                    bytes, duration_ms, ..
                } => {
                    o.context_ms = *duration_ms;
                    o.context_bytes = *bytes;
                }
                BuildEvent::InternalFinished {
                    step, duration_ms, ..
                } if !step.name.contains("load build context") => {
                    o.engine_steps_ms += duration_ms;
                }
                _ => {}
            }
        }
        o.after_build_ms = r.wall_ms.saturating_sub(last);
        o
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: RunSummary,
    pub b: RunSummary,
    pub rows: Vec<Row>,
}

pub fn summary(r: &RunRecord) -> RunSummary {
    let st = r.state();
    let durations = st.stage_durations();
    let path = r.plan.critical_path(&durations);
    RunSummary {
        id: r.id.clone(),
        started_unix_ms: r.started_unix_ms,
        outcome: r.outcome.as_str(),
        wall_ms: r.wall_ms,
        builder: r.builder.map(|b| b.to_string()),
        cached_share: r.cached_share(),
        critical_ms: path
            .iter()
            .map(|s| durations.get(*s).copied().unwrap_or(0))
            .sum(),
        critical_path: path.iter().map(|s| r.stage_name(*s)).collect(),
        outside: Outside::of(r),
    }
}

/// `a` the older run, `b` the newer.
pub fn compare(a: &RunRecord, b: &RunRecord) -> Comparison {
    let fa = a.finished();
    let fb = b.finished();
    let mut rows = Vec::new();
    let mut matched_a = std::collections::BTreeSet::new();
    for (s, steps) in b.steps.iter().enumerate() {
        let sa = b.stage_in(s, a);
        for (k, f) in steps.iter().enumerate().skip(1) {
            let ka = sa.and_then(|sa| {
                let steps_a = a.steps.get(sa)?;
                if steps_a.get(k).is_some_and(|x| x.text == f.text) {
                    Some(k)
                } else {
                    steps_a
                        .iter()
                        .enumerate()
                        .skip(1)
                        .find(|(j, x)| x.text == f.text && !matched_a.contains(&(sa, *j)))
                        .map(|(j, _)| j)
                }
            });
            if let (Some(sa), Some(ka)) = (sa, ka) {
                matched_a.insert((sa, ka));
            }
            let side_a = sa.zip(ka).and_then(|key| fa.get(&key)).map(side);
            let side_b = fb.get(&(s, k)).map(side);
            if side_a.is_none() && side_b.is_none() {
                continue;
            }
            rows.push(Row {
                stage: b.stage_name(s),
                line: f.line,
                text: f.text.clone(),
                a: side_a,
                b: side_b,
                delta_ms: delta(side_a, side_b),
                miss: b.miss(s, k).cloned(),
            });
        }
    }
    // What the older run did that the newer one has no more.
    for (&(s, k), &v) in &fa {
        if k == 0 || matched_a.contains(&(s, k)) {
            continue;
        }
        let Some(f) = a.steps.get(s).and_then(|st| st.get(k)) else {
            continue;
        };
        rows.push(Row {
            stage: a.stage_name(s),
            line: f.line,
            text: f.text.clone(),
            a: Some(side(&v)),
            b: None,
            delta_ms: None,
            miss: None,
        });
    }
    Comparison {
        a: summary(a),
        b: summary(b),
        rows,
    }
}

fn side(&(cached, duration_ms): &(bool, u64)) -> Side {
    Side {
        cached,
        duration_ms,
    }
}

fn delta(a: Option<Side>, b: Option<Side>) -> Option<i64> {
    let (a, b) = (a?, b?);
    Some(
        i64::try_from(b.duration_ms).unwrap_or(i64::MAX)
            - i64::try_from(a.duration_ms).unwrap_or(i64::MAX),
    )
}
