//! One file per subcommand, each a thin shell over the session core: read the flags, run,
//! print, and return the exit code (0 ok, 1 build failed or findings, 2 usage or Dockerfile
//! error, 130 interrupted). What they share is here.

use stagescope_context::BuildContext;
use stagescope_core::engine::Buildkit;
use stagescope_core::engine::Grants;
use stagescope_core::engine::SecretSpec;
use stagescope_core::engine::SshSpec;
use stagescope_core::engine::{BuildRequest, BuilderChoice};
use stagescope_core::engine::{BuildkitAddr, TlsFiles};
use stagescope_core::engine::{Engine, Environment, connect};
use stagescope_core::session::{Backend, Session, SessionError, Setup, run_until};
use stagescope_dockerfile::StageGraph;
use stagescope_plan::BuildPlan;

use crate::cli::{BuildFlags, BuilderArg, BuildkitArgs, EngineArgs, LoadError, Loaded, RemoteArgs};

mod attach;
mod build;
mod builds;
mod check;
mod clean;
mod compare;
mod completions;
mod diff;
mod diff_images;
mod explain;
mod graph;
mod history;
mod man;
mod replay;
mod reporter;
mod setup_base;
mod tour;
mod tree;
mod tui;
mod waste;

pub(crate) use attach::attach;
pub(crate) use build::build;
pub(crate) use builds::builds;
pub(crate) use check::check;
pub(crate) use clean::clean;
pub(crate) use compare::compare;
pub(crate) use completions::completions;
pub(crate) use diff::diff;
pub(crate) use diff_images::diff_images;
pub(crate) use explain::explain;
pub(crate) use graph::graph;
pub(crate) use history::history;
pub(crate) use man::man;
pub(crate) use replay::replay;
pub(crate) use setup_base::setup_base;
pub(crate) use tour::tour;
pub(crate) use tree::tree;
pub(crate) use tui::tui;
pub(crate) use waste::waste;

pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

fn fail(code: u8, message: impl std::fmt::Display) -> u8 {
    // Messages quote the daemon and the Dockerfile: no escape sequence of theirs gets out.
    eprintln!(
        "{}",
        stagescope_report::sanitize::text(&message.to_string(), false)
    );
    code
}

fn graph_of(loaded: &Loaded) -> Result<StageGraph, LoadError> {
    StageGraph::build(&loaded.dockerfile, &loaded.options).map_err(|e| LoadError {
        path: loaded.path.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })
}

/// `--platform os/arch[/variant]` for an image archive.
fn platform_of(flag: Option<&str>) -> Result<Option<stagescope_fs::archive::Platform>, u8> {
    flag.map(stagescope_fs::archive::Platform::parse)
        .transpose()
        .map_err(|e| fail(EXIT_USAGE, e))
}

/// The `indexing: N entries, SIZE` line on stderr while an image is read (when `show`).
fn index_progress(show: bool) -> impl FnMut(&stagescope_fs::IndexBuilder) + Send + 'static {
    move |b| {
        if show {
            let p = b.progress();
            eprint!(
                "\rindexing: {} entries, {}   ",
                p.entries,
                stagescope_fs::format::human_size(p.bytes)
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::exit(i32::from(EXIT_FAILED));
        }
    }
}

async fn engine_for(args: &EngineArgs) -> Result<Engine, u8> {
    connect(&Environment::from_process(args.host.clone()))
        .await
        .map_err(|e| fail(EXIT_FAILED, e))
}

/// The build the flags describe, checked before any engine is reached.
fn prepare(flags: &BuildFlags) -> Result<Setup, u8> {
    if !flags.context.is_dir() {
        return Err(fail(
            EXIT_USAGE,
            format!(
                "{}: no such directory (the build context must be a directory)",
                flags.context.display()
            ),
        ));
    }
    let loaded = flags
        .dockerfile_args()
        .load()
        .map_err(|e| fail(EXIT_USAGE, e))?;
    let graph = graph_of(&loaded).map_err(|e| fail(EXIT_USAGE, e))?;
    let context = BuildContext::new(&flags.context, Some(loaded.path.as_path()))
        .map_err(|e| fail(EXIT_USAGE, e))?;
    let plan = BuildPlan::from_model(&loaded.dockerfile, &graph);
    let request = BuildRequest {
        target: flags.target.clone(),
        build_args: loaded.options.build_args.clone(),
        platform: flags.platform.clone(),
        no_cache: flags.no_cache,
        builder: match flags.builder {
            BuilderArg::Auto => BuilderChoice::Auto,
            BuilderArg::Buildkit => BuilderChoice::Buildkit,
            BuilderArg::Classic => BuilderChoice::Classic,
        },
        tags: flags.tags.clone(),
        grants: grants(flags).map_err(|e| fail(EXIT_USAGE, e))?,
    };
    Ok(Setup {
        dockerfile: loaded.dockerfile,
        graph,
        plan,
        context,
        request,
    })
}

/// The secrets and ssh agents the flags let the build reach.
fn grants(flags: &BuildFlags) -> Result<Grants, String> {
    Ok(Grants {
        secrets: flags
            .secrets
            .iter()
            .map(|s| SecretSpec::parse(s))
            .collect::<Result<_, _>>()?,
        ssh: flags
            .ssh
            .iter()
            .map(|s| SshSpec::parse(s))
            .collect::<Result<_, _>>()?,
    })
}

/// The BuildKit the flags (or BUILDKIT_HOST, as buildctl reads it) name, if any.
fn buildkit_addr(flags: &BuildFlags) -> Result<Option<BuildkitAddr>, u8> {
    let addr = buildkit_addr_of(&flags.buildkit).map_err(|e| fail(EXIT_USAGE, e))?;
    if addr.is_some() && flags.builder == BuilderArg::Classic {
        return Err(fail(
            EXIT_USAGE,
            "--builder classic and --buildkit-addr (or BUILDKIT_HOST) do not go together",
        ));
    }
    Ok(addr)
}

/// The BuildKit `--buildkit-addr` (or BUILDKIT_HOST) names, with its TLS files, if any.
fn buildkit_addr_of(b: &BuildkitArgs) -> Result<Option<BuildkitAddr>, String> {
    let tls = TlsFiles {
        ca: b.tls_ca.clone(),
        cert: b.tls_cert.clone(),
        key: b.tls_key.clone(),
        server_name: b.tls_servername.clone(),
    };
    let addr = b.addr.clone().or_else(|| {
        std::env::var("BUILDKIT_HOST")
            .ok()
            .filter(|h| !h.is_empty())
    });
    let Some(addr) = addr else {
        if !tls.is_empty() || tls.server_name.is_some() {
            return Err("--buildkit-tls-* need --buildkit-addr tcp://HOST:PORT".into());
        }
        return Ok(None);
    };
    BuildkitAddr::parse(&addr, &tls).map(Some)
}

/// Where the flags say to build: a BuildKit through its Control API, else the engine.
async fn backend_for(flags: &BuildFlags) -> Result<Backend, u8> {
    let Some(addr) = buildkit_addr(flags)? else {
        return Ok(Backend::Engine(engine_for(&flags.engine).await?));
    };
    let engine = match addr {
        BuildkitAddr::Docker => Some(engine_for(&flags.engine).await?),
        _ => None,
    };
    Buildkit::connect(addr, engine)
        .await
        .map(Backend::Buildkit)
        .map_err(|e| fail(EXIT_FAILED, e))
}

/// The session of a prepared build, where the flags say to build.
async fn session_for(setup: Setup, flags: &BuildFlags) -> Result<Session, u8> {
    Ok(Session::new(setup, backend_for(flags).await?))
}

/// Writes a run's record; a history that cannot be written costs a warning, not the build.
fn finish_recording(recording: &stagescope_core::session::record::Recording) {
    if let Err(e) = recording.finish() {
        eprintln!(
            "warning: {}",
            stagescope_report::sanitize::text(&e.to_string(), false)
        );
    }
}

/// Where a long command says what it is doing: stderr, when that is a terminal.
fn progress_note() -> impl Fn(&str) + Sync + Copy {
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    move |what: &str| {
        if show {
            eprintln!("{what}");
        }
    }
}

/// Resolves when the user asks to stop: Ctrl-C or SIGTERM. The listeners are in place when
/// this returns, not when the future is first polled, so a signal that lands before the
/// first poll (a busy event loop polls its other branches first) still counts.
fn interrupted() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let int = signal(SignalKind::interrupt());
    let term = signal(SignalKind::terminate());
    async move {
        match (int, term) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (Ok(mut int), Err(_)) => {
                int.recv().await;
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// The line a command prints for a session's error: a build that failed has said so, and
/// where to look; anything else stopped this command.
fn error_line(e: SessionError) -> String {
    match e {
        SessionError::BuildFailed { .. } => e.to_string(),
        e => format!("error: {e}"),
    }
}

/// Runs `work`, stopping on Ctrl-C or SIGTERM (the session waits for what it left to go).
async fn interruptible<T>(work: impl Future<Output = Result<T, SessionError>>) -> Result<T, u8> {
    match run_until(work, interrupted()).await {
        None => Err(fail(EXIT_INTERRUPTED, "interrupted")),
        Some(Err(e)) => Err(fail(EXIT_FAILED, error_line(e))),
        Some(Ok(v)) => Ok(v),
    }
}

/// The BuildKit whose build records `remote` names: `--buildkit-addr` (or BUILDKIT_HOST),
/// else the engine's own.
async fn records_at(remote: &RemoteArgs) -> Result<Buildkit, String> {
    let addr = buildkit_addr_of(&remote.buildkit)?;
    stagescope_core::builds::reach(remote.engine.host.clone(), addr).await
}
