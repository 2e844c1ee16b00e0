//! The build driver, whichever builder: the build's sequence (check, session, solve, result)
//! once for an engine and a Control API BuildKit, and the images of stages and states that
//! an engine build makes afterwards, when something asks for them.

use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::buildkit::VertexMapper;
use super::classic::ClassicMapper;
use super::connect::Engine;
use super::error::EngineError;
use super::filesync::ContextSession;
use super::journal::Journal;
use super::names::stage_tag;
use super::status::{Solved, StatusReport, emit};
use crate::control::Buildkit;
use stagescope_context::BuildContext;
use stagescope_dockerfile::Dockerfile;
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind, InternalStep};

use crate::build_call::{Mapper, Solve, elapsed_ms, solve};
pub use crate::request::{BuildOutcome, BuildRequest, BuilderChoice};

pub fn new_build_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

pub fn choose_builder(engine: &Engine, choice: BuilderChoice) -> Result<BuilderKind, EngineError> {
    match choice {
        BuilderChoice::Classic => Ok(BuilderKind::Classic),
        BuilderChoice::Buildkit if !engine.offers_buildkit() => {
            Err(EngineError::NoBuildkit(engine.describe()))
        }
        BuilderChoice::Buildkit => Ok(BuilderKind::Buildkit),
        BuilderChoice::Auto if engine.offers_buildkit() => Ok(BuilderKind::Buildkit),
        BuilderChoice::Auto => Ok(BuilderKind::Classic),
    }
}

/// Refuses, before anything is sent, syntax the classic builder would reject mid-build.
pub(crate) fn check_classic(df: &Dockerfile) -> Result<(), EngineError> {
    match df.buildkit_only().into_iter().next() {
        Some((line, what)) => Err(EngineError::NeedsBuildkit { line, what }),
        None => Ok(()),
    }
}

/// Where a build is solved: on an engine (its BuildKit through `/build`, or the classic
/// builder), or on a BuildKit's Control API (no image store: the result stays in its cache,
/// tags only through `--buildkit-addr docker`).
#[derive(Clone, Copy)]
pub enum BuildOn<'a> {
    Engine(BuildInputs<'a>),
    Control {
        buildkit: &'a Buildkit,
        req: &'a BuildRequest,
        context: &'a BuildContext,
        build_id: &'a str,
    },
}

/// The one build driver, whichever builder: check the context, open the session, solve
/// with the status reported as events, then (on an engine) the result's image and tags,
/// and on failure an image of the state just before the failing instruction.
pub async fn run_build(
    on: BuildOn<'_>,
    plan: &BuildPlan,
    tx: &UnboundedSender<BuildEvent>,
) -> Result<BuildOutcome, EngineError> {
    let (req, ctx, build_id) = match on {
        BuildOn::Engine(i) => (i.req, i.context, i.build_id),
        BuildOn::Control {
            req,
            context,
            build_id,
            ..
        } => (req, context, build_id),
    };
    let kind = match on {
        BuildOn::Engine(i) => choose_builder(i.engine, req.builder)?,
        BuildOn::Control { .. } => BuilderKind::Buildkit,
    };
    let exporter = match on {
        BuildOn::Engine(i) if kind == BuilderKind::Classic => {
            check_classic(i.dockerfile)?;
            None
        }
        BuildOn::Engine(_) => None,
        BuildOn::Control { buildkit, .. } => crate::control::build::exporter(buildkit, req)?,
    };
    ctx.check()
        .map_err(|e| EngineError::Context(e.to_string()))?;
    // One session for the build and every stage image after it: the daemon syncs the
    // context once (BuildKit keys a session's local sources by session).
    let own_session = match on {
        BuildOn::Engine(i) if kind == BuilderKind::Buildkit && i.session.is_none() => {
            ContextSession::open(i.engine, ctx, &req.grants).await?
        }
        BuildOn::Engine(_) => None,
        BuildOn::Control { buildkit, .. } => Some(buildkit.session(ctx, req).await?),
    };
    let session = match (on, kind) {
        (BuildOn::Engine(i), BuilderKind::Buildkit) => i.session.or(own_session.as_ref()),
        (BuildOn::Engine(_), BuilderKind::Classic) => None,
        (BuildOn::Control { .. }, _) => own_session.as_ref(),
    };
    let mut report = StatusReport::start(tx, kind, build_id);
    let mut mapper = match kind {
        BuilderKind::Buildkit => Mapper::Buildkit(VertexMapper::new(plan.clone())),
        BuilderKind::Classic => Mapper::Classic(ClassicMapper::new(plan.clone())),
    };
    let target_name = plan
        .stages
        .get(plan.target)
        .map(|s| s.display_name())
        .unwrap_or_default();
    let mut tags = req.tags.clone();
    tags.insert(0, stage_tag(build_id, &target_name));
    // Classic intermediate images carry no label: noted on disk until the run is over, so
    // that `clean` finds them after a run that could not remove them itself.
    let mut journal = (kind == BuilderKind::Classic).then(|| Journal::new(build_id));
    let Solved {
        image,
        failure,
        context,
    } = match (on, &mut mapper, session) {
        (BuildOn::Engine(i), _, _) => {
            let main = Solve {
                engine: i.engine,
                kind,
                req,
                dockerfile_text: None,
                target: req.target.clone(),
                tags: tags.clone(),
                session,
            };
            solve(&main, ctx, tx, &mut mapper, &mut report, journal.as_mut()).await?
        }
        (BuildOn::Control { buildkit, .. }, Mapper::Buildkit(m), Some(session)) => {
            let spec = crate::control::SolveSpec {
                req,
                session,
                dockerfile_text: ctx.replacement_text(),
                target: req.target.clone(),
                exporter,
            };
            crate::control::build::solve(buildkit, spec, m, &mut report).await?
        }
        // A Control API build is BuildKit's and always opens its session above.
        (BuildOn::Control { .. }, _, _) => {
            return Err(EngineError::Buildkit(
                "no build session to solve with".to_string(),
            ));
        }
    };
    emit(tx, [context]);
    let mut stage_images: Vec<Option<String>> = vec![None; plan.stages.len()];
    match &mut mapper {
        Mapper::Buildkit(m) if failure.is_none() => emit(tx, m.settle_needed_stages()),
        Mapper::Classic(m) => {
            let evs = m.on_end(report.elapsed_ms());
            if let Some(j) = journal.as_mut() {
                j.note(&evs);
            }
            emit(tx, evs);
        }
        _ => {}
    }
    // The build went through (passed or failed): what it made is build cache now.
    journal.inspect(Journal::close);

    if failure.is_some() {
        if let BuildOn::Engine(inputs) = on {
            let inputs = BuildInputs { session, ..inputs };
            state_before_failure(inputs, kind, plan, &mapper, tx).await?;
        }
        return Ok(BuildOutcome {
            build_id: build_id.to_string(),
            builder: kind,
            image: None,
            failed: true,
            stage_images,
        });
    }
    let image = match on {
        BuildOn::Engine(i) => {
            engine_result(
                i.engine,
                build_id,
                plan,
                &tags,
                image,
                &mapper,
                &mut stage_images,
                tx,
            )
            .await?
        }
        BuildOn::Control { .. } => None,
    };
    emit(
        tx,
        [BuildEvent::BuildFinished {
            image: image.clone(),
            duration_ms: report.elapsed_ms(),
        }],
    );
    if let BuildOn::Engine(i) = on {
        // After this run's tags are on (an image a cached rebuild gave back has both), and
        // after the result: the earlier runs' tags of this context go.
        super::names::replace_earlier_tags(i.engine, ctx.dir(), ctx.dockerfile_path(), build_id)
            .await;
    }
    Ok(BuildOutcome {
        build_id: build_id.to_string(),
        builder: kind,
        image,
        failed: false,
        stage_images,
    })
}

/// An engine build's result: the target's image id, tagged with the extra `--tag`s and
/// announced, and (classic) every needed stage's image. BuildKit exported only the target,
/// as buildx does: another stage's image is a solve of its own (from the cache, through the
/// same session) made when something needs it (`Session::image_of`), so it never lengthens
/// the build.
#[allow(clippy::too_many_arguments)]
async fn engine_result(
    engine: &Engine,
    build_id: &str,
    plan: &BuildPlan,
    tags: &[String],
    image: Option<String>,
    mapper: &Mapper,
    stage_images: &mut [Option<String>],
    tx: &UnboundedSender<BuildEvent>,
) -> Result<Option<String>, EngineError> {
    let image = match image {
        Some(i) => Some(i),
        None => image_id_of(engine, &tags[0]).await,
    };
    for extra in tags.iter().skip(1) {
        if let Some(id) = &image {
            super::names::tag_image(engine, id, extra).await?;
        }
    }
    stage_images[plan.target] = image.clone();
    if let Some(id) = &image {
        emit(
            tx,
            [BuildEvent::StageImage {
                stage: plan.target,
                image: id.clone(),
            }],
        );
    }
    if let Mapper::Classic(_) = mapper {
        classic_stage_images(engine, build_id, plan, mapper, stage_images, tx).await?;
    }
    Ok(image)
}

/// On failure, an image of the state just before the failing instruction, tagged and
/// announced: where the user's shell opens and what the files pane shows.
async fn state_before_failure(
    inputs: BuildInputs<'_>,
    kind: BuilderKind,
    plan: &BuildPlan,
    mapper: &Mapper,
    tx: &UnboundedSender<BuildEvent>,
) -> Result<(), EngineError> {
    let (engine, build_id) = (inputs.engine, inputs.build_id);
    let (stage, instruction) = failed_step(mapper);
    if let (Some(stage), Some(k)) = (stage, instruction) {
        let before = match &mapper {
            Mapper::Classic(m) => m.image_before(stage).map(str::to_string),
            Mapper::Buildkit(_) => match k.checked_sub(1) {
                Some(prev) => state_image(inputs, kind, stage, prev, tx)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            },
        };
        if let Some(image) = before
            && let Some(prev) = k.checked_sub(1)
        {
            let image = tag_state(engine, build_id, plan, stage, prev, &image).await?;
            emit(
                tx,
                [BuildEvent::StateImage {
                    stage,
                    instruction: prev,
                    image,
                }],
            );
        }
    }
    Ok(())
}
/// The classic builder made an image of every stage on its way: each needed stage's is
/// tagged and announced.
async fn classic_stage_images(
    engine: &Engine,
    build_id: &str,
    plan: &BuildPlan,
    mapper: &Mapper,
    stage_images: &mut [Option<String>],
    tx: &UnboundedSender<BuildEvent>,
) -> Result<(), EngineError> {
    let others = plan
        .stages
        .iter()
        .filter(|s| s.needed && s.index != plan.target)
        .map(|s| s.index);
    for stage in others {
        let Some(id) = classic_stage_image(mapper, stage) else {
            continue;
        };
        let name = plan.stages[stage].display_name();
        super::names::tag_image(engine, &id, &stage_tag(build_id, &name)).await?;
        emit(
            tx,
            [BuildEvent::StageImage {
                stage,
                image: id.clone(),
            }],
        );
        stage_images[stage] = Some(id);
    }
    Ok(())
}

fn classic_stage_image(mapper: &Mapper, stage: usize) -> Option<String> {
    match mapper {
        Mapper::Classic(m) => m.stage_image(stage).map(str::to_string),
        Mapper::Buildkit(_) => None,
    }
}

fn failed_step(mapper: &Mapper) -> (Option<usize>, Option<usize>) {
    match mapper {
        Mapper::Buildkit(m) => m
            .failed_step()
            .map_or((None, None), |(s, k)| (Some(s), Some(k))),
        Mapper::Classic(m) => m
            .failed_step()
            .map_or((None, None), |(s, k)| (Some(s), Some(k))),
    }
}

async fn image_id_of(engine: &Engine, reference: &str) -> Option<String> {
    engine
        .docker
        .inspect_image(reference)
        .await
        .ok()
        .and_then(|i| i.id)
}

async fn tag_state(
    engine: &Engine,
    build_id: &str,
    plan: &BuildPlan,
    stage: usize,
    instruction: usize,
    image: &str,
) -> Result<String, EngineError> {
    let name = format!("{}-at-{}", plan.stages[stage].display_name(), instruction);
    super::names::tag_image(engine, image, &stage_tag(build_id, &name)).await?;
    Ok(image_id_of(engine, image)
        .await
        .unwrap_or_else(|| image.to_string()))
}

/// What the builds of one session share: where, what, from which context, and the id that
/// labels everything they make.
#[derive(Clone, Copy)]
pub struct BuildInputs<'a> {
    pub engine: &'a Engine,
    pub req: &'a BuildRequest,
    pub dockerfile: &'a Dockerfile,
    pub context: &'a BuildContext,
    pub build_id: &'a str,
    /// The BuildKit session carrying the context, when the caller has one open; else
    /// `state_image` opens its own.
    pub session: Option<&'a ContextSession>,
}

/// What to solve for the state of `stage` after its instruction `k` (0 is the FROM): a
/// Dockerfile text (None: the real one) and a target. A named stage's final state is the
/// main Dockerfile with that stage as target: the very same solve, so every vertex comes
/// from cache. Anything else needs a cut Dockerfile (the model counts instructions after
/// FROM from 0; events count the FROM as 0).
pub fn state_solve(
    df: &Dockerfile,
    stage: usize,
    k: usize,
) -> Option<(Option<String>, Option<String>)> {
    let st = df.stages.get(stage)?;
    Some(match &st.name {
        Some(name) if k >= st.instructions.len() => (None, Some(name.clone())),
        _ => (Some(df.cut_after(stage, k.checked_sub(1))), None),
    })
}

/// The image of `stage` right after its instruction `k` (0 is the FROM), built from a
/// Dockerfile cut there and served from the cache the main build left. BuildKit only.
pub async fn state_image(
    inputs: BuildInputs<'_>,
    kind: BuilderKind,
    stage: usize,
    k: usize,
    tx: &UnboundedSender<BuildEvent>,
) -> Result<Option<String>, EngineError> {
    let BuildInputs {
        engine,
        req,
        dockerfile: df,
        context: ctx,
        build_id,
        session,
    } = inputs;
    let Some(st) = df.stages.get(stage) else {
        return Ok(None);
    };
    let label = if k >= st.instructions.len() {
        st.display_name()
    } else {
        format!("{}-at-{}", st.display_name(), k)
    };
    let Some((dockerfile_text, target)) = state_solve(df, stage, k) else {
        return Ok(None);
    };
    let tag = stage_tag(build_id, &label);
    let step = InternalStep {
        name: format!("image of stage {label}"),
    };
    emit(tx, [BuildEvent::InternalStarted { step: step.clone() }]);
    let t = Instant::now();
    // Always from cache, even for a --no-cache build: the main build just made every vertex,
    // and running them again would be slow and could give a stage image other contents than
    // the build used (anything non-deterministic, a download, a timestamp).
    let from_cache = BuildRequest {
        no_cache: false,
        ..req.clone()
    };
    let own_session = match (session, kind) {
        (None, BuilderKind::Buildkit) => ContextSession::open(engine, ctx, &req.grants).await?,
        _ => None,
    };
    let solve_req = Solve {
        engine,
        kind,
        req: &from_cache,
        dockerfile_text,
        target,
        tags: vec![tag.clone()],
        session: session.or(own_session.as_ref()),
    };
    // This build's own vertexes are not the user's build: they go to a throwaway mapper.
    let mut quiet = Mapper::Buildkit(VertexMapper::new(BuildPlan::default()));
    let (sink, _drop) = tokio::sync::mpsc::unbounded_channel();
    let mut unseen = StatusReport::start(&sink, kind, build_id);
    let failure = solve(&solve_req, ctx, &sink, &mut quiet, &mut unseen, None)
        .await?
        .failure;
    emit(
        tx,
        [BuildEvent::InternalFinished {
            step,
            cached: true,
            duration_ms: elapsed_ms(t),
        }],
    );
    if failure.is_some() {
        return Ok(None);
    }
    Ok(image_id_of(engine, &tag).await)
}
