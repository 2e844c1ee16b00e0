//! Command-line definitions (clap derive) and the "which Dockerfile" resolution that every
//! subcommand shares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use stagescope::dockerfile::{Dockerfile, GraphOptions};

#[derive(Debug, Parser)]
#[command(
    name = "stagescope",
    version,
    about = "Step through Docker multi-stage builds"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw the stage graph of a Dockerfile.
    Graph(GraphArgs),
}

/// Which Dockerfile, which target, which build arguments: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DockerfileArgs {
    /// A Dockerfile, or a directory holding one.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "PATH",
        default_value = "Dockerfile"
    )]
    pub file: PathBuf,
    /// Stage to build (default: the last one).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Build argument; `K` alone takes the value of the environment variable K.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Json,
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub dockerfile: DockerfileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

/// A Dockerfile that could not be used: printed as `PATH:LINE:COL: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
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
pub struct Loaded {
    pub path: PathBuf,
    pub dockerfile: Dockerfile,
    pub options: GraphOptions,
}

impl DockerfileArgs {
    /// `-f` as a file, or `Dockerfile` (then `dockerfile`) inside it when it is a directory.
    pub fn path(&self) -> Result<PathBuf, LoadError> {
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

    pub fn options(&self) -> GraphOptions {
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
        }
    }

    pub fn load(&self) -> Result<Loaded, LoadError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graph_flags() {
        let cli = Cli::try_parse_from([
            "stagescope",
            "graph",
            "-f",
            "x/Dockerfile",
            "--target",
            "build",
            "--build-arg",
            "A=1",
            "--build-arg",
            "B=2=3",
            "--format",
            "mermaid",
        ])
        .unwrap();
        let Command::Graph(g) = cli.command;
        assert_eq!(g.format, GraphFormat::Mermaid);
        let o = g.dockerfile.options();
        assert_eq!(o.target.as_deref(), Some("build"));
        assert_eq!(o.build_args["B"], "2=3");
    }

    #[test]
    fn directory_without_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let args = DockerfileArgs {
            file: dir.path().to_path_buf(),
            target: None,
            build_args: vec![],
        };
        let e = args.load().unwrap_err();
        assert_eq!((e.line, e.col), (1, 1));
        assert!(e.message.starts_with("no Dockerfile in directory"));
        assert!(e.to_string().contains("Dockerfile:1:1: no Dockerfile"));
        std::fs::write(dir.path().join("Dockerfile"), "FROM a\n").unwrap();
        assert_eq!(args.load().unwrap().dockerfile.stages.len(), 1);
    }
}
