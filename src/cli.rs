//! Command-line definitions (clap derive) and the "which Dockerfile" resolution that every
//! subcommand shares.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum, value_parser};

use stagescope_dockerfile::{Dockerfile, GraphOptions};

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

/// The positional argument [`stray_word`] adds to catch what follows CONTEXT.
const REST: &str = "stagescope-rest";

/// The word a command line gives where CONTEXT goes when it is neither a subcommand nor a
/// directory: the `inspect` of `stagescope inspect x`, the `nosuch` of `stagescope nosuch`.
/// Left to clap, the first is taken for CONTEXT and `x` reported as a subcommand that
/// "cannot be used with '[CONTEXT]'", and the second opens the TUI on a missing directory.
/// `None` for anything else (a subcommand, a directory, `--help`, a usage error clap
/// describes well itself).
pub(crate) fn stray_word<I, T>(args: I) -> Option<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // The same command with a catch-all after CONTEXT, so that what follows the word does
    // not stop the parse before CONTEXT can be looked at.
    let lenient = Cli::command().arg(
        Arg::new(REST)
            .num_args(1..)
            .action(ArgAction::Append)
            .value_parser(value_parser!(OsString))
            .hide(true),
    );
    let matches = lenient.try_get_matches_from(args).ok()?;
    if matches.subcommand().is_some()
        || matches.value_source("context") != Some(ValueSource::CommandLine)
    {
        return None;
    }
    let context = matches.get_one::<PathBuf>("context")?;
    (!context.is_dir()).then(|| context.clone().into_os_string())
}

/// The one-line error for a [`stray_word`], naming the subcommands there are.
pub(crate) fn stray_word_error(word: &OsString) -> String {
    let cmd = Cli::command();
    let names: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    format!(
        "error: '{}' is neither a subcommand nor a directory (subcommands: {})",
        word.to_string_lossy(),
        names.join(", ")
    )
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

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
