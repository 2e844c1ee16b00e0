//! BuildKit's solve status (vertexes, statuses, logs) mapped to BuildEvents.
//!
//! Vertexes are attributed through BuildKit's source map when there is one (a build record's
//! provenance), else through the `[stage n/m]` label checked against the plan's keyword, so
//! a cut Dockerfile (whose m differs) maps the same way. Instructions that make no
//! vertex (ENV, CMD, ... and `FROM <stage>`) are settled when their stage moves past them.

use std::collections::HashMap;

use bollard::moby::buildkit::v1::{StatusResponse, Vertex};

use stagescope_plan::event::exit_code_from_message;
use stagescope_plan::{BuildEvent, BuildPlan, InternalStep, LogStream, PlanStage};

type Step = (usize, usize);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Steps(Vec<Step>),
    Internal(String),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Progress {
    #[default]
    Waiting,
    Started,
    Finished,
}

#[derive(Debug)]
pub(crate) struct VertexMapper {
    plan: BuildPlan,
    /// Vertexes the source map places, by digest: the instructions at their lines.
    sourced: HashMap<String, Vec<Step>>,
    owners: HashMap<String, Owner>,
    vertex_progress: HashMap<String, Progress>,
    step_progress: HashMap<Step, Progress>,
    step_cached: HashMap<Step, bool>,
    stage_started: Vec<bool>,
    stage_finished: Vec<bool>,
    failed: Option<Step>,
    /// Per vertex and stream, the start of a UTF-8 char a log chunk cut (at most 3 bytes).
    log_tails: HashMap<(String, i64), Vec<u8>>,
}

/// One log chunk as text: invalid UTF-8 becomes U+FFFD, but a char cut at the chunk's end
/// waits in `tail` for the next chunk rather than turning into one U+FFFD per piece.
fn decode_log(tail: &mut Vec<u8>, msg: &[u8]) -> String {
    let mut bytes = std::mem::take(tail);
    bytes.extend_from_slice(msg);
    let cut = bytes
        .utf8_chunks()
        .last()
        .map(|c| c.invalid())
        .filter(|bad| std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none()))
        .map_or(0, <[u8]>::len);
    *tail = bytes.split_off(bytes.len() - cut);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Docker Hub's short names and BuildKit's fully qualified ones compare equal.
pub(crate) fn normalize_image(image: &str) -> String {
    let mut s = image.trim();
    for prefix in [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
            break;
        }
    }
    let s = s.strip_suffix(":latest").unwrap_or(s);
    s.to_ascii_lowercase()
}

/// Whitespace-insensitive form of an instruction: BuildKit prints continuation lines joined.
fn normalize_text(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "\\" && *w != "`")
        .collect::<Vec<_>>()
        .join(" ")
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// Which instruction of `stage` a vertex labelled `[stage n/m] text` stands for. BuildKit's n
/// skips instructions it does not count (stage-level ARG on 20.10, for one), so the text
/// decides and n only breaks ties between identical instructions.
fn match_instruction(stage: &stagescope_plan::PlanStage, n: usize, text: &str) -> Option<usize> {
    let keyword = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let wanted = normalize_text(text);
    let hint = n.saturating_sub(1);
    stage
        .instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.keyword == keyword)
        .max_by_key(|(k, i)| {
            let have = normalize_text(&i.text);
            (
                have == wanted,
                common_prefix(&have, &wanted),
                std::cmp::Reverse(k.abs_diff(hint)),
            )
        })
        .map(|(k, _)| k)
}

/// `[linux/amd64 builder 3/5] RUN make` -> ("builder", 3, 5, "RUN make").
fn parse_label(name: &str) -> Option<(&str, usize, usize, &str)> {
    let rest = name.strip_prefix('[')?;
    let close = rest.find(']')?;
    let mut words = rest[..close].split_whitespace().rev();
    let counts = words.next()?;
    // A Dockerfile of one stage gets no stage name: `[2/3] RUN make`.
    let stage = words.next().unwrap_or("");
    let (n, m) = counts.split_once('/')?;
    let n: usize = n.parse().ok()?;
    let m: usize = m.parse().ok()?;
    Some((stage, n, m, rest[close + 1..].trim_start()))
}

/// How BuildKit may have counted a stage's `n/m`, most likely first.
#[derive(Debug, Clone, Copy)]
enum Numbering {
    /// dockerfile2llb: only instructions that make a vertex count — the FROM of an image
    /// (not `scratch`, not another stage), RUN, COPY, ADD and (with file ops) WORKDIR.
    Vertexes { workdir: bool },
    /// Every instruction, the FROM included.
    All,
}

/// The plan indexes BuildKit numbers 1..=m under `numbering`.
fn numbered(stage: &PlanStage, numbering: Numbering) -> Vec<usize> {
    match numbering {
        Numbering::All => (0..stage.instructions.len()).collect(),
        Numbering::Vertexes { workdir } => {
            let image_base =
                stage.base_stage.is_none() && !stage.base.trim().eq_ignore_ascii_case("scratch");
            stage
                .instructions
                .iter()
                .enumerate()
                .filter(|(k, i)| match i.keyword.as_str() {
                    "FROM" => *k == 0 && image_base,
                    "RUN" | "COPY" | "ADD" => true,
                    "WORKDIR" => workdir,
                    _ => false,
                })
                .map(|(k, _)| k)
                .collect()
        }
    }
}

/// The plan index of the vertex labelled `[stage n/m] text`.
fn instruction_of(stage: &PlanStage, n: usize, m: usize, text: &str) -> Option<usize> {
    let keyword = text
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let fits = |k: usize| {
        stage
            .instructions
            .get(k)
            .is_some_and(|i| i.keyword == keyword)
    };
    for numbering in [
        Numbering::Vertexes { workdir: true },
        Numbering::Vertexes { workdir: false },
        Numbering::All,
    ] {
        let ks = numbered(stage, numbering);
        if ks.len() == m
            && let Some(&k) = n.checked_sub(1).and_then(|i| ks.get(i))
            && fits(k)
        {
            return Some(k);
        }
    }
    // An engine counting some other way, or a cut Dockerfile (whose m is smaller): the
    // text decides.
    match_instruction(stage, n, text)
}

/// The instructions that start at `lines` (1-based), or hold them: one per line, in the
/// order given, each at most once.
fn steps_at_lines(plan: &BuildPlan, lines: &[u32]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for &line in lines {
        let line = line as usize;
        let exact = plan.stages.iter().find_map(|s| {
            let k = s.instructions.iter().position(|i| i.line == line)?;
            Some((s.index, k))
        });
        // A line inside a multi-line instruction: the last instruction starting above it,
        // in the stage whose instructions span it.
        let holding = || {
            plan.stages.iter().find_map(|s| {
                let k = s.instructions.iter().rposition(|i| i.line <= line)?;
                let next = s.instructions.get(k + 1).map(|i| i.line).or_else(|| {
                    plan.stages
                        .get(s.index + 1)?
                        .instructions
                        .first()
                        .map(|i| i.line)
                });
                next.is_none_or(|n| line < n).then_some((s.index, k))
            })
        };
        if let Some(step) = exact.or_else(holding)
            && !out.contains(&step)
        {
            out.push(step);
        }
    }
    out
}

fn timestamp_ms(ts: &Option<bollard_buildkit_proto::google::protobuf::Timestamp>) -> Option<i128> {
    ts.as_ref()
        .map(|t| i128::from(t.seconds) * 1000 + i128::from(t.nanos) / 1_000_000)
}

impl VertexMapper {
    pub(crate) fn new(plan: BuildPlan) -> Self {
        let n = plan.stages.len();
        VertexMapper {
            plan,
            sourced: HashMap::new(),
            owners: HashMap::new(),
            vertex_progress: HashMap::new(),
            step_progress: HashMap::new(),
            step_cached: HashMap::new(),
            stage_started: vec![false; n],
            stage_finished: vec![false; n],
            failed: None,
            log_tails: HashMap::new(),
        }
    }

    /// A mapper that places each vertex of `lines` (digest: the Dockerfile lines BuildKit's
    /// source map gives it) at the instructions starting there; other vertexes go by label.
    pub(crate) fn with_source_lines(plan: BuildPlan, lines: &HashMap<String, Vec<u32>>) -> Self {
        let sourced = lines
            .iter()
            .map(|(digest, ls)| (digest.clone(), steps_at_lines(&plan, ls)))
            .collect();
        VertexMapper {
            sourced,
            ..VertexMapper::new(plan)
        }
    }

    fn owner_of(&self, vertex: &Vertex) -> Owner {
        if let Some(steps) = self.sourced.get(&vertex.digest) {
            return match steps.is_empty() {
                // In the map with no location: a source of no instruction (the context).
                true => Owner::Internal(vertex.name.clone()),
                false => Owner::Steps(steps.clone()),
            };
        }
        let Some((stage_name, n, m, text)) = parse_label(&vertex.name) else {
            return Owner::Internal(vertex.name.clone());
        };
        let only = match self.plan.stages.as_slice() {
            [only] => Some(only),
            _ => None,
        };
        let Some(stage) = self.plan.stage_by_buildkit_name(stage_name).or(only) else {
            return Owner::Internal(vertex.name.clone());
        };
        let Some(k) = instruction_of(stage, n, m, text) else {
            return Owner::Internal(vertex.name.clone());
        };
        if k > 0 {
            return Owner::Steps(vec![(stage.index, k)]);
        }
        // Identical FROM vertexes are merged by BuildKit: one `FROM busybox` vertex stands for
        // every stage that starts from that image.
        let image = normalize_image(
            text.trim_start_matches(['F', 'R', 'O', 'M', 'f', 'r', 'o', 'm'])
                .trim(),
        );
        let mut steps: Vec<Step> = self
            .plan
            .stages
            .iter()
            .filter(|s| s.needed && s.base_stage.is_none() && normalize_image(&s.base) == image)
            .map(|s| (s.index, 0))
            .collect();
        if !steps.contains(&(stage.index, 0)) {
            steps.insert(0, (stage.index, 0));
        }
        Owner::Steps(steps)
    }

    pub(crate) fn on_status(&mut self, status: &StatusResponse) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for v in &status.vertexes {
            self.on_vertex(v, &mut out);
        }
        for log in &status.logs {
            if let Some(Owner::Steps(steps)) = self.owners.get(&log.vertex)
                && let Some(&(stage, instruction)) = steps.first()
            {
                let tail = self
                    .log_tails
                    .entry((log.vertex.clone(), log.stream))
                    .or_default();
                out.push(BuildEvent::Log {
                    stage,
                    instruction,
                    stream: if log.stream == 2 {
                        LogStream::Stderr
                    } else {
                        LogStream::Stdout
                    },
                    text: decode_log(tail, &log.msg),
                });
            }
        }
        out
    }

    fn on_vertex(&mut self, v: &Vertex, out: &mut Vec<BuildEvent>) {
        let owner = match self.owners.get(&v.digest) {
            Some(o) => o.clone(),
            None => {
                let o = self.owner_of(v);
                self.owners.insert(v.digest.clone(), o.clone());
                o
            }
        };
        let before = self
            .vertex_progress
            .get(&v.digest)
            .copied()
            .unwrap_or_default();
        let now = if v.completed.is_some() {
            Progress::Finished
        } else if v.started.is_some() {
            Progress::Started
        } else {
            Progress::Waiting
        };
        // BuildKit re-sends vertexes, sometimes started again after completion (a shared
        // vertex resolved twice): only the first transition counts.
        if now <= before {
            return;
        }
        self.vertex_progress.insert(v.digest.clone(), now);
        let duration_ms = match (timestamp_ms(&v.started), timestamp_ms(&v.completed)) {
            (Some(a), Some(b)) if b >= a => u64::try_from(b - a).unwrap_or(0),
            _ => 0,
        };
        match owner {
            Owner::Internal(name) => {
                let step = InternalStep { name };
                if before == Progress::Waiting {
                    out.push(BuildEvent::InternalStarted { step: step.clone() });
                }
                if now == Progress::Finished {
                    out.push(BuildEvent::InternalFinished {
                        step,
                        cached: v.cached,
                        duration_ms,
                    });
                }
            }
            Owner::Steps(steps) => {
                for (stage, k) in steps {
                    if now >= Progress::Started {
                        self.start_step(stage, k, out);
                    }
                    if now == Progress::Finished && v.error.is_empty() {
                        self.finish_step(stage, k, v.cached, duration_ms, out);
                    }
                }
            }
        }
    }

    fn start_step(&mut self, stage: usize, k: usize, out: &mut Vec<BuildEvent>) {
        if self
            .step_progress
            .get(&(stage, k))
            .copied()
            .unwrap_or_default()
            >= Progress::Started
        {
            return;
        }
        if !self.stage_started[stage] {
            self.stage_started[stage] = true;
            out.push(BuildEvent::StageStarted { stage });
        }
        // Earlier instructions without a vertex of their own are done by now.
        for j in 0..k {
            if !self.step_progress.contains_key(&(stage, j)) && self.has_no_vertex(stage, j) {
                let cached = self.previous_cached(stage, j);
                self.start_step(stage, j, out);
                self.finish_step(stage, j, cached, 0, out);
            }
        }
        self.step_progress.insert((stage, k), Progress::Started);
        out.push(BuildEvent::InstructionStarted {
            stage,
            instruction: k,
        });
    }

    fn has_no_vertex(&self, stage: usize, k: usize) -> bool {
        let s = &self.plan.stages[stage];
        if k == 0 {
            let base = s.base.trim().to_ascii_lowercase();
            return s.base_stage.is_some() || base == "scratch";
        }
        s.instructions[k].is_metadata()
    }

    fn previous_cached(&self, stage: usize, k: usize) -> bool {
        (0..k)
            .rev()
            .find_map(|j| self.step_cached.get(&(stage, j)).copied())
            .unwrap_or(false)
    }

    fn finish_step(
        &mut self,
        stage: usize,
        k: usize,
        cached: bool,
        duration_ms: u64,
        out: &mut Vec<BuildEvent>,
    ) {
        if self.step_progress.get(&(stage, k)) == Some(&Progress::Finished) {
            return;
        }
        self.step_progress.insert((stage, k), Progress::Finished);
        self.step_cached.insert((stage, k), cached);
        out.push(BuildEvent::InstructionFinished {
            stage,
            instruction: k,
            cached,
            duration_ms,
        });
        // Trailing metadata instructions (CMD, ENV, ...) finish with the last real one.
        let len = self.plan.stages[stage].instructions.len();
        if (k + 1..len).all(|j| {
            self.has_no_vertex(stage, j)
                || self.step_progress.get(&(stage, j)) == Some(&Progress::Finished)
        }) {
            for j in k + 1..len {
                if !self.step_progress.contains_key(&(stage, j)) {
                    self.start_step(stage, j, out);
                    self.finish_step(stage, j, cached, 0, out);
                }
            }
            self.finish_stage(stage, out);
        }
    }

    fn finish_stage(&mut self, stage: usize, out: &mut Vec<BuildEvent>) {
        let len = self.plan.stages[stage].instructions.len();
        let all =
            (0..len).all(|j| self.step_progress.get(&(stage, j)) == Some(&Progress::Finished));
        if all && !self.stage_finished[stage] {
            self.stage_finished[stage] = true;
            out.push(BuildEvent::StageFinished { stage, image: None });
        }
    }

    /// The step that failed, once `failure` was called.
    pub(crate) fn failed_step(&self) -> Option<(usize, usize)> {
        self.failed
    }

    /// The build's error, attributed to the vertex that failed.
    pub(crate) fn failure(&mut self, message: &str, status_seen: &[Vertex]) -> BuildEvent {
        let failed = status_seen.iter().rev().find(|v| !v.error.is_empty());
        let step = failed.and_then(|v| match self.owners.get(&v.digest) {
            Some(Owner::Steps(steps)) => steps.first().copied(),
            _ => None,
        });
        self.failed = step;
        BuildEvent::BuildFailed {
            stage: step.map(|s| s.0),
            instruction: step.map(|s| s.1),
            message: message.to_string(),
            exit_code: exit_code_from_message(message),
        }
    }

    /// A stage whose every instruction is settled, for a build that ended well: settle any
    /// that made no vertex at all (a stage of only metadata instructions).
    pub(crate) fn settle_needed_stages(&mut self) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for stage in 0..self.plan.stages.len() {
            if !self.plan.stages[stage].needed {
                continue;
            }
            let len = self.plan.stages[stage].instructions.len();
            for j in 0..len {
                if self.step_progress.get(&(stage, j)) != Some(&Progress::Finished) {
                    let cached = self.previous_cached(stage, j);
                    self.start_step(stage, j, &mut out);
                    self.finish_step(stage, j, cached, 0, &mut out);
                }
            }
            self.finish_stage(stage, &mut out);
        }
        out
    }
}

#[cfg(test)]
#[path = "buildkit_tests.rs"]
mod tests;
