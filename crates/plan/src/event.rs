//! The build as a stream of normalized events, the same for BuildKit and the classic builder.
//!
//! Stages and instructions are indexes into the Dockerfile model: `instruction` 0 is the
//! stage's FROM, `k >= 1` is the k-th instruction after it (BuildKit's `[stage k+1/n]`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuilderKind {
    Buildkit,
    Classic,
}

impl std::fmt::Display for BuilderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BuilderKind::Buildkit => "buildkit",
            BuilderKind::Classic => "classic",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// Work the engine does that belongs to no stage: context upload, base image metadata,
/// exporting, the extra per-stage image builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalStep {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BuildEvent {
    BuildStarted {
        builder: BuilderKind,
        build_id: String,
    },
    ContextProgress {
        bytes: u64,
    },
    /// The build's context reached the daemon: file contents sent (a warm build sends
    /// none), how many files, and how long the daemon's "load build context" took.
    /// `files` is unknown for a tar upload.
    ContextSent {
        bytes: u64,
        files: Option<u64>,
        duration_ms: u64,
    },
    InternalStarted {
        step: InternalStep,
    },
    InternalFinished {
        step: InternalStep,
        cached: bool,
        duration_ms: u64,
    },
    StageStarted {
        stage: usize,
    },
    InstructionStarted {
        stage: usize,
        instruction: usize,
    },
    Log {
        stage: usize,
        instruction: usize,
        stream: LogStream,
        text: String,
    },
    InstructionFinished {
        stage: usize,
        instruction: usize,
        cached: bool,
        duration_ms: u64,
    },
    /// Why the instruction about to finish ran instead of coming from the cache, from the
    /// run history; sent just before its `InstructionFinished`.
    CacheMiss {
        stage: usize,
        instruction: usize,
        miss: super::Miss,
    },
    StageFinished {
        stage: usize,
        image: Option<String>,
    },
    /// The image holding the stage's final state.
    StageImage {
        stage: usize,
        image: String,
    },
    /// An image holding the state right after `instruction` of `stage` (classic intermediate
    /// ids, or a BuildKit build of the Dockerfile cut there).
    StateImage {
        stage: usize,
        instruction: usize,
        image: String,
    },
    BuildFailed {
        stage: Option<usize>,
        instruction: Option<usize>,
        message: String,
        exit_code: Option<i64>,
    },
    BuildFinished {
        image: Option<String>,
        duration_ms: u64,
    },
}

/// Pulls the exit code out of the daemon's failure messages:
/// BuildKit `... did not complete successfully: exit code: 3` (also `executor failed running
/// [...]: exit code: 3` on 20.10) and classic `... returned a non-zero code: 3`.
pub fn exit_code_from_message(message: &str) -> Option<i64> {
    for marker in ["exit code: ", "non-zero code: ", "exit status "] {
        if let Some(pos) = message.rfind(marker) {
            let digits: String = message[pos + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            if let Ok(code) = digits.parse() {
                return Some(code);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_from_both_builders() {
        assert_eq!(
            exit_code_from_message("executor failed running [/bin/sh -c exit 3]: exit code: 3"),
            Some(3)
        );
        assert_eq!(
            exit_code_from_message(
                "process \"/bin/sh -c false\" did not complete successfully: exit code: 1"
            ),
            Some(1)
        );
        assert_eq!(
            exit_code_from_message("The command '/bin/sh -c exit 42' returned a non-zero code: 42"),
            Some(42)
        );
        assert_eq!(exit_code_from_message("failed to compute cache key"), None);
    }

    #[test]
    fn events_round_trip_as_json() {
        let ev = BuildEvent::InstructionFinished {
            stage: 1,
            instruction: 2,
            cached: true,
            duration_ms: 12,
        };
        let json = serde_json::to_string(&ev).expect("serialize");
        assert!(json.contains("\"event\":\"instruction_finished\""));
        let back: BuildEvent = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, ev);
    }
}
