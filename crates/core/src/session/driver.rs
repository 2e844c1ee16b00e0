//! Carries out the [`Stepper`]'s decisions against the engine: the one solve, the cut
//! builds, the pauses. Everything it learns goes out as [`SessionEvent`]s.

use std::time::Instant;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;

use super::stepper::{Cut, Step, StepMode, Stepper};
use super::{Backend, Events, Session, SessionError, SessionEvent, SharedError, pump};
use stagescope_context::BuildContext;
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_engine::filesync::ContextSession;
use stagescope_engine::run::choose_builder;
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

/// The user's answer to a pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub mode: StepMode,
    pub breakpoints: Vec<(usize, usize)>,
}

/// Runs the build to its end: one solve (or, with `step`, a pause before each stage), cut
/// builds from each breakpoint on. `advance` answers pauses; `breakpoints` may change while
/// the solve runs. Ends with [`SessionEvent::Ended`].
pub async fn drive(
    s: &Session,
    step: bool,
    events: &Events,
    mut advance: UnboundedReceiver<Advance>,
    mut breakpoints: watch::Receiver<Vec<(usize, usize)>>,
) {
    let result = drive_steps(s, step, events, &mut advance, &mut breakpoints).await;
    events.send(SessionEvent::Ended(result.map_err(SharedError::from)));
}

async fn drive_steps(
    s: &Session,
    step: bool,
    events: &Events,
    advance: &mut UnboundedReceiver<Advance>,
    breakpoints: &mut watch::Receiver<Vec<(usize, usize)>>,
) -> Result<(), SessionError> {
    let mut m = Stepper::new(&s.plan, step);
    m.set_breakpoints(breakpoints.borrow_and_update().iter().copied());
    if step {
        // A solve announces itself; a chain of cuts is announced here, as one build.
        let kind = s.builder_kind()?;
        events.build(BuildEvent::BuildStarted {
            builder: kind,
            build_id: s.build_id.clone(),
        });
    }
    // A chain of builds is one build to the user: it is checked once, and one session
    // carries the context to all of them, so the daemon syncs it once (and every cut sees
    // the same files).
    let checked = s.context.checked()?;
    let ctx = &checked;
    let mut chain = None;
    if let Backend::Engine(engine) = &s.backend
        && choose_builder(engine, s.request.builder).is_ok_and(|k| k == BuilderKind::Buildkit)
    {
        chain = ContextSession::open(engine, ctx, &s.request.grants).await?;
    }
    let chain = chain.as_ref();
    let mut t = Instant::now();
    loop {
        match m.next_step() {
            Step::Solve => {
                solve(s, (ctx, chain), &mut m, events, breakpoints).await?;
                t = Instant::now();
            }
            Step::Build(cut) => {
                let ok = build_cut(s, (ctx, chain), events, cut).await?;
                m.built(ok);
            }
            Step::Pause(p) => {
                events.send(SessionEvent::Paused(p));
                match advance.recv().await {
                    Some(a) => m.resume(a.mode, a.breakpoints),
                    // The front end went away.
                    None => return Ok(()),
                }
            }
            Step::StageFinished(stage) => {
                events.build(BuildEvent::StageFinished { stage, image: None });
            }
            Step::BuildFinished => events.build(BuildEvent::BuildFinished {
                image: None,
                duration_ms: u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
            Step::Done => return Ok(()),
        }
    }
}

/// The whole build in one solve, as fast as it goes, until an instruction with a breakpoint
/// finishes: then the solve is dropped (the daemon cancels it) and the stepper takes over.
async fn solve(
    s: &Session,
    (ctx, chain): (&BuildContext, Option<&ContextSession>),
    m: &mut Stepper,
    events: &Events,
    breakpoints: &mut watch::Receiver<Vec<(usize, usize)>>,
) -> Result<(), SessionError> {
    let (tx, mut rx) = unbounded_channel();
    let mut work = Box::pin(s.build_on((&s.request, &s.dockerfile, &s.plan), ctx, chain, &tx));
    let mut hit = None;
    let outcome = loop {
        tokio::select! {
            biased;
            Some(ev) = rx.recv() => {
                if let BuildEvent::InstructionFinished { stage, instruction, .. } = &ev {
                    if breakpoints.has_changed().unwrap_or(false) {
                        m.set_breakpoints(breakpoints.borrow_and_update().iter().copied());
                    }
                    if m.instruction_finished(*stage, *instruction) {
                        hit = Some((*stage, *instruction));
                    }
                }
                events.build(ev);
                if hit.is_some() {
                    break None;
                }
            }
            r = work.as_mut() => break Some(r),
        }
    };
    drop(work);
    // What the solve had already said (the stage that just finished, its image) still counts.
    while let Ok(ev) = rx.try_recv() {
        events.build(ev);
    }
    match (outcome, hit) {
        (Some(r), _) => {
            m.solved();
            r?;
            Ok(())
        }
        (None, Some((stage, k))) => {
            m.stop_at(stage, k);
            Ok(())
        }
        (None, None) => {
            m.solved();
            Ok(())
        }
    }
}

/// Which events of a cut build are news: the cut stage's, past what was shown already.
/// The rest are replays of cached work. A cut's "stage image" at a breakpoint is the state
/// there.
pub(crate) fn cut_event(cut: Cut, ev: BuildEvent) -> Option<BuildEvent> {
    let stage = cut.stage;
    let keep = match &ev {
        BuildEvent::InstructionStarted {
            stage: st,
            instruction,
        }
        | BuildEvent::InstructionFinished {
            stage: st,
            instruction,
            ..
        }
        | BuildEvent::Log {
            stage: st,
            instruction,
            ..
        } => *st == stage && cut.skip_upto.is_none_or(|u| *instruction > u),
        BuildEvent::StageStarted { stage: st } | BuildEvent::StageFinished { stage: st, .. } => {
            *st == stage && !cut.at_breakpoint
        }
        BuildEvent::StageImage { stage: st, .. } => *st == stage,
        BuildEvent::BuildStarted { .. } | BuildEvent::BuildFinished { .. } => false,
        _ => true,
    };
    if !keep {
        return None;
    }
    Some(match ev {
        BuildEvent::StageImage { stage: st, image } if cut.at_breakpoint => {
            BuildEvent::StateImage {
                stage: st,
                instruction: cut.upto,
                image,
            }
        }
        other => other,
    })
}

/// One build of the Dockerfile cut after `cut.upto`; true when it went through.
async fn build_cut(
    s: &Session,
    (ctx, chain): (&BuildContext, Option<&ContextSession>),
    events: &Events,
    cut: Cut,
) -> Result<bool, SessionError> {
    let text = s.dockerfile.cut_after(cut.stage, cut.upto.checked_sub(1));
    let df = Dockerfile::parse(text.as_bytes())?;
    let opts = GraphOptions {
        target: None,
        build_args: s.request.build_args.clone(),
        platform: s.request.platform.clone(),
    };
    let g = StageGraph::build(&df, &opts)?;
    let plan = BuildPlan::from_model(&df, &g);
    let ctx = ctx.with_dockerfile_text(text);
    let mut req = s.request.clone();
    req.target = None;
    req.tags.clear();
    let (tx, mut rx) = unbounded_channel();
    let work = s.build_on((&req, &df, &plan), &ctx, chain, &tx);
    let outcome = pump(work, &mut rx, |ev| {
        if let Some(ev) = cut_event(cut, ev) {
            events.build(ev);
        }
    })
    .await;
    Ok(!outcome?.failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::LogStream;

    fn cut(stage: usize, upto: usize, skip_upto: Option<usize>, at_breakpoint: bool) -> Cut {
        Cut {
            stage,
            upto,
            skip_upto,
            at_breakpoint,
        }
    }

    #[test]
    fn a_cut_passes_only_its_stage_and_only_new_instructions() {
        let c = cut(1, 3, Some(1), false);
        let log = |stage, instruction| BuildEvent::Log {
            stage,
            instruction,
            stream: LogStream::Stdout,
            text: "x".into(),
        };
        assert_eq!(cut_event(c, log(0, 2)), None, "another stage's replay");
        assert_eq!(cut_event(c, log(1, 1)), None, "shown before the cut");
        assert_eq!(cut_event(c, log(1, 2)), Some(log(1, 2)));
        assert_eq!(
            cut_event(
                c,
                BuildEvent::BuildFinished {
                    image: None,
                    duration_ms: 1
                }
            ),
            None
        );
    }

    #[test]
    fn a_cut_at_a_breakpoint_names_its_image_the_state_there() {
        let c = cut(2, 4, None, true);
        let img = BuildEvent::StageImage {
            stage: 2,
            image: "sha256:x".into(),
        };
        assert_eq!(
            cut_event(c, img),
            Some(BuildEvent::StateImage {
                stage: 2,
                instruction: 4,
                image: "sha256:x".into()
            })
        );
        assert_eq!(
            cut_event(
                c,
                BuildEvent::StageFinished {
                    stage: 2,
                    image: None
                }
            ),
            None,
            "the stage is not finished at a breakpoint"
        );
    }
}
