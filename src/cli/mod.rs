//! Command-line definitions (clap derive): the commands and the flag groups they share.
//! The flags of the run commands are in [`runs`], the Dockerfile they name is read by
//! [`load`], and a stray word where CONTEXT goes is caught by [`stray`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod load;
mod runs;
mod stray;

pub(crate) use load::{LoadError, Loaded};
pub(crate) use runs::{
    AttachArgs, BuildsArgs, BuildsCommand, CompareArgs, HistoryArgs, HistoryFormat, RemoteArgs,
    ReplayArgs,
};
pub(crate) use stray::{stray_word, stray_word_error};

#[derive(Debug, Parser)]
#[command(
    name = "stagescope",
    version,
    about = "Step through Docker multi-stage builds",
    long_about = "Step through Docker multi-stage builds.\n\nWithout a subcommand, opens the terminal UI on CONTEXT and starts the build.",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// `stagescope [CONTEXT]`: the build flags, and stepping.
#[derive(Debug, Clone, Args)]
pub(crate) struct TuiArgs {
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Pause before each stage: `n` builds the next one, `c` continues to the end.
    #[arg(long)]
    pub step: bool,
    /// Open the Explain pane (`e`) from the start.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// `--record FILE`: the run also written to one portable file (for `replay`, `compare`).
#[derive(Debug, Clone, Args)]
pub(crate) struct RecordArgs {
    /// Also write the run's record to FILE (replay it with `stagescope replay FILE`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// `stagescope tour [CONTEXT]`: the build flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct TourArgs {
    #[command(flatten)]
    pub flags: BuildFlags,
    #[command(flatten)]
    pub record: RecordArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Draw the stage graph of a Dockerfile.
    Graph(GraphArgs),
    /// Run the build headless, with per-instruction timing and cache hits.
    Build(BuildArgs),
    /// BuildKit's build checks (`docker build --check`), without Docker: rule, line, detail.
    Check(CheckArgs),
    /// List the filesystem of an image, or of a stage (or an instruction's state) of a build.
    Tree(TreeArgs),
    /// Compare two stages (default: the final stage against the stage it copies the most
    /// from): what changed, which instruction brought each file, leftovers and secrets.
    Diff(DiffArgs),
    /// Compare two images already in the engine, with the same leftover and secret rules.
    DiffImages(DiffImagesArgs),
    /// Explain every stage and instruction in plain words, with the numbers of a real build
    /// (files and bytes per instruction, what reaches the final image): a handout.
    Explain(ExplainArgs),
    /// Wasted space: the bytes of every copy of a file that a later layer hid (overwrote or
    /// deleted), per file and per instruction, and the efficiency; with dive's CI gates.
    /// IMAGE is an engine's image, docker-archive:FILE or oci-layout:DIR[:TAG] (no engine
    /// needed); with --stage, the positional is the build CONTEXT.
    Waste(WasteArgs),
    /// A guided tour: the terminal UI in step mode with the Explain pane open, pausing
    /// before every stage and after every instruction (`n` next, `c` to the end).
    Tour(TourArgs),
    /// List the recorded runs of a build context: when, target, result, wall time, cached
    /// share.
    History(HistoryArgs),
    /// Open the terminal UI on a recorded run (an id from `history`, or a `--record` file),
    /// with no engine, or on a build BuildKit remembers (a ref from `builds`): graph, logs,
    /// timing, cache misses, the timeline.
    Replay(ReplayArgs),
    /// Compare two runs, recorded or BuildKit's (default: the last two recorded of the
    /// context): per instruction the time and cache result in each, the delta, and why the
    /// newer run missed the cache.
    Compare(CompareArgs),
    /// List the builds BuildKit itself remembers (buildx's, Compose's, stagescope's), newest
    /// first; `builds show REF` opens one as stagescope reports its own runs.
    Builds(BuildsArgs),
    /// Follow a build that is still running (the newest when REF is omitted), whoever
    /// started it: the terminal UI live, or the events `stagescope build` prints.
    Attach(AttachArgs),
    /// Remove every image, tag and container stagescope made.
    Clean(CleanArgs),
    /// Print the completion script for a shell.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand into a directory.
    Man(ManArgs),
    /// Make sure the `busybox:latest` base image exists (pulled, or made from the host's
    /// static busybox where no registry answers).
    #[command(hide = true)]
    SetupBase(EngineArgs),
}

/// `completions SHELL`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man [--dir DIR]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ManArgs {
    /// Write stagescope.1 and a page per subcommand (stagescope-graph.1, …) into DIR,
    /// creating it, instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Where the Docker engine is.
#[derive(Debug, Clone, Args)]
pub(crate) struct EngineArgs {
    /// Docker engine to use (unix://, tcp://, ssh://); default: DOCKER_HOST, the current
    /// docker context, then the usual sockets.
    #[arg(long, short = 'H', value_name = "URL")]
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// Only what the build with this id made (the id `stagescope build` prints).
    #[arg(long, value_name = "ID")]
    pub build: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BuilderArg {
    Auto,
    Buildkit,
    Classic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressArg {
    Plain,
    Json,
}

/// The flags of `docker build` that stagescope understands, spelled the same.
#[derive(Debug, Clone, Args)]
pub(crate) struct BuildFlags {
    /// The build context directory.
    #[arg(default_value = ".", value_name = "CONTEXT")]
    pub context: PathBuf,
    /// The Dockerfile (default: CONTEXT/Dockerfile); may lie outside the context.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Stage to build (default: the last one).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Build argument; `K` alone takes the value of the environment variable K.
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Target platform, e.g. linux/amd64.
    #[arg(long)]
    pub platform: Option<String>,
    /// Do not use the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Which builder runs the build; auto picks BuildKit when the engine offers it.
    #[arg(long, value_enum, default_value_t = BuilderArg::Auto)]
    pub builder: BuilderArg,
    /// Name and tag for the final image (repeatable).
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    pub tags: Vec<String>,
    /// A secret for `RUN --mount=type=secret` (BuildKit; repeatable): id=NAME,src=FILE or
    /// id=NAME,env=VAR.
    #[arg(long = "secret", value_name = "id=NAME,src=FILE")]
    pub secrets: Vec<String>,
    /// An ssh agent for `RUN --mount=type=ssh` (BuildKit; repeatable): default (the agent of
    /// SSH_AUTH_SOCK) or ID=SOCKET.
    #[arg(long = "ssh", value_name = "default|ID=SOCKET")]
    pub ssh: Vec<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub buildkit: BuildkitArgs,
}

/// A BuildKit daemon to build on through its Control API, instead of the engine's builder.
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct BuildkitArgs {
    /// BuildKit to build on: unix://PATH, tcp://HOST:PORT, or docker (the engine's own
    /// BuildKit through its API); default: BUILDKIT_HOST, else the engine's builder.
    #[arg(long = "buildkit-addr", value_name = "ADDR")]
    pub addr: Option<String>,
    /// CA certificate (PEM) to verify a tcp:// BuildKit with.
    #[arg(long = "buildkit-tls-ca", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a tcp:// BuildKit that asks for one.
    #[arg(long = "buildkit-tls-cert", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long = "buildkit-tls-key", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// The name the server's certificate carries (default: the address's host).
    #[arg(long = "buildkit-tls-servername", value_name = "NAME")]
    pub tls_servername: Option<String>,
}

impl BuildFlags {
    /// The Dockerfile flags as `graph` reads them: `-f`, or the context directory.
    pub(crate) fn dockerfile_args(&self) -> DockerfileArgs {
        DockerfileArgs {
            file: self.file.clone().unwrap_or_else(|| self.context.clone()),
            target: self.target.clone(),
            build_args: self.build_args.clone(),
            platform: self.platform.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub flags: BuildFlags,
    /// Output: one line per instruction (plain) or NDJSON events and a summary (json).
    #[arg(long, value_enum, default_value_t = ProgressArg::Plain)]
    pub progress: ProgressArg,
    #[command(flatten)]
    pub record: RecordArgs,
}

/// Which Dockerfile, which target, which build arguments: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub(crate) struct DockerfileArgs {
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
    /// Target platform for TARGETPLATFORM & co. (default: this machine's), e.g. linux/arm64.
    #[arg(long)]
    pub platform: Option<String>,
}

/// `tree --image IMAGE`, or `tree [CONTEXT] --stage NAME [--at N]` (builds first, from cache
/// when it can).
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["image", "stage"])))]
pub(crate) struct TreeArgs {
    /// An image: the engine's (name, tag or id), docker-archive:FILE (a `docker save` tar,
    /// `-` for stdin, gzip too) or oci-layout:DIR[:TAG] (no engine needed for those two;
    /// `--platform` picks a manifest of a multi-platform layout).
    #[arg(long, value_name = "IMAGE", conflicts_with = "stage")]
    pub image: Option<String>,
    /// The stage to open (name, or index for an unnamed stage).
    #[arg(long, value_name = "NAME")]
    pub stage: Option<String>,
    /// Open the state right after the stage's instruction N (0 is the FROM).
    #[arg(long, value_name = "N", requires = "stage", conflicts_with = "image")]
    pub at: Option<usize>,
    /// One JSON object per entry and line, instead of the indented listing.
    #[arg(long)]
    pub json: bool,
    /// Only entries at most N levels below the root (1: the top-level names).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    #[command(flatten)]
    pub flags: BuildFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOnArg {
    /// Any finding of warning severity or above.
    Leftovers,
    /// Secrets only.
    Secrets,
    None,
}

/// How `diff` and `diff-images` report, and when they fail.
#[derive(Debug, Clone, Args)]
pub(crate) struct DiffOutput {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Exit 1 when findings of this level exist (for CI).
    #[arg(long, value_enum, default_value_t = FailOnArg::None)]
    pub fail_on: FailOnArg,
    /// A TOML file adding rules (`[[rule]]`) or silencing them (`[silence]`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
}

/// `diff [CONTEXT] [--from S] [--to S]`: builds first, from cache when it can.
#[derive(Debug, Clone, Args)]
pub(crate) struct DiffArgs {
    /// The stage to compare from: a name (or index), or `stage@N` for its state after
    /// instruction N. Default: the stage the `--to` stage copies the most from.
    #[arg(long, value_name = "STAGE[@N]")]
    pub from: Option<String>,
    /// The stage to compare to (default: the target, i.e. the final stage).
    #[arg(long, value_name = "STAGE[@N]")]
    pub to: Option<String>,
    #[command(flatten)]
    pub output: DiffOutput,
    #[command(flatten)]
    pub flags: BuildFlags,
}

/// `diff-images A B`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DiffImagesArgs {
    /// The image to compare from: an engine's (name, tag or id), docker-archive:FILE (a
    /// `docker save` tar, `-` for stdin, gzip too) or oci-layout:DIR[:TAG].
    pub from: String,
    /// The image to compare to (the same kinds).
    pub to: String,
    /// Which manifest of a multi-platform OCI layout to open (os/arch[/variant]; default:
    /// this machine's when there is a choice).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    #[command(flatten)]
    pub output: DiffOutput,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WasteFormat {
    Text,
    Json,
}

/// `waste IMAGE` or `waste [CONTEXT] --stage S[@N]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct WasteArgs {
    /// Count the waste of this stage (or `stage@N`, its state after instruction N) of the
    /// build in CONTEXT, built from cache when it can be.
    #[arg(long, value_name = "STAGE[@N]")]
    pub stage: Option<String>,
    /// Output format (JSON: wasted_bytes, efficiency, user_wasted_percent, layers, files).
    #[arg(long, value_enum, default_value_t = WasteFormat::Text)]
    pub format: WasteFormat,
    /// How many files the text lists (the largest waste first).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// How many bottom layers are the base image's (their own waste is counted apart).
    /// Default: for a stage, the layers below the first the Dockerfile made; for an image,
    /// 1 (as dive counts "user" bytes).
    #[arg(long, value_name = "N")]
    pub base_layers: Option<usize>,
    /// Fail (exit 1) when the efficiency is below F (a ratio 0..1, as dive's lowestEfficiency).
    #[arg(long, value_name = "F")]
    pub lowest_efficiency: Option<String>,
    /// Fail when more than N bytes are wasted (N as dive reads it: 1000, 20MB, 1.5GiB; or
    /// disabled).
    #[arg(long, value_name = "N")]
    pub highest_wasted_bytes: Option<String>,
    /// Fail when the Dockerfile's own waste is more than F of the bytes its layers store (a
    /// ratio 0..1, as dive's highestUserWastedPercent despite its name).
    #[arg(long, value_name = "F")]
    pub highest_user_wasted_percent: Option<String>,
    /// dive's `.dive-ci` file (`rules:` lowestEfficiency, highestWastedBytes,
    /// highestUserWastedPercent); a key it leaves out takes dive's default, a flag wins.
    #[arg(long, value_name = "FILE")]
    pub ci_config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: BuildFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    Text,
    Markdown,
    Json,
}

/// `explain [CONTEXT] [build flags] [--format text|markdown|json]`: builds first, from cache
/// when it can.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExplainArgs {
    /// Output: wrapped text for a terminal, Markdown (Mermaid graph, tables) for a page or a
    /// pull request, or one JSON document.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
    #[command(flatten)]
    pub flags: BuildFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Text,
    Json,
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// A build context (or a Dockerfile) to read, as the other commands take it; `-f` wins.
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,
    #[command(flatten)]
    pub dockerfile: DockerfileArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    Text,
    Json,
}

/// `check [CONTEXT] [-f PATH] [--build-arg K=V]… [--format text|json]`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CheckArgs {
    /// The build context directory (its `.dockerignore` feeds CopyIgnoredFile).
    #[arg(default_value = ".", value_name = "CONTEXT")]
    pub context: PathBuf,
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Build argument (`BUILDKIT_DOCKERFILE_CHECK=…` replaces the `# check=` directive).
    #[arg(long = "build-arg", value_name = "K=V")]
    pub build_args: Vec<String>,
    /// Target platform (default: this machine's), e.g. linux/arm64.
    #[arg(long)]
    pub platform: Option<String>,
    /// Output: `PATH:LINE: Rule: detail` lines, or one JSON object.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
}

impl CheckArgs {
    pub(crate) fn dockerfile_args(&self) -> DockerfileArgs {
        DockerfileArgs {
            file: self.file.clone().unwrap_or_else(|| self.context.clone()),
            target: None,
            build_args: self.build_args.clone(),
            platform: self.platform.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
