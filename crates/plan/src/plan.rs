//! What the engine needs to know of the Dockerfile to attribute build output to stages
//! and instructions. Kept apart from the Dockerfile model so mapping stays a pure function
//! of plain data, testable without parsing.

use serde::{Deserialize, Serialize};

/// Instructions that only change image metadata: BuildKit makes no vertex for them, so they
/// never start or finish on their own and are settled when their neighbours are.
pub(crate) const METADATA_KEYWORDS: &[&str] = &[
    "ARG",
    "ENV",
    "LABEL",
    "EXPOSE",
    "USER",
    "CMD",
    "ENTRYPOINT",
    "VOLUME",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInstruction {
    /// Upper-case keyword: `RUN`, `COPY`, ...
    pub keyword: String,
    /// 1-based Dockerfile line where the instruction starts.
    pub line: usize,
    /// The instruction as written, continuation lines joined, for display.
    pub text: String,
}

impl PlanInstruction {
    pub fn is_metadata(&self) -> bool {
        METADATA_KEYWORDS.contains(&self.keyword.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStage {
    pub index: usize,
    pub name: Option<String>,
    /// The base image after ARG expansion, or the stage name when `base_stage` is set.
    pub base: String,
    pub base_stage: Option<usize>,
    /// Stages this one reads from (FROM, COPY --from, RUN --mount from=).
    pub deps: Vec<usize>,
    pub needed: bool,
    /// Index 0 is the FROM; index k is the k-th instruction after it.
    pub instructions: Vec<PlanInstruction>,
}

impl PlanStage {
    /// The name BuildKit prints in `[name n/m]` vertex labels.
    pub fn buildkit_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("stage-{}", self.index),
        }
    }

    /// The name users and scripts see: the stage's name, or its index when unnamed.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => self.index.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// ARG instructions before the first FROM: the classic builder counts each as a step.
    pub global_args: usize,
    pub stages: Vec<PlanStage>,
    pub target: usize,
    /// The stage graph's edges, one per instruction that makes one, for views that draw them.
    #[serde(default)]
    pub edges: Vec<PlanEdge>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeVia {
    From,
    Copy,
    Mount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEdge {
    pub from: usize,
    pub to: usize,
    pub via: EdgeVia,
    pub line: usize,
}

impl BuildPlan {
    pub fn stage_by_buildkit_name(&self, name: &str) -> Option<&PlanStage> {
        self.stages.iter().find(|s| s.buildkit_name() == name)
    }

    /// The (stage, instruction) of the classic builder's 1-based `Step i/n`, or None when
    /// the step is a global ARG.
    pub fn classic_step(&self, step: usize) -> Option<(usize, usize)> {
        let mut i = step.checked_sub(1)?.checked_sub(self.global_args)?;
        for stage in &self.stages {
            if i < stage.instructions.len() {
                return Some((stage.index, i));
            }
            i -= stage.instructions.len();
        }
        None
    }

    /// The chain of stages that decided the total time: the heaviest path through the
    /// dependency graph ending at the target, weighted by each stage's duration.
    pub fn critical_path(&self, stage_ms: &[u64]) -> Vec<usize> {
        let n = self.stages.len();
        if n == 0 {
            return Vec::new();
        }
        let mut best: Vec<(u64, Option<usize>)> = vec![(0, None); n];
        // Dependencies always point to earlier stages, so index order is topological.
        for s in 0..n {
            let own = stage_ms.get(s).copied().unwrap_or(0);
            let (prev_ms, prev) = self.stages[s]
                .deps
                .iter()
                .filter(|&&d| d < s)
                .map(|&d| (best[d].0, Some(d)))
                .max_by_key(|(ms, _)| *ms)
                .unwrap_or((0, None));
            best[s] = (prev_ms + own, prev);
        }
        let mut path = Vec::new();
        let mut cur = Some(self.target.min(n - 1));
        while let Some(s) = cur {
            path.push(s);
            cur = best[s].1;
        }
        path.reverse();
        path
    }
}

#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures {
    use super::*;
    use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};

    /// The plan of a Dockerfile's text.
    pub fn plan_of(text: &str) -> BuildPlan {
        let df = Dockerfile::parse(text.as_bytes()).expect("parse");
        let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
        BuildPlan::from_model(&df, &g)
    }

    fn ins(keyword: &str, line: usize, text: &str) -> PlanInstruction {
        PlanInstruction {
            keyword: keyword.into(),
            line,
            text: text.into(),
        }
    }

    /// The plan of a three-stage Dockerfile with one global ARG:
    /// deps (FROM busybox, RUN), builder (FROM busybox, WORKDIR, RUN), unnamed release.
    pub fn three_stages() -> BuildPlan {
        BuildPlan {
            global_args: 1,
            target: 2,
            edges: vec![
                PlanEdge {
                    from: 1,
                    to: 2,
                    via: EdgeVia::Copy,
                    line: 9,
                },
                PlanEdge {
                    from: 0,
                    to: 2,
                    via: EdgeVia::Copy,
                    line: 10,
                },
            ],
            stages: vec![
                PlanStage {
                    index: 0,
                    name: Some("deps".into()),
                    base: "busybox".into(),
                    base_stage: None,
                    deps: vec![],
                    needed: true,
                    instructions: vec![
                        ins("FROM", 2, "FROM ${BASE} AS deps"),
                        ins("RUN", 3, "RUN echo deps > /deps.txt && sleep 1"),
                    ],
                },
                PlanStage {
                    index: 1,
                    name: Some("builder".into()),
                    base: "busybox".into(),
                    base_stage: None,
                    deps: vec![],
                    needed: true,
                    instructions: vec![
                        ins("FROM", 4, "FROM busybox AS Builder"),
                        ins("WORKDIR", 5, "WORKDIR /src"),
                        ins("RUN", 6, "RUN echo building"),
                    ],
                },
                PlanStage {
                    index: 2,
                    name: None,
                    base: "busybox".into(),
                    base_stage: None,
                    deps: vec![1, 0],
                    needed: true,
                    instructions: vec![
                        ins("FROM", 7, "FROM busybox"),
                        ins("RUN", 8, "RUN echo one"),
                        ins("COPY", 9, "COPY --from=builder /src/app /app"),
                        ins("COPY", 10, "COPY --from=deps /deps.txt /deps.txt"),
                        ins("CMD", 11, "CMD [\"/app\"]"),
                    ],
                },
            ],
        }
    }
}

impl BuildPlan {
    /// The plan of a parsed Dockerfile under the graph's `--target` and `--build-arg`s.
    pub fn from_model(
        df: &stagescope_dockerfile::Dockerfile,
        graph: &stagescope_dockerfile::StageGraph,
    ) -> Self {
        let instruction = |i: &stagescope_dockerfile::Instruction| PlanInstruction {
            keyword: i.keyword.as_str().to_string(),
            line: i.line,
            text: i.original.clone(),
        };
        let stages = df
            .stages
            .iter()
            .map(|s| {
                let mut deps: Vec<usize> = graph.edges_into(s.index).map(|e| e.from).collect();
                deps.sort_unstable();
                deps.dedup();
                PlanStage {
                    index: s.index,
                    name: s.name.clone(),
                    base: graph
                        .base_expanded
                        .get(s.index)
                        .cloned()
                        .unwrap_or_else(|| s.base_expanded.clone()),
                    base_stage: graph.base_stage.get(s.index).copied().flatten(),
                    deps,
                    needed: graph.needed.get(s.index).copied().unwrap_or(true),
                    instructions: std::iter::once(&s.from)
                        .chain(&s.instructions)
                        .map(instruction)
                        .collect(),
                }
            })
            .collect();
        let edges = graph
            .edges
            .iter()
            .map(|e| PlanEdge {
                from: e.from,
                to: e.to,
                via: match e.via {
                    stagescope_dockerfile::EdgeKind::From => EdgeVia::From,
                    // Add is only ever an external's kind.
                    stagescope_dockerfile::EdgeKind::Copy
                    | stagescope_dockerfile::EdgeKind::Add => EdgeVia::Copy,
                    stagescope_dockerfile::EdgeKind::Mount => EdgeVia::Mount,
                },
                line: e.line,
            })
            .collect();
        BuildPlan {
            global_args: df.global_args.len(),
            stages,
            target: graph.target,
            edges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::three_stages;

    #[test]
    fn classic_steps_skip_global_args() {
        let plan = three_stages();
        assert_eq!(plan.classic_step(1), None, "step 1 is the global ARG");
        assert_eq!(plan.classic_step(2), Some((0, 0)));
        assert_eq!(plan.classic_step(3), Some((0, 1)));
        assert_eq!(plan.classic_step(4), Some((1, 0)));
        assert_eq!(plan.classic_step(7), Some((2, 0)));
        assert_eq!(plan.classic_step(11), Some((2, 4)));
        assert_eq!(plan.classic_step(12), None);
        assert_eq!(plan.classic_step(0), None);
    }

    #[test]
    fn critical_path_follows_the_slowest_dependency() {
        let plan = three_stages();
        assert_eq!(plan.critical_path(&[5000, 100, 10]), vec![0, 2]);
        assert_eq!(plan.critical_path(&[5, 100, 10]), vec![1, 2]);
    }

    #[test]
    fn names_for_buildkit_and_for_people() {
        let plan = three_stages();
        assert_eq!(plan.stages[2].buildkit_name(), "stage-2");
        assert_eq!(plan.stages[2].display_name(), "2");
        assert!(plan.stage_by_buildkit_name("builder").is_some());
    }
}
