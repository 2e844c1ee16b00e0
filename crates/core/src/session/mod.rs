//! The build core both front ends drive: one build's engine, Dockerfile model, plan,
//! context and request, with the operations the TUI and the subcommands share — run a
//! build as a stream of events, step and stop at breakpoints ([`driver`] over the pure
//! [`stepper`]), the image of a stage or of the state after an instruction ([`images`]),
//! a state's filesystem ([`files`]), a comparison of two stages ([`compare`]), and a shell
//! in a state ([`shell`]).

pub mod compare;
pub mod driver;
mod error;
pub mod explain;
pub mod files;
pub mod images;
pub mod lint;
pub mod record;
pub mod remote;
pub mod shell;
pub mod stepper;

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use stagescope_context::BuildContext;
use stagescope_dockerfile::{Dockerfile, StageGraph};
use stagescope_engine::connect::Engine;
use stagescope_engine::control::Buildkit;
use stagescope_engine::error::EngineError;
use stagescope_engine::export::finish_cleanups;
use stagescope_engine::filesync::ContextSession;
use stagescope_engine::run::{
    BuildInputs, BuildOn, BuildOutcome, BuildRequest, choose_builder, new_build_id, run_build,
};
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

pub use error::{SessionError, SharedError};
pub use stepper::{Pause, StepMode};

/// What a build needs before an engine is reached: read and checked from the flags.
pub struct Setup {
    pub dockerfile: Dockerfile,
    pub graph: StageGraph,
    pub plan: BuildPlan,
    pub context: BuildContext,
    pub request: BuildRequest,
}

/// Where a build runs: an engine (its BuildKit or classic builder, or Podman), or a BuildKit
/// reached through its Control API (no image store: states come back as tar exports).
// One per session: the size of the larger variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Engine(Engine),
    Buildkit(Buildkit),
}

impl From<Engine> for Backend {
    fn from(e: Engine) -> Self {
        Backend::Engine(e)
    }
}

/// One build: what it builds, where, and the id that labels everything it makes.
pub struct Session {
    pub backend: Backend,
    pub dockerfile: Dockerfile,
    pub graph: StageGraph,
    pub plan: BuildPlan,
    pub context: BuildContext,
    pub request: BuildRequest,
    pub build_id: String,
}

impl Session {
    pub fn new(setup: Setup, backend: impl Into<Backend>) -> Self {
        let Setup {
            dockerfile,
            graph,
            plan,
            context,
            request,
        } = setup;
        Session {
            backend: backend.into(),
            dockerfile,
            graph,
            plan,
            context,
            request,
            build_id: new_build_id(),
        }
    }

    /// "docker 20.10.24 (API 1.41)", "BuildKit v0.12.5 at tcp://…": where this session builds.
    pub fn engine_label(&self) -> String {
        match &self.backend {
            Backend::Engine(e) => e.describe(),
            Backend::Buildkit(b) => b.describe(),
        }
    }

    /// The engine, for what only an engine does (a shell, an image's layers); a build on a
    /// Control API BuildKit is [`SessionError::NeedsEngine`].
    pub fn engine(&self) -> Result<&Engine, SessionError> {
        match &self.backend {
            Backend::Engine(e) => Ok(e),
            Backend::Buildkit(b) => Err(SessionError::NeedsEngine {
                needs: "this needs a Docker engine",
                builder: b.describe(),
            }),
        }
    }

    /// The builder a build of this session uses.
    pub(crate) fn builder_kind(&self) -> Result<BuilderKind, EngineError> {
        match &self.backend {
            Backend::Engine(e) => choose_builder(e, self.request.builder),
            Backend::Buildkit(_) => Ok(BuilderKind::Buildkit),
        }
    }

    /// One build of `df` (this session's, or a cut of it) on this session's backend;
    /// `chain` is an engine build session several builds share (a step-mode chain).
    pub(crate) async fn build_on(
        &self,
        (req, df, plan): (&BuildRequest, &Dockerfile, &BuildPlan),
        ctx: &BuildContext,
        chain: Option<&ContextSession>,
        tx: &tokio::sync::mpsc::UnboundedSender<BuildEvent>,
    ) -> Result<BuildOutcome, EngineError> {
        let on = match &self.backend {
            Backend::Engine(engine) => BuildOn::Engine(BuildInputs {
                engine,
                req,
                dockerfile: df,
                context: ctx,
                build_id: &self.build_id,
                session: chain,
            }),
            Backend::Buildkit(b) => BuildOn::Control {
                buildkit: b,
                req,
                context: ctx,
                build_id: &self.build_id,
            },
        };
        run_build(on, plan, tx).await
    }
}

impl Session {
    /// Waits until the containers of this session's abandoned work are gone: an export or
    /// a shell dropped midway (a job aborted, the user quit) leaves its container to a
    /// removal task, which the runtime would kill with the process. A front end calls this
    /// once its tasks are stopped, before it exits.
    pub async fn finish_cleanups(&self) {
        finish_cleanups().await;
    }
}

/// Runs `work` until it ends or `stop` resolves (None), then waits for the containers
/// abandoned work left (see [`Session::finish_cleanups`]): the way a command runs work on
/// the engine, with or without a session, so no front end has to remember the removals.
pub async fn run_until<T>(
    work: impl Future<Output = T>,
    stop: impl Future<Output = ()>,
) -> Option<T> {
    // Dropping `work` at the end of the select is what starts its containers' removals.
    let outcome = tokio::select! {
        r = work => Some(r),
        () = stop => None,
    };
    finish_cleanups().await;
    outcome
}

/// What the core tells a front end while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Build(BuildEvent),
    /// The build waits for [`driver::Advance`].
    Paused(Pause),
    /// The driver stopped: finished, failed (the events said how), or could not go on.
    Ended(Result<(), SharedError>),
}

/// Where a session's events go: a front end's own channel, whatever its message type.
#[derive(Clone)]
pub struct Events(Arc<dyn Fn(SessionEvent) + Send + Sync>);

impl Events {
    pub fn new(f: impl Fn(SessionEvent) + Send + Sync + 'static) -> Self {
        Events(Arc::new(f))
    }

    /// Events nobody watches (a command that only wants images).
    pub fn none() -> Self {
        Events::new(|_| {})
    }

    pub fn send(&self, ev: SessionEvent) {
        (self.0)(ev);
    }

    pub fn build(&self, ev: BuildEvent) {
        self.send(SessionEvent::Build(ev));
    }
}

/// Runs `work` (which sends into the channel `rx` reads) and hands each event to `on` as it
/// arrives, then the ones still queued when `work` ends.
pub(crate) async fn pump<T>(
    work: impl Future<Output = T>,
    rx: &mut UnboundedReceiver<BuildEvent>,
    mut on: impl FnMut(BuildEvent),
) -> T {
    let mut work = std::pin::pin!(work);
    let out = loop {
        tokio::select! {
            biased;
            Some(ev) = rx.recv() => on(ev),
            r = work.as_mut() => break r,
        }
    };
    while let Ok(ev) = rx.try_recv() {
        on(ev);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn run_until_stops_the_work_when_asked() {
        let finished = run_until(async { 7 }, std::future::pending()).await;
        assert_eq!(finished, Some(7));
        let stopped = run_until(std::future::pending::<u8>(), async {}).await;
        assert_eq!(stopped, None);
    }
}
