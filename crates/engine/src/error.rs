//! What can go wrong talking to the engine, worded for the person at the terminal.

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Context(String),
    #[error(
        "the classic builder cannot build this Dockerfile: line {line}: {what} needs BuildKit (use --builder buildkit)"
    )]
    NeedsBuildkit { line: usize, what: String },
    #[error("this engine ({0}) does not offer BuildKit; use --builder classic")]
    NoBuildkit(String),
    #[error("Docker engine: {0}")]
    Docker(String),
    #[error("BuildKit: {0}")]
    Buildkit(String),
    #[error(
        "{0} keeps no build history (BuildKit 0.11 or newer keeps one: Docker 23 and later, or a buildkitd)"
    )]
    NoHistory(String),
}

impl From<bollard::errors::Error> for EngineError {
    fn from(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match e {
            // The engine restarted or went away with a request open: say so, and where
            // what the run left is removed.
            E::HyperResponseError { .. } | E::IOError { .. } => EngineError::Docker(format!(
                "the connection was lost ({e}); `stagescope clean` removes what was left"
            )),
            e => EngineError::Docker(e.to_string()),
        }
    }
}
