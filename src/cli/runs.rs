//! The flags of the commands that read runs: the recorded ones (`history`, `replay`,
//! `compare`) and BuildKit's own records (`builds`, `attach`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{BuildkitArgs, DiffFormat, EngineArgs, ProgressArg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HistoryFormat {
    Text,
    Json,
}

/// `history [CONTEXT]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct HistoryArgs {
    /// The build context directory whose runs to list.
    #[arg(default_value = ".", value_name = "CONTEXT")]
    pub context: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
}

/// `replay RUN`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ReplayArgs {
    /// A run id (or its first characters) from `stagescope history`, a file written by
    /// `--record`, or the ref of a build BuildKit remembers (from `stagescope builds`).
    #[arg(value_name = "RUN|FILE|REF")]
    pub run: String,
    /// The build context the run id belongs to.
    #[arg(short = 'C', long = "context", default_value = ".", value_name = "DIR")]
    pub context: PathBuf,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Where BuildKit's own build records are: the engine's BuildKit, or `--buildkit-addr`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RemoteArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub buildkit: BuildkitArgs,
}

/// `builds [show REF]`.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BuildsArgs {
    #[command(subcommand)]
    pub command: Option<BuildsCommand>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum BuildsCommand {
    /// One build: per stage and instruction the Dockerfile line, cached or ran, how long,
    /// why it missed the cache, and where it failed.
    Show(BuildsShowArgs),
}

/// `builds show REF`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BuildsShowArgs {
    /// The build's ref (or its first characters, or `builder/node/ref` as buildx prints it).
    #[arg(value_name = "REF")]
    pub r#ref: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
    pub format: HistoryFormat,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `attach [REF]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct AttachArgs {
    /// The running build's ref; default: the newest build still running.
    #[arg(value_name = "REF")]
    pub r#ref: Option<String>,
    /// Print the events instead of opening the terminal UI: one line per instruction
    /// (plain) or NDJSON, as `stagescope build` prints them.
    #[arg(long, value_enum)]
    pub progress: Option<ProgressArg>,
    /// The build's Dockerfile (BuildKit records it only once the build ends); default:
    /// the file the build names, in the context directory.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// The build's context directory, where its Dockerfile is looked for.
    #[arg(short = 'C', long = "context", default_value = ".", value_name = "DIR")]
    pub context: PathBuf,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `compare [RUN_A] [RUN_B]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CompareArgs {
    /// The older run (id, `--record` file, or a BuildKit build ref); default: the one before
    /// the newest.
    #[arg(value_name = "RUN_A")]
    pub a: Option<String>,
    /// The newer run (the same kinds); default: the newest run of the same Dockerfile.
    #[arg(value_name = "RUN_B")]
    pub b: Option<String>,
    /// The build context whose runs to compare.
    #[arg(short = 'C', long = "context", default_value = ".", value_name = "DIR")]
    pub context: PathBuf,
    /// Output format (markdown fits a pull-request comment).
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    #[command(flatten)]
    pub remote: RemoteArgs,
}
