//! BuildKit's solve status (vertexes, statuses, logs) mapped to BuildEvents.
//!
//! Vertexes are attributed through the `[stage n/m]` label and checked against the plan's
//! keyword, so a cut Dockerfile (whose m differs) maps the same way. Instructions that make no
//! vertex (ENV, CMD, ... and `FROM <stage>`) are settled when their stage moves past them.

use std::collections::HashMap;

use bollard::moby::buildkit::v1::{StatusResponse, Vertex};

use crate::build::event::exit_code_from_message;
use crate::build::{BuildEvent, BuildPlan, InternalStep, LogStream, PlanStage};

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
pub struct VertexMapper {
    plan: BuildPlan,
    owners: HashMap<String, Owner>,
    vertex_progress: HashMap<String, Progress>,
    step_progress: HashMap<Step, Progress>,
    step_cached: HashMap<Step, bool>,
    stage_started: Vec<bool>,
    stage_finished: Vec<bool>,
    failed: Option<Step>,
}

/// Docker Hub's short names and BuildKit's fully qualified ones compare equal.
pub fn normalize_image(image: &str) -> String {
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
fn match_instruction(stage: &crate::build::PlanStage, n: usize, text: &str) -> Option<usize> {
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

fn timestamp_ms(ts: &Option<bollard_buildkit_proto::google::protobuf::Timestamp>) -> Option<i128> {
    ts.as_ref()
        .map(|t| i128::from(t.seconds) * 1000 + i128::from(t.nanos) / 1_000_000)
}

impl VertexMapper {
    pub fn new(plan: BuildPlan) -> Self {
        let n = plan.stages.len();
        VertexMapper {
            plan,
            owners: HashMap::new(),
            vertex_progress: HashMap::new(),
            step_progress: HashMap::new(),
            step_cached: HashMap::new(),
            stage_started: vec![false; n],
            stage_finished: vec![false; n],
            failed: None,
        }
    }

    fn owner_of(&self, vertex: &Vertex) -> Owner {
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

    pub fn on_status(&mut self, status: &StatusResponse) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for v in &status.vertexes {
            self.on_vertex(v, &mut out);
        }
        for log in &status.logs {
            if let Some(Owner::Steps(steps)) = self.owners.get(&log.vertex)
                && let Some(&(stage, instruction)) = steps.first()
            {
                out.push(BuildEvent::Log {
                    stage,
                    instruction,
                    stream: if log.stream == 2 {
                        LogStream::Stderr
                    } else {
                        LogStream::Stdout
                    },
                    text: String::from_utf8_lossy(&log.msg).into_owned(),
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
    pub fn failed_step(&self) -> Option<(usize, usize)> {
        self.failed
    }

    /// The build's error, attributed to the vertex that failed.
    pub fn failure(&mut self, message: &str, status_seen: &[Vertex]) -> BuildEvent {
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
    pub fn settle_needed_stages(&mut self) -> Vec<BuildEvent> {
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
mod tests {
    use super::*;
    use crate::build::plan::fixtures::three_stages;
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    fn vertex(
        digest: &str,
        name: &str,
        started: Option<i64>,
        completed: Option<i64>,
        cached: bool,
    ) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            cached,
            started: started.map(|s| Timestamp {
                seconds: s,
                nanos: 0,
            }),
            completed: completed.map(|s| Timestamp {
                seconds: s,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    fn status(vs: Vec<Vertex>) -> StatusResponse {
        StatusResponse {
            vertexes: vs,
            ..Default::default()
        }
    }

    #[test]
    fn labels_parse_with_and_without_platform() {
        assert_eq!(
            parse_label("[builder 3/5] RUN make"),
            Some(("builder", 3, 5, "RUN make"))
        );
        assert_eq!(
            parse_label("[linux/arm64 stage-2 1/2] FROM docker.io/library/busybox"),
            Some(("stage-2", 1, 2, "FROM docker.io/library/busybox"))
        );
        assert_eq!(parse_label("[2/3] RUN make"), Some(("", 2, 3, "RUN make")));
        assert_eq!(parse_label("[internal] load metadata for x"), None);
        assert_eq!(parse_label("copy /context /"), None);
    }

    #[test]
    fn shared_from_vertex_counts_for_every_stage_on_that_image() {
        let mut m = VertexMapper::new(three_stages());
        let ev = m.on_status(&status(vec![vertex(
            "sha256:from",
            "[deps 1/2] FROM docker.io/library/busybox",
            Some(10),
            Some(11),
            false,
        )]));
        let finished: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                BuildEvent::InstructionFinished {
                    stage, instruction, ..
                } => Some((*stage, *instruction)),
                _ => None,
            })
            .collect();
        assert_eq!(finished, vec![(0, 0), (1, 0), (2, 0)]);
    }

    #[test]
    fn parallel_stages_are_attributed_by_label_and_logs_follow_their_vertex() {
        let mut m = VertexMapper::new(three_stages());
        let mut ev = m.on_status(&status(vec![
            vertex(
                "sha256:a",
                "[deps 2/2] RUN echo deps > /deps.txt && sleep 1",
                Some(1),
                None,
                false,
            ),
            vertex(
                "sha256:b",
                "[builder 3/3] RUN echo building",
                Some(1),
                None,
                false,
            ),
        ]));
        ev.extend(m.on_status(&StatusResponse {
            logs: vec![bollard::moby::buildkit::v1::VertexLog {
                vertex: "sha256:b".into(),
                stream: 2,
                msg: b"err\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        }));
        ev.extend(m.on_status(&status(vec![vertex(
            "sha256:b",
            "[builder 3/3] RUN echo building",
            Some(1),
            Some(4),
            true,
        )])));
        assert!(ev.contains(&BuildEvent::InstructionStarted {
            stage: 0,
            instruction: 1
        }));
        assert!(ev.contains(&BuildEvent::Log {
            stage: 1,
            instruction: 2,
            stream: LogStream::Stderr,
            text: "err\n".into()
        }));
        // WORKDIR (builder 2/3) never reported here, but RUN 3/3 cannot start before it; it is a
        // vertex-making instruction, so it stays unsettled rather than guessed.
        assert!(ev.contains(&BuildEvent::InstructionFinished {
            stage: 1,
            instruction: 2,
            cached: true,
            duration_ms: 3000
        }));
    }

    #[test]
    fn trailing_metadata_instructions_close_the_stage() {
        let mut m = VertexMapper::new(three_stages());
        let mut ev = Vec::new();
        for (d, name) in [
            ("sha256:f", "[stage-2 1/5] FROM docker.io/library/busybox"),
            ("sha256:r", "[stage-2 2/5] RUN echo one"),
            (
                "sha256:c1",
                "[stage-2 3/5] COPY --from=builder /src/app /app",
            ),
            (
                "sha256:c2",
                "[stage-2 4/5] COPY --from=deps /deps.txt /deps.txt",
            ),
        ] {
            ev.extend(m.on_status(&status(vec![vertex(d, name, Some(1), Some(2), false)])));
        }
        assert!(ev.contains(&BuildEvent::InstructionFinished {
            stage: 2,
            instruction: 4,
            cached: false,
            duration_ms: 0
        }));
        assert!(ev.contains(&BuildEvent::StageFinished {
            stage: 2,
            image: None
        }));
    }

    #[test]
    fn failure_names_the_failing_step_and_exit_code() {
        let mut m = VertexMapper::new(three_stages());
        let failed = Vertex {
            error: "executor failed running [/bin/sh -c exit 3]: exit code: 3".into(),
            ..vertex(
                "sha256:x",
                "[stage-2 2/5] RUN echo one",
                Some(1),
                Some(2),
                false,
            )
        };
        let ev = m.on_status(&status(vec![failed.clone()]));
        assert!(
            !ev.iter()
                .any(|e| matches!(e, BuildEvent::InstructionFinished { .. } if false))
        );
        let f = m.failure(&failed.error, std::slice::from_ref(&failed));
        assert_eq!(
            f,
            BuildEvent::BuildFailed {
                stage: Some(2),
                instruction: Some(1),
                message: failed.error.clone(),
                exit_code: Some(3)
            }
        );
    }

    #[test]
    fn vertexes_match_by_text_when_buildkit_skips_instructions_in_its_count() {
        let ins = |keyword: &str, text: &str| crate::build::PlanInstruction {
            keyword: keyword.into(),
            line: 1,
            text: text.into(),
        };
        let mut plan = three_stages();
        plan.stages[1].instructions = vec![
            ins("FROM", "FROM busybox AS builder"),
            ins("ARG", "ARG V"),
            ins("COPY", "COPY src/ ."),
            ins("COPY", "COPY --from=deps /deps/cache \\\n    /root/.cache"),
        ];
        let stage = &plan.stages[1];
        assert_eq!(
            match_instruction(stage, 3, "COPY --from=deps /deps/cache /root/.cache"),
            Some(3)
        );
        assert_eq!(match_instruction(stage, 2, "COPY src/ ."), Some(2));
        assert_eq!(match_instruction(stage, 2, "RUN nothing"), None);
    }

    #[test]
    fn numbering_skips_what_makes_no_vertex() {
        // BuildKit (20.10 and later) numbers only vertex-making instructions: `FROM a AS b`
        // and `FROM scratch` are not counted, nor are ENV and the like.
        let ins = |keyword: &str, text: &str| crate::build::PlanInstruction {
            keyword: keyword.into(),
            line: 1,
            text: text.into(),
        };
        let on_stage = PlanStage {
            index: 1,
            name: Some("b".into()),
            base: "a".into(),
            base_stage: Some(0),
            deps: vec![0],
            needed: true,
            instructions: vec![
                ins("FROM", "FROM a AS b"),
                ins("ENV", "ENV Y=2"),
                ins("RUN", "RUN echo before"),
                ins("RUN", "RUN exit 7"),
                ins("COPY", "COPY --from=s /a /sa"),
            ],
        };
        assert_eq!(instruction_of(&on_stage, 1, 3, "RUN echo before"), Some(2));
        assert_eq!(instruction_of(&on_stage, 2, 3, "RUN exit 7"), Some(3));
        assert_eq!(
            instruction_of(&on_stage, 3, 3, "COPY --from=s /a /sa"),
            Some(4)
        );
        let scratch = PlanStage {
            base: "scratch".into(),
            base_stage: None,
            instructions: vec![
                ins("FROM", "FROM scratch AS s"),
                ins("COPY", "COPY --from=a /a /a"),
                ins("ENV", "ENV X=1"),
            ],
            ..on_stage.clone()
        };
        assert_eq!(
            instruction_of(&scratch, 1, 1, "COPY --from=a /a /a"),
            Some(1)
        );
        // A count that fits no known numbering falls back to the text.
        assert_eq!(instruction_of(&on_stage, 1, 9, "RUN exit 7"), Some(3));
    }

    #[test]
    fn image_names_normalize() {
        assert_eq!(normalize_image("docker.io/library/busybox"), "busybox");
        assert_eq!(normalize_image("busybox:latest"), "busybox");
        assert_eq!(normalize_image("docker.io/foo/bar:1"), "foo/bar:1");
    }
}
