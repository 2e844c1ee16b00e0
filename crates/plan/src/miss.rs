//! Why an instruction ran instead of coming from the cache, as events and reports carry it
//! (found by `history::reasons`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissReason {
    NoCache,
    InstructionChanged,
    BaseChanged,
    ArgChanged,
    FilesChanged,
    ParentMissed,
    FirstBuild,
    Unknown,
}

impl MissReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MissReason::NoCache => "no-cache",
            MissReason::InstructionChanged => "instruction-changed",
            MissReason::BaseChanged => "base-changed",
            MissReason::ArgChanged => "arg-changed",
            MissReason::FilesChanged => "files-changed",
            MissReason::ParentMissed => "parent-missed",
            MissReason::FirstBuild => "first-build",
            MissReason::Unknown => "unknown",
        }
    }
}

/// One cache miss explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Miss {
    pub reason: MissReason,
    /// One line for people.
    pub detail: String,
    /// files-changed: the paths (a bounded list); `detail` gives the count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// arg-changed: the ARG's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arg: Option<String>,
}

impl Miss {
    pub fn new(reason: MissReason, detail: impl Into<String>) -> Miss {
        Miss {
            reason,
            detail: detail.into(),
            paths: Vec::new(),
            arg: None,
        }
    }

    /// "files-changed: 2 files changed under src: src/a.rs, src/b.rs".
    pub fn line(&self) -> String {
        format!("{}: {}", self.reason.as_str(), self.detail)
    }
}
