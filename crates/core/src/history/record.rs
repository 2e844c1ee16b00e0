//! One recorded run, as written to the state directory and to `--record FILE`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use stagescope_plan::{BuildEvent, BuildPlan, BuildState, BuilderKind, Miss};

/// Bumped when a field changes meaning; older files are refused with a one-line error.
pub const FORMAT: u32 = 1;

/// What a cache decision can depend on, for one instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFacts {
    /// The instruction as written (continuations joined).
    pub text: String,
    pub line: usize,
    /// Build args and ARGs the instruction can see, with their values (a RUN sees every ARG
    /// in scope; other instructions the ones their text names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// COPY/ADD sources read from the context (None: reads no context files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
}

/// A context file a COPY/ADD of the run reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    pub size: u64,
    /// Modification time in nanoseconds: an unchanged size and mtime reuse the digest.
    pub mtime_ns: i128,
    /// xxh3-128 of the content (hex); for a symlink, of its target.
    pub digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Built,
    Failed,
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Built => "built",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// A build event and when it arrived, in milliseconds after the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: BuildEvent,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format: u32,
    /// The build id (labels of what the run made).
    pub id: String,
    /// Start, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    /// The Dockerfile's text, so a replay can explain it with no file at hand.
    pub dockerfile_text: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: Option<String>,
    pub no_cache: bool,
    pub builder: Option<BuilderKind>,
    /// "docker 20.10.24 (API 1.41)".
    pub engine: String,
    pub plan: BuildPlan,
    /// Per stage, per instruction (index 0 the FROM): what its cache key can depend on.
    pub steps: Vec<Vec<StepFacts>>,
    /// Per stage: the id of its base image, when it is an image the engine has.
    pub base_ids: Vec<Option<String>>,
    /// Context files the run's COPY/ADD read, by path relative to the context.
    pub inputs: BTreeMap<String, FileMark>,
    /// More files matched than are kept: files-changed may miss some.
    #[serde(default)]
    pub inputs_truncated: bool,
    pub events: Vec<Timed>,
    /// Log bytes left out to keep the record bounded.
    #[serde(default)]
    pub log_bytes_dropped: u64,
    pub outcome: Outcome,
    pub wall_ms: u64,
}

impl RunRecord {
    /// The build state the events leave: what the TUI and the reports read.
    pub fn state(&self) -> BuildState {
        let mut st = BuildState::new(self.plan.clone());
        for t in &self.events {
            st.apply(&t.event);
        }
        st
    }

    /// The instructions that finished, with whether they came from the cache and how long
    /// they took.
    pub fn finished(&self) -> BTreeMap<(usize, usize), (bool, u64)> {
        let mut out = BTreeMap::new();
        for t in &self.events {
            if let BuildEvent::InstructionFinished {
                stage,
                instruction,
                cached,
                duration_ms,
            } = t.event
            {
                out.insert((stage, instruction), (cached, duration_ms));
            }
        }
        out
    }

    /// Why instruction `instruction` of `stage` ran, when it did.
    pub fn miss(&self, stage: usize, instruction: usize) -> Option<&Miss> {
        self.events.iter().find_map(|t| match &t.event {
            BuildEvent::CacheMiss {
                stage: s,
                instruction: k,
                miss,
            } if *s == stage && *k == instruction => Some(miss),
            _ => None,
        })
    }

    /// Share of the finished instructions that came from the cache, those with nothing to do
    /// left out (FROMs, and an ARG, ENV… not from the cache: see
    /// [`stagescope_plan::state::InstructionState::no_work`]), so a fully cached rebuild is 1.
    pub fn cached_share(&self) -> Option<f64> {
        let metadata = |s: usize, k: usize| {
            self.plan
                .stages
                .get(s)
                .and_then(|st| st.instructions.get(k))
                .is_some_and(|i| i.is_metadata())
        };
        let done: Vec<bool> = self
            .finished()
            .into_iter()
            .filter(|&((s, k), (c, _))| k > 0 && (c || !metadata(s, k)))
            .map(|(_, (c, _))| c)
            .collect();
        (!done.is_empty()).then(|| done.iter().filter(|c| **c).count() as f64 / done.len() as f64)
    }

    /// Stage `stage` of this run in `other`: by name, else by index when both are unnamed.
    pub(crate) fn stage_in(&self, stage: usize, other: &RunRecord) -> Option<usize> {
        let st = self.plan.stages.get(stage)?;
        match &st.name {
            Some(n) => other
                .plan
                .stages
                .iter()
                .position(|p| p.name.as_deref() == Some(n)),
            None => other
                .plan
                .stages
                .get(stage)
                .filter(|p| p.name.is_none())
                .map(|p| p.index),
        }
    }

    /// The stage's name as users see it.
    pub fn stage_name(&self, stage: usize) -> String {
        self.plan
            .stages
            .get(stage)
            .map_or_else(|| stage.to_string(), |s| s.display_name())
    }

    /// Parse a record file's text.
    pub(crate) fn from_json(text: &str) -> Result<RunRecord, String> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<u32>,
        }
        let head: Head =
            serde_json::from_str(text).map_err(|e| format!("not a stagescope run record: {e}"))?;
        match head.format {
            Some(FORMAT) => {}
            Some(n) => {
                return Err(format!(
                    "run record format {n} is not the one this stagescope reads ({FORMAT})"
                ));
            }
            None => return Err("not a stagescope run record (no format field)".into()),
        }
        serde_json::from_str(text).map_err(|e| format!("not a stagescope run record: {e}"))
    }
}
