//! A comparison of two stages (or states): their images, their filesystems, and the ones
//! provenance reads (the stages the release copies from, its base), then
//! [`Comparison::compute`] off the async threads.

use super::{Events, Session, SessionError};
use stagescope_fs::FsIndex;
use stagescope_fs::compare::Comparison;
use stagescope_fs::provenance::{CopySource, Inputs, ReleaseModel};
use stagescope_fs::rules::RuleSet;
use stagescope_plan::StageRef;

/// A comparison and the images of its two sides (what a file's content is read from).
pub struct Compared {
    pub comparison: Comparison,
    pub images: (String, String),
}

impl Session {
    /// What the `to` side's instructions copy and run, up to its state.
    pub(crate) fn release_model(&self, to: StageRef) -> ReleaseModel {
        let opts = stagescope_dockerfile::GraphOptions {
            target: self.request.target.clone(),
            build_args: self.request.build_args.clone(),
            platform: self.request.platform.clone(),
        };
        let mut model = ReleaseModel::from_dockerfile_with(&self.dockerfile, to.stage, &opts);
        if let Some(n) = to.at {
            // The state after instruction N knows only the copies up to N.
            model.copies.retain(|c| c.instruction <= n);
            model.others.retain(|o| o.0 <= n);
        }
        model
    }

    /// Compares `from` with `to`. `built` holds the images the build left per stage (the
    /// rest come from cache builds); `note` hears what is being done, for a progress line.
    pub async fn compare(
        &self,
        built: &[Option<String>],
        from: StageRef,
        to: StageRef,
        rules: RuleSet,
        note: &(dyn Fn(&str) + Sync),
    ) -> Result<Compared, SessionError> {
        let quiet = Events::none();
        let image = async |at: StageRef| self.image_of(built, at, &quiet).await;
        let index = async |at: StageRef| -> Result<FsIndex, SessionError> {
            note(&format!("indexing {}…", at.label(&self.plan)));
            self.index(&image(at).await?).await
        };
        let from_image = image(from).await?;
        let to_image = image(to).await?;
        note(&format!("indexing {}…", from.label(&self.plan)));
        let left = self.index(&from_image).await?;
        note(&format!("indexing {}…", to.label(&self.plan)));
        let right = self.index(&to_image).await?;
        let model = self.release_model(to);
        let mut sources = Vec::new();
        for st in model.source_stages() {
            let ix = if st == from.stage && from.at.is_none() {
                left.clone()
            } else {
                index(StageRef::whole(st)).await?
            };
            sources.push((st, ix));
        }
        let base = match &model.base {
            CopySource::Stage(b) => match sources.iter().find(|(st, _)| st == b) {
                Some((_, ix)) => Some(ix.clone()),
                None => index(StageRef::whole(*b)).await.ok(),
            },
            CopySource::Image(name) if name == "scratch" => Some(FsIndex::default()),
            // The base image as the engine has it; without it, base and own instructions
            // stay undecided.
            CopySource::Image(name) => self.index(name).await.ok(),
            CopySource::Context => None,
        };
        let labels = (from.label(&self.plan), to.label(&self.plan));
        let comparison = tokio::task::spawn_blocking(move || {
            let stages: Vec<(usize, &FsIndex)> = sources.iter().map(|(s, ix)| (*s, ix)).collect();
            let inputs = Inputs {
                stages: &stages,
                base: base.as_ref(),
            };
            Comparison::compute(
                (&labels.0, left),
                (&labels.1, right),
                &rules,
                Some((model, inputs)),
            )
        })
        .await?;
        Ok(Compared {
            comparison,
            images: (from_image, to_image),
        })
    }
}
