//! Why an instruction ran instead of coming from the cache: the first cause found, in a
//! fixed order, by comparing this run's facts with the last recorded run that finished the
//! same instruction.

use std::collections::{BTreeMap, BTreeSet};

use super::facts::SourceSet;
use super::record::{FileMark, RunRecord, StepFacts};
use stagescope_plan::EdgeVia;
pub use stagescope_plan::miss::{Miss, MissReason};
use stagescope_plan::text::one_line;

/// At most this many paths are named in a files-changed miss.
pub(crate) const MAX_PATHS: usize = 20;

/// An earlier run, with what finished in it looked up once (a run explains many misses).
pub struct Known {
    pub run: RunRecord,
    finished: BTreeMap<(usize, usize), (bool, u64)>,
}

impl From<RunRecord> for Known {
    fn from(run: RunRecord) -> Known {
        Known {
            finished: run.finished(),
            run,
        }
    }
}

/// Where the same instruction is in an earlier run: that run, its stage and index.
struct Earlier<'a> {
    run: &'a RunRecord,
    finished: &'a BTreeMap<(usize, usize), (bool, u64)>,
    stage: usize,
    k: usize,
}

/// The instruction of `prev_stage` with the same text: the one at the same index when it
/// matches, else the first with that text (an instruction inserted above shifts indexes).
fn same_step(steps: &[StepFacts], k: usize, text: &str) -> Option<usize> {
    if steps.get(k).is_some_and(|s| s.text == text) {
        return Some(k);
    }
    steps
        .iter()
        .skip(1)
        .position(|s| s.text == text)
        .map(|i| i + 1)
}

/// Why instruction `k` of `stage` ran in `cur`. `ran` holds what has run so far in `cur`;
/// `previous` are earlier runs of the same Dockerfile, newest first.
pub fn find(
    cur: &RunRecord,
    ran: &BTreeSet<(usize, usize)>,
    previous: &[Known],
    stage: usize,
    k: usize,
) -> Miss {
    if cur.no_cache {
        // The reason's own name says `no-cache`; the line reads "no-cache: the build ran
        // with --no-cache".
        return Miss::new(MissReason::NoCache, "the build ran with --no-cache");
    }
    let Some(facts) = cur.steps.get(stage).and_then(|s| s.get(k)) else {
        return Miss::new(MissReason::Unknown, "not in this run's Dockerfile");
    };
    if previous.is_empty() {
        return Miss::new(
            MissReason::FirstBuild,
            "the first recorded run of this Dockerfile",
        );
    }
    let earlier = previous.iter().find_map(|known| {
        let run = &known.run;
        let ps = cur.stage_in(stage, run)?;
        let pk = same_step(run.steps.get(ps)?, k, &facts.text)?;
        known.finished.contains_key(&(ps, pk)).then_some(Earlier {
            run,
            finished: &known.finished,
            stage: ps,
            k: pk,
        })
    });
    let Some(e) = earlier else {
        return changed_or_new(cur, stage, k, facts, previous);
    };
    let before = &e.run.steps[e.stage][e.k];
    if let Some(m) = base_changed(cur, stage, &e) {
        return m;
    }
    if let Some(m) = arg_changed(&facts.args, &before.args) {
        return m;
    }
    if let Some(sources) = &facts.sources
        && let Some(m) = files_changed(sources, &cur.inputs, &e.run.inputs)
    {
        return m;
    }
    if let Some(m) = parent_missed(cur, ran, stage, k) {
        return m;
    }
    if let Some(m) = parent_changed(cur, stage, k, &e) {
        return m;
    }
    if facts.sources.is_some() && (cur.inputs.is_empty() || e.run.inputs.is_empty()) {
        let unrecorded = [cur, e.run]
            .into_iter()
            .find(|r| r.inputs.is_empty() && r.inputs_truncated);
        if let Some(r) = unrecorded {
            return Miss::new(
                MissReason::Unknown,
                format!(
                    "the context files it reads may have changed: run {} kept no digests of them (a BuildKit record)",
                    r.id
                ),
            );
        }
    }
    unknown(cur, &e)
}

/// No earlier run finished this instruction: its text is new (or changed), or the runs that
/// had it never got that far.
fn changed_or_new(
    cur: &RunRecord,
    stage: usize,
    k: usize,
    facts: &StepFacts,
    previous: &[Known],
) -> Miss {
    let last = &previous[0].run;
    let seen = previous.iter().map(|k| &k.run).any(|run| {
        cur.stage_in(stage, run)
            .and_then(|ps| run.steps.get(ps))
            .is_some_and(|steps| same_step(steps, k, &facts.text).is_some())
    });
    if seen {
        return Miss::new(
            MissReason::FirstBuild,
            "no recorded run got as far as this instruction",
        );
    }
    let old = cur
        .stage_in(stage, last)
        .and_then(|ps| last.steps.get(ps))
        .and_then(|steps| steps.get(k));
    let detail = match old {
        Some(o) => format!("line {} was `{}`", o.line, one_line(&o.text, 60)),
        None => format!("new instruction, not in run {}", last.id),
    };
    Miss::new(MissReason::InstructionChanged, detail)
}

fn base_changed(cur: &RunRecord, stage: usize, e: &Earlier<'_>) -> Option<Miss> {
    let now = cur.base_ids.get(stage)?.as_ref()?;
    let then = e.run.base_ids.get(e.stage)?.as_ref()?;
    (now != then).then(|| {
        let base = cur.plan.stages.get(stage).map_or("", |s| s.base.as_str());
        Miss::new(
            MissReason::BaseChanged,
            format!("{base} is now {} (was {})", short(now), short(then)),
        )
    })
}

fn arg_changed(now: &BTreeMap<String, String>, then: &BTreeMap<String, String>) -> Option<Miss> {
    let names: BTreeSet<&String> = now.keys().chain(then.keys()).collect();
    names.into_iter().find_map(|name| {
        let (a, b) = (then.get(name), now.get(name));
        (a != b).then(|| {
            let show = |v: Option<&String>| v.map_or("(unset)".to_string(), |v| format!("{v:?}"));
            Miss {
                arg: Some(name.clone()),
                ..Miss::new(
                    MissReason::ArgChanged,
                    format!("{name}: {} → {}", show(a), show(b)),
                )
            }
        })
    })
}

fn files_changed(
    sources: &[String],
    now: &BTreeMap<String, FileMark>,
    then: &BTreeMap<String, FileMark>,
) -> Option<Miss> {
    let set = SourceSet::new(sources);
    let read = |m: &BTreeMap<String, FileMark>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(p, _)| set.reads(p))
            .map(|(p, f)| (p.clone(), f.digest.clone()))
            .collect()
    };
    let (a, b) = (read(then), read(now));
    let mut changed: Vec<(String, &str)> = Vec::new();
    for (p, d) in &b {
        match a.get(p) {
            None => changed.push((p.clone(), "added")),
            Some(old) if old != d => changed.push((p.clone(), "modified")),
            Some(_) => {}
        }
    }
    for p in a.keys().filter(|p| !b.contains_key(*p)) {
        changed.push((p.clone(), "removed"));
    }
    if changed.is_empty() {
        return None;
    }
    changed.sort();
    let n = changed.len();
    let shown: Vec<String> = changed
        .iter()
        .take(3)
        .map(|(p, how)| format!("{p} ({how})"))
        .collect();
    let more = if n > 3 {
        format!(" and {} more", n - 3)
    } else {
        String::new()
    };
    let files = if n == 1 { "file" } else { "files" };
    Some(Miss {
        paths: changed
            .into_iter()
            .take(MAX_PATHS)
            .map(|(p, _)| p)
            .collect(),
        ..Miss::new(
            MissReason::FilesChanged,
            format!("{n} {files} changed: {}{more}", shown.join(", ")),
        )
    })
}

/// An earlier instruction of the stage came from the cache but not from the same result as
/// in the earlier run: its files or ARGs changed and an older cache entry matched them (a
/// file changed back, another run built that content). What follows it runs all the same.
fn parent_changed(cur: &RunRecord, stage: usize, k: usize, e: &Earlier<'_>) -> Option<Miss> {
    let before = e.run.steps.get(e.stage)?;
    let plan = cur.plan.stages.get(stage)?;
    // Metadata (an ARG's new value, say) changes nothing below unless used there.
    (1..k).rev().find_map(|j| {
        if plan.instructions.get(j)?.is_metadata() {
            return None;
        }
        let now = cur.steps.get(stage)?.get(j)?;
        let then = before.get(same_step(before, j, &now.text)?)?;
        let why = arg_changed(&now.args, &then.args)
            .or_else(|| files_changed(now.sources.as_deref()?, &cur.inputs, &e.run.inputs))?;
        Some(Miss::new(
            MissReason::ParentMissed,
            format!(
                "line {} ({}) came from an older cache entry: {}",
                now.line,
                cur.stage_name(stage),
                why.detail
            ),
        ))
    })
}

/// An earlier instruction of the stage ran, or a stage it builds on or copies from (before
/// this instruction) ran something: name the latest such instruction.
fn parent_missed(
    cur: &RunRecord,
    ran: &BTreeSet<(usize, usize)>,
    stage: usize,
    k: usize,
) -> Option<Miss> {
    let name = |s: usize, j: usize| -> Miss {
        let line = cur
            .steps
            .get(s)
            .and_then(|st| st.get(j))
            .map_or(0, |f| f.line);
        let text = cur
            .steps
            .get(s)
            .and_then(|st| st.get(j))
            .map_or(String::new(), |f| one_line(&f.text, 50));
        Miss::new(
            MissReason::ParentMissed,
            format!("line {line} ({}) ran: `{text}`", cur.stage_name(s)),
        )
    };
    if let Some(j) = (1..k).rev().find(|j| ran.contains(&(stage, *j))) {
        return Some(name(stage, j));
    }
    let line = cur.steps.get(stage)?.get(k)?.line;
    let plan_stage = cur.plan.stages.get(stage)?;
    // The stage this very instruction reads first, then those read by earlier ones (the
    // nearest first), then the base.
    let mut edges: Vec<(usize, usize)> = cur
        .plan
        .edges
        .iter()
        .filter(|e| e.to == stage && e.via != EdgeVia::From && e.line <= line)
        .map(|e| (e.line, e.from))
        .collect();
    edges.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut parents: Vec<usize> = edges.into_iter().map(|(_, s)| s).collect();
    parents.extend(plan_stage.base_stage);
    parents.into_iter().find_map(|p| {
        ran.iter()
            .filter(|(s, _)| *s == p)
            .max_by_key(|(_, j)| *j)
            .map(|(s, j)| name(*s, *j))
    })
}

fn unknown(cur: &RunRecord, e: &Earlier<'_>) -> Miss {
    let then = e.finished.get(&(e.stage, e.k)).copied();
    let detail = if cur.builder.is_some() && e.run.builder.is_some() && cur.builder != e.run.builder
    {
        format!(
            "run {} used the {} builder; the two builders keep separate caches",
            e.run.id,
            e.run.builder.map_or(String::new(), |b| b.to_string())
        )
    } else if then.is_some_and(|(cached, _)| !cached) {
        format!(
            "nothing recorded changed since run {}, where it ran too: the engine may not cache it",
            e.run.id
        )
    } else {
        format!(
            "nothing recorded changed since run {}: its cache may have been pruned",
            e.run.id
        )
    };
    Miss::new(MissReason::Unknown, detail)
}

fn short(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

#[cfg(test)]
#[path = "reasons_tests.rs"]
mod tests;
