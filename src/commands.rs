//! One function per subcommand: load what it needs, run it, print, and return the exit code
//! (0 ok, 1 build failed or findings, 2 usage or Dockerfile error, 130 interrupted).

use std::io::{IsTerminal, Write};

use stagescope::build::{BuildEvent, BuildPlan};
use stagescope::dockerfile::StageGraph;
use stagescope::engine::connect::{Engine, Environment, connect};
use stagescope::engine::context::BuildContext;
use stagescope::engine::export::{finish_cleanups, image_layers, index_image};
use stagescope::engine::run::{BuildRequest, BuilderChoice, new_build_id, run_build, state_image};
use stagescope::engine::{base_image, clean as engine_clean};
use stagescope::fs::Progress;
use stagescope::report;
use stagescope::report::progress::{JsonReporter, PlainReporter};

use crate::cli::{
    BuildArgs, BuildFlags, BuilderArg, EngineArgs, GraphArgs, GraphFormat, LoadError, ProgressArg,
    TreeArgs,
};

mod completions;
mod diff;
mod man;

pub use completions::completions;
pub use diff::{diff, diff_images};
pub use man::man;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

fn fail(code: u8, message: impl std::fmt::Display) -> u8 {
    eprintln!("{message}");
    code
}

fn graph_of(loaded: &crate::cli::Loaded) -> Result<StageGraph, LoadError> {
    StageGraph::build(&loaded.dockerfile, &loaded.options).map_err(|e| LoadError {
        path: loaded.path.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })
}

pub fn graph(args: &GraphArgs) -> u8 {
    let loaded = match args.dockerfile.load() {
        Ok(l) => l,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let g = match graph_of(&loaded) {
        Ok(g) => g,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let df = &loaded.dockerfile;
    let file = loaded.path.display().to_string();
    let out = match args.format {
        GraphFormat::Text => report::graph::text(&file, df, &g),
        GraphFormat::Json => report::graph::json(&file, df, &g),
        GraphFormat::Mermaid => report::graph::mermaid(df, &g),
        GraphFormat::Dot => report::graph::dot(df, &g),
    };
    print!("{out}");
    0
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

/// Resolves when the user asks to stop: Ctrl-C or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

enum Reporter {
    Plain(PlainReporter<std::io::Stdout>),
    Json(JsonReporter<std::io::Stdout>),
}

impl Reporter {
    fn on_event(&mut self, ev: &BuildEvent) {
        // stdout closed (a pipe into `head`): keep building, stop printing.
        let _ = match self {
            Reporter::Plain(r) => r.on_event(ev),
            Reporter::Json(r) => r.on_event(ev),
        };
    }

    fn state(&self) -> &stagescope::build::BuildState {
        match self {
            Reporter::Plain(r) => &r.state,
            Reporter::Json(r) => &r.state,
        }
    }

    fn finish(&mut self) {
        if let Reporter::Json(r) = self {
            let _ = r.finish();
        }
    }
}

/// What a build needs, read from the flags: the Dockerfile, its plan, the context.
struct Prepared {
    loaded: crate::cli::Loaded,
    plan: BuildPlan,
    ctx: BuildContext,
    req: BuildRequest,
}

fn prepare(flags: &BuildFlags) -> Result<Prepared, u8> {
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
    let g = graph_of(&loaded).map_err(|e| fail(EXIT_USAGE, e))?;
    let ctx = BuildContext::new(&flags.context, Some(loaded.path.as_path()))
        .map_err(|e| fail(EXIT_USAGE, e))?;
    let plan = BuildPlan::from_model(&loaded.dockerfile, &g);
    let req = BuildRequest {
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
    };
    Ok(Prepared {
        loaded,
        plan,
        ctx,
        req,
    })
}

pub fn build(args: &BuildArgs) -> u8 {
    let flags = &args.flags;
    let Prepared {
        loaded,
        plan,
        ctx,
        req,
    } = match prepare(flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut reporter = match args.progress {
        ProgressArg::Plain => Reporter::Plain(PlainReporter::new(plan.clone(), std::io::stdout())),
        ProgressArg::Json => Reporter::Json(JsonReporter::new(plan.clone(), std::io::stdout())),
    };
    let rt = runtime();
    rt.block_on(async {
        let engine = match engine_for(&flags.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let build_id = new_build_id();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // Boxed so an interrupt can drop it, closing the request, before cleaning up.
        let mut work = Box::pin(run_build(
            &engine,
            &req,
            &loaded.dockerfile,
            &plan,
            &ctx,
            &build_id,
            &tx,
        ));
        let outcome = loop {
            tokio::select! {
                biased;
                Some(ev) = rx.recv() => reporter.on_event(&ev),
                res = work.as_mut() => break Some(res),
                _ = interrupted() => break None,
            }
        };
        while let Ok(ev) = rx.try_recv() {
            reporter.on_event(&ev);
        }
        reporter.finish();
        match outcome {
            None => {
                // Dropping the request cancels the build in the daemon; then remove what
                // this run made.
                drop(work);
                let n = engine_clean::clean_unfinished(&engine, &build_id, reporter.state()).await;
                let _ = std::io::stdout().flush();
                fail(
                    EXIT_INTERRUPTED,
                    format!("interrupted; removed {n} temporary images and containers"),
                )
            }
            Some(Ok(o)) if o.failed => EXIT_FAILED,
            Some(Ok(_)) => 0,
            Some(Err(e)) => {
                let code = if matches!(
                    e,
                    stagescope::engine::error::EngineError::NeedsBuildkit { .. }
                ) {
                    EXIT_USAGE
                } else {
                    EXIT_FAILED
                };
                fail(code, format!("error: {e}"))
            }
        }
    })
}

/// `stagescope [CONTEXT]`: the terminal UI over the same build `build` runs headless.
pub fn tui(args: &crate::cli::TuiArgs) -> u8 {
    use std::io::IsTerminal;
    let flags = &args.flags;
    if !std::io::stdout().is_terminal() {
        return fail(
            EXIT_USAGE,
            "the terminal UI needs a terminal; use `stagescope build` for headless output",
        );
    }
    let Prepared {
        loaded,
        plan,
        ctx: context,
        req: request,
    } = match prepare(flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let engine = match engine_for(&flags.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let session = stagescope::tui::app::Session {
            engine,
            dockerfile: loaded.dockerfile,
            plan,
            context,
            request,
            step: args.step,
        };
        match stagescope::tui::app::run(session).await {
            Ok(code) => code,
            Err(e) => fail(EXIT_FAILED, format!("terminal error: {e}")),
        }
    })
}

pub fn clean(args: &EngineArgs) -> u8 {
    runtime().block_on(async {
        let engine = match engine_for(args).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        match engine_clean::clean(&engine, None).await {
            Ok(c) => {
                for id in &c.containers {
                    println!("removed container {id}");
                }
                for img in &c.images {
                    println!("removed image {img}");
                }
                if c.containers.is_empty() && c.images.is_empty() {
                    println!("nothing to remove");
                }
                0
            }
            Err(e) => fail(EXIT_FAILED, format!("error: {e}")),
        }
    })
}

pub fn setup_base(args: &EngineArgs) -> u8 {
    runtime().block_on(async {
        let engine = match engine_for(args).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        match base_image::ensure_base_image(&engine).await {
            Ok(how) => {
                println!("{} {how}", base_image::BASE_IMAGE);
                0
            }
            Err(e) => fail(EXIT_FAILED, format!("error: {e}")),
        }
    })
}

/// The stage's index in the plan: its name (case-insensitive, as BuildKit) or its index.
fn stage_index(plan: &BuildPlan, wanted: &str) -> Result<usize, String> {
    plan.stages
        .iter()
        .position(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        .or_else(|| plan.stages.iter().position(|s| s.display_name() == wanted))
        .ok_or_else(|| {
            let names: Vec<String> = plan.stages.iter().map(|s| s.display_name()).collect();
            format!("no stage {wanted:?}; stages: {}", names.join(", "))
        })
}

/// Builds (from cache when it can) and returns the image of `stage`, or of its state after
/// instruction `at`.
/// The build with its events going nowhere, for commands that only want its images.
async fn quiet_build(
    engine: &Engine,
    p: &Prepared,
    build_id: &str,
) -> Result<stagescope::engine::run::BuildOutcome, String> {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let df = &p.loaded.dockerfile;
    let outcome = run_build(engine, &p.req, df, &p.plan, &p.ctx, build_id, &tx)
        .await
        .map_err(|e| format!("error: {e}"))?;
    if outcome.failed {
        return Err(format!(
            "the build failed; run `stagescope build` to see why (build {build_id})"
        ));
    }
    Ok(outcome)
}

async fn stage_image(
    engine: &Engine,
    p: &Prepared,
    build_id: &str,
    stage: usize,
    at: Option<usize>,
) -> Result<String, String> {
    let outcome = quiet_build(engine, p, build_id).await?;
    let built = outcome.stage_images.get(stage).cloned().flatten();
    let last = p.plan.stages[stage].instructions.len().saturating_sub(1);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let image = match (at, built) {
        (None, Some(id)) => Some(id),
        (Some(k), Some(id)) if k == last => Some(id),
        (at, _) => state_image(
            engine,
            outcome.builder,
            &p.req,
            &p.loaded.dockerfile,
            &p.ctx,
            build_id,
            stage,
            at.unwrap_or(last),
            &tx,
        )
        .await
        .map_err(|e| format!("error: {e}"))?,
    };
    image.ok_or_else(|| "error: the engine made no image for that stage".to_string())
}

pub fn tree(args: &TreeArgs) -> u8 {
    let prepared = match &args.stage {
        Some(_) => match prepare(&args.flags) {
            Ok(p) => Some(p),
            Err(code) => return code,
        },
        None => None,
    };
    let stage = match (&prepared, &args.stage) {
        (Some(p), Some(name)) => match stage_index(&p.plan, name) {
            Ok(i) => Some(i),
            Err(e) => return fail(EXIT_USAGE, e),
        },
        _ => None,
    };
    if let (Some(p), Some(i), Some(at)) = (&prepared, stage, args.at) {
        let n = p.plan.stages[i].instructions.len();
        if at >= n {
            return fail(
                EXIT_USAGE,
                format!(
                    "--at {at}: stage {} has instructions 0 to {}",
                    p.plan.stages[i].display_name(),
                    n - 1
                ),
            );
        }
    }
    let show_progress = std::io::stderr().is_terminal();
    runtime().block_on(async {
        let engine = match engine_for(&args.flags.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let build_id = new_build_id();
        let work = async {
            let image = match (&args.image, &prepared, stage) {
                (Some(image), _, _) => image.clone(),
                (None, Some(p), Some(i)) => {
                    if show_progress {
                        eprintln!(
                            "building stage {} (from cache when possible)…",
                            p.plan.stages[i].display_name()
                        );
                    }
                    stage_image(&engine, p, &build_id, i, args.at).await?
                }
                _ => return Err("error: nothing to open".to_string()),
            };
            let ix = index_image(&engine, &image, move |p: Progress| {
                if show_progress {
                    eprint!(
                        "\rindexing: {} entries, {}   ",
                        p.entries,
                        report::tree::human_size(p.bytes)
                    );
                }
            })
            .await
            .map_err(|e| format!("error: {e}"))?;
            // Attribution needs a second stream (the image's layers): only for --json.
            let layers = if args.json {
                match image_layers(&engine, &image).await {
                    Ok(l) => Some(l),
                    Err(e) => {
                        eprintln!("note: no added_by: {e}");
                        None
                    }
                }
            } else {
                None
            };
            Ok((ix, layers))
        };
        let outcome = tokio::select! {
            res = work => Some(res),
            _ = interrupted() => None,
        };
        // Containers whose guard was dropped mid-export are removed before exiting, and an
        // interrupted build's images with them (a finished build's stay: they are the cache
        // that makes the next open instant; `stagescope clean` removes them).
        finish_cleanups().await;
        if outcome.is_none() && prepared.is_some() {
            let _ = engine_clean::clean(&engine, Some(&build_id)).await;
        }
        if show_progress {
            eprintln!();
        }
        let (ix, layers) = match outcome {
            None => return fail(EXIT_INTERRUPTED, "interrupted"),
            Some(Err(e)) => return fail(EXIT_FAILED, e),
            Some(Ok(found)) => found,
        };
        let attribution = layers.as_ref().map(|l| l.attribute(&ix));
        // Layers map to instructions only when the build is known (not for --image).
        let origins = match (&prepared, stage, &layers) {
            (Some(p), Some(i), Some(l)) => {
                let last = p.plan.stages[i].instructions.len().saturating_sub(1);
                report::added_by::map_layers(&p.plan, i, args.at.unwrap_or(last), l)
            }
            _ => Vec::new(),
        };
        let added_by = |id| match (&layers, &attribution) {
            (Some(l), Some(a)) => {
                let text = l.describe(a, id)?;
                let origin = a
                    .get(id as usize)
                    .copied()
                    .flatten()
                    .and_then(|layer| origins.get(usize::from(layer)).cloned().flatten());
                Some(report::tree::AddedBy {
                    stage: origin.as_ref().map(|o| o.stage.clone()),
                    instruction: origin.as_ref().map(|o| o.instruction),
                    line: origin.as_ref().map(|o| o.line),
                    text,
                })
            }
            _ => None,
        };
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let written = if args.json {
            report::tree::json_lines(&ix, args.depth, &added_by, &mut out)
        } else {
            report::tree::text(&ix, args.depth, &mut out)
        };
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = written.and_then(|()| out.flush());
        0
    })
}
