//! What can go wrong in a session, by kind: a front end tells a build that failed from an
//! engine that failed, or from a builder that cannot do what was asked, by the variant and
//! not by the words. Each variant's text is the one line the user reads.
//!
//! A front end's messages carry a [`SharedError`]: the same error, cheap to clone.

use std::path::PathBuf;
use std::sync::Arc;

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
    /// An extraction the user asked for wrote nothing (the destination exists, is a link,
    /// the path is not a file, the engine failed).
    #[error("not extracted: {0}")]
    NotExtracted(#[source] EngineError),
    /// The run's record could not be kept in the history.
    #[error("cannot record the run in the history: {0}")]
    History(#[source] std::io::Error),
    /// The run's record could not be written to the file the user named (`--record`).
    #[error("cannot write {}: {source}", path.display())]
    RecordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An image archive (`docker-archive:`, `oci-layout:`) could not be read.
    #[error(transparent)]
    Archive(#[from] stagescope_fs::archive::ArchiveError),
    /// What only an engine does, asked of a run replayed from its record.
    #[error("a replay has no engine: {0}")]
    Replay(&'static str),
}

/// A [`SessionError`] a message can carry: front ends clone their messages and compare them
/// in tests, and the error cannot be either (a task's `JoinError`, an `io::Error`). Two are
/// equal when they are the same failure (one allocation), never because their words match.
#[derive(Debug, Clone)]
pub struct SharedError(Arc<SessionError>);

impl From<SessionError> for SharedError {
    fn from(e: SessionError) -> Self {
        SharedError(Arc::new(e))
    }
}

impl std::ops::Deref for SharedError {
    type Target = SessionError;
    fn deref(&self) -> &SessionError {
        &self.0
    }
}

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for SharedError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SharedError {}

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
            failed.to_string(),
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
        let refused = SessionError::NotExtracted(EngineError::Docker("gone".into()));
        assert_eq!(refused.to_string(), "not extracted: Docker engine: gone");
        let file = SessionError::RecordFile {
            path: "/ro/run.json".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            file.to_string(),
            "cannot write /ro/run.json: permission denied"
        );
    }

    #[test]
    fn shared_errors_are_equal_when_they_are_one_failure() {
        let one = SharedError::from(SessionError::Replay("no files to count"));
        let same_words = SharedError::from(SessionError::Replay("no files to count"));
        assert_eq!(one, one.clone());
        assert_ne!(one, same_words);
        assert!(matches!(*one, SessionError::Replay(_)));
    }
}
