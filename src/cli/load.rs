//! Which Dockerfile, read and parsed: `-f` or a directory holding one, with the graph
//! options every subcommand shares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stagescope_dockerfile::{Dockerfile, GraphOptions};

use super::DockerfileArgs;

/// A Dockerfile that could not be used: printed as `PATH:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadError {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// A Dockerfile read and parsed, with the graph options asked for.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub dockerfile: Dockerfile,
    pub options: GraphOptions,
}

impl DockerfileArgs {
    /// `-f` as a file, or `Dockerfile` (then `dockerfile`) inside it when it is a directory.
    pub(crate) fn path(&self) -> Result<PathBuf, LoadError> {
        if !self.file.is_dir() {
            return Ok(self.file.clone());
        }
        ["Dockerfile", "dockerfile"]
            .iter()
            .map(|n| self.file.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| LoadError {
                path: self.file.join("Dockerfile"),
                line: 1,
                col: 1,
                message: format!("no Dockerfile in directory {}", self.file.display()),
            })
    }

    pub(crate) fn options(&self) -> GraphOptions {
        let mut build_args = BTreeMap::new();
        for kv in &self.build_args {
            match kv.split_once('=') {
                Some((k, v)) => {
                    build_args.insert(k.to_string(), v.to_string());
                }
                // As `docker build`: a bare name takes the environment's value, if any.
                None => {
                    if let Ok(v) = std::env::var(kv) {
                        build_args.insert(kv.clone(), v);
                    }
                }
            }
        }
        GraphOptions {
            target: self.target.clone(),
            build_args,
            platform: self.platform.clone(),
        }
    }

    pub(crate) fn load(&self) -> Result<Loaded, LoadError> {
        let path = self.path()?;
        let at = |path: &Path, line, col, message: String| LoadError {
            path: path.to_path_buf(),
            line,
            col,
            message,
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| at(&path, 1, 1, format!("cannot read Dockerfile: {e}")))?;
        let dockerfile =
            Dockerfile::parse(&bytes).map_err(|e| at(&path, e.line, e.col, e.message))?;
        Ok(Loaded {
            path,
            dockerfile,
            options: self.options(),
        })
    }
}
