//! Builds and the images they leave: the whole build, and the image of any stage or of the
//! state after any instruction, built from the cache when the build did not keep it.

use tokio::sync::mpsc::unbounded_channel;

use super::{Backend, Events, Session, SessionError, pump, remote};
use stagescope_engine::error::EngineError;
use stagescope_engine::run::{BuildInputs, BuildOutcome, choose_builder, state_image};
use stagescope_fs::FsIndex;
use stagescope_plan::{BuildEvent, StageRef};

impl Session {
    /// The build as the request asks for it; its events go to `events` as they happen.
    pub async fn run(&self, events: &Events) -> Result<BuildOutcome, EngineError> {
        let (tx, mut rx) = unbounded_channel();
        let work = self.build_on(
            (&self.request, &self.dockerfile, &self.plan),
            &self.context,
            None,
            &tx,
        );
        pump(work, &mut rx, |ev| events.build(ev)).await
    }

    /// The build with nobody watching, for commands that only want its images: per stage,
    /// the image it left, if any.
    pub async fn build_quietly(&self) -> Result<Vec<Option<String>>, SessionError> {
        let outcome = self.run(&Events::none()).await?;
        self.went_through(outcome.failed)?;
        Ok(outcome.stage_images)
    }

    /// [`SessionError::BuildFailed`] when a build that only had to make images failed.
    pub(crate) fn went_through(&self, failed: bool) -> Result<(), SessionError> {
        match failed {
            true => Err(SessionError::BuildFailed {
                build_id: self.build_id.clone(),
            }),
            false => Ok(()),
        }
    }

    /// The image of a stage, or of its state after an instruction: the one the build left
    /// (`built`, per stage) when it is that, else one built from the cache. The cache build's
    /// own steps go to `events`.
    pub async fn image_of(
        &self,
        built: &[Option<String>],
        at: StageRef,
        events: &Events,
    ) -> Result<String, SessionError> {
        let last = self.plan.stages[at.stage]
            .instructions
            .len()
            .saturating_sub(1);
        let k = at.at.unwrap_or(last);
        if k == last
            && let Some(Some(id)) = built.get(at.stage)
        {
            return Ok(id.clone());
        }
        let engine = match &self.backend {
            Backend::Engine(e) => e,
            // No image store: the state is named, and its files come from a tar export.
            Backend::Buildkit(_) => return Ok(remote::state_name(at.stage, k)),
        };
        let kind = choose_builder(engine, self.request.builder)?;
        let (tx, mut rx) = unbounded_channel();
        let inputs = BuildInputs {
            engine,
            req: &self.request,
            dockerfile: &self.dockerfile,
            context: &self.context,
            build_id: &self.build_id,
            session: None,
        };
        let work = state_image(inputs, kind, at.stage, k, &tx);
        let made = pump(work, &mut rx, |ev| events.build(ev)).await?;
        made.ok_or_else(|| SessionError::NoImage {
            stage: at.label(&self.plan),
        })
    }

    /// Like [`Session::image_of`], and the model learns that state's image.
    pub async fn state_image(
        &self,
        built: &[Option<String>],
        at: StageRef,
        events: &Events,
    ) -> Result<String, SessionError> {
        let image = self.image_of(built, at, events).await?;
        if let Some(instruction) = at.at {
            events.build(BuildEvent::StateImage {
                stage: at.stage,
                instruction,
                image: image.clone(),
            });
        }
        Ok(image)
    }

    /// The filesystem of an image (see [`super::files::open_files`]), owned.
    pub async fn index(&self, image: &str) -> Result<FsIndex, SessionError> {
        let opened = self.open_files(image, |_| {}).await?;
        Ok(std::sync::Arc::unwrap_or_clone(opened.index))
    }
}
