//! The one error type of the Dockerfile front end: a 1-based position and a message.

use std::fmt;

/// Why a Dockerfile was rejected, and where. `Display` gives `LINE:COL: message`;
/// the CLI prefixes the path so every rejection is one `PATH:LINE:COL: message` line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DockerfileError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl DockerfileError {
    pub fn new(line: usize, col: usize, message: impl Into<String>) -> Self {
        DockerfileError {
            line: line.max(1),
            col: col.max(1),
            message: message.into(),
        }
    }

    /// For rejections that belong to the file as a whole (no stage, unknown target).
    pub(crate) fn whole_file(message: impl Into<String>) -> Self {
        DockerfileError::new(1, 1, message)
    }
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for DockerfileError {}
