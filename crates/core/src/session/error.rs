//! What can go wrong in a session, by kind: a front end tells a build that failed from an
//! engine that failed, or from a builder that cannot do what was asked, by the variant and
//! not by the words. Each variant's text is the one line the user reads.
//!
//! The methods the TUI hands straight to its messages (`state_image`, `state_numbers`,
//! `open_files`, `layer_info`, `fetch`, `preview`, `extract`) and [`super::SessionEvent`]
//! still give that line as a `String`: the TUI's messages carry text, and it is being
//! rewritten apart. The core itself works with the typed error underneath.

use stagescope_context::ContextError;
use stagescope_dockerfile::DockerfileError;
use stagescope_engine::error::EngineError;
use stagescope_engine::layers::LayersError;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The engine (or a Control API BuildKit) refused or failed a request.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An image's layers could not be read.
    #[error(transparent)]
    Layers(#[from] LayersError),
    /// The build context cannot be sent as it is.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A Dockerfile the session wrote (the real one cut after an instruction) is refused.
    /// Its position is in the cut, not in the user's file: only the message means anything.
    #[error("{}", .0.message)]
    Dockerfile(#[from] DockerfileError),
    /// The build settings of the Dockerfile's checks (`# check=`) are wrong.
    #[error("{0}")]
    Checks(String),
    /// The build ran and failed; its events said why.
    #[error("the build failed; run `stagescope build` to see why (build {build_id})")]
    BuildFailed { build_id: String },
    /// A cache build of a stage or state went through without leaving an image.
    #[error("the engine made no image for stage {stage}")]
    NoImage { stage: String },
    /// What only an engine does (a shell, an image's layers), asked of a build on a Control
    /// API BuildKit.
    #[error("{needs}; the build runs on {builder} (use the engine's builder for this)")]
    NeedsEngine {
        /// "this needs a Docker engine", or what needs it.
        needs: &'static str,
        /// Where the build runs instead ("BuildKit v0.12.5 at tcp://…").
        builder: String,
    },
    /// Work the session ran on a blocking thread panicked or was cancelled.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

/// For the front ends that only show the line: the TUI's messages carry text.
impl From<SessionError> for String {
    fn from(e: SessionError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_as_the_line_it_always_was() {
        let needs = SessionError::NeedsEngine {
            needs: "this needs a Docker engine",
            builder: "BuildKit v0.12.5 at tcp://127.0.0.1:1234".into(),
        };
        assert_eq!(
            needs.to_string(),
            "this needs a Docker engine; the build runs on BuildKit v0.12.5 at \
             tcp://127.0.0.1:1234 (use the engine's builder for this)"
        );
        let failed = SessionError::BuildFailed {
            build_id: "ab12".into(),
        };
        assert_eq!(
            String::from(failed),
            "the build failed; run `stagescope build` to see why (build ab12)"
        );
        let cut = SessionError::from(DockerfileError::new(3, 1, "unknown instruction: FORM"));
        assert_eq!(
            cut.to_string(),
            "unknown instruction: FORM",
            "no position in a cut"
        );
        let engine = SessionError::from(EngineError::Docker("no such image".into()));
        assert_eq!(engine.to_string(), "Docker engine: no such image");
    }
}
