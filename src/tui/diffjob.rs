//! The diff view's background job: get the two stage images (from the build, or a cut
//! build served from cache), index them and what provenance needs as they stream, and
//! compute the [`DiffData`] off the UI thread. The answer goes back by value with the
//! request id it was asked with; the UI drops it if the view has moved on.

use tokio::sync::mpsc::unbounded_channel;

use super::app::Session;
use super::diffpreview::{FetchSides, Sides};
use super::diffview::{Attribution, DiffData, Indexed};
use super::preview::PREVIEW_LIMIT;
use crate::engine::export::index_image;
use crate::engine::fetch::{FetchedFile, fetch_path};
use crate::fs::FsIndex;
use crate::fs::provenance::{CopySource, Inputs, ReleaseModel};
use crate::fs::rules::RuleSet;

/// What `Cmd::IndexDiff` asks for.
pub struct Job {
    pub request: u64,
    pub from: usize,
    pub to: usize,
    pub images: Vec<Option<String>>,
}

pub async fn run(s: &Session, build_id: &str, job: Job) -> Indexed {
    Indexed {
        request: job.request,
        result: compute(s, build_id, &job).await.map(Box::new),
    }
}

/// The image of a whole stage: the build's, else a cut build of it (all from cache).
async fn image_of(s: &Session, build_id: &str, job: &Job, stage: usize) -> Result<String, String> {
    if let Some(Some(id)) = job.images.get(stage) {
        return Ok(id.clone());
    }
    let last = s.plan.stages[stage].instructions.len().saturating_sub(1);
    // Its events would replay cached work into the build's panes: not shown.
    let (tx, _rx) = unbounded_channel();
    let id = s.state_image(build_id, stage, last, &tx).await?;
    id.ok_or_else(|| format!("the engine made no image for stage {stage}"))
}

async fn index(s: &Session, image: &str) -> Result<FsIndex, String> {
    index_image(&s.engine, image, |_| {})
        .await
        .map_err(|e| e.to_string())
}

/// Both sides of one file, read at once (each in its own throwaway container).
pub async fn fetch_sides(s: &Session, job: FetchSides) -> Sides {
    async fn one(
        s: &Session,
        side: Option<(String, Vec<u8>)>,
    ) -> Option<Result<FetchedFile, String>> {
        let (image, path) = side?;
        Some(
            fetch_path(&s.engine, &image, &path, PREVIEW_LIMIT)
                .await
                .map_err(|e| e.to_string()),
        )
    }
    let (left, right) = tokio::join!(one(s, job.left), one(s, job.right));
    Sides {
        request: job.request,
        left,
        right,
    }
}

async fn compute(s: &Session, build_id: &str, job: &Job) -> Result<DiffData, String> {
    let from_image = image_of(s, build_id, job, job.from).await?;
    let to_image = image_of(s, build_id, job, job.to).await?;
    let left = index(s, &from_image).await?;
    let right = index(s, &to_image).await?;
    let model = ReleaseModel::from_dockerfile(&s.dockerfile, job.to);
    // Provenance reads the stages the release copies from; the `from` side is one already.
    let mut sources = Vec::new();
    for st in model.source_stages() {
        let ix = if st == job.from {
            left.clone()
        } else {
            index(s, &image_of(s, build_id, job, st).await?).await?
        };
        sources.push((st, ix));
    }
    let base = match &model.base {
        CopySource::Stage(b) => match sources.iter().find(|(st, _)| st == b) {
            Some((_, ix)) => Some(ix.clone()),
            None => match image_of(s, build_id, job, *b).await {
                Ok(img) => index(s, &img).await.ok(),
                Err(_) => None,
            },
        },
        CopySource::Image(name) if name == "scratch" => Some(FsIndex::default()),
        // Without the base image, base and own instructions stay undecided.
        CopySource::Image(name) => index(s, name).await.ok(),
        CopySource::Context => None,
    };
    let labels = (
        s.plan.stages[job.from].buildkit_name(),
        s.plan.stages[job.to].buildkit_name(),
    );
    let mut data = tokio::task::spawn_blocking(move || {
        let stages: Vec<(usize, &FsIndex)> = sources.iter().map(|(st, ix)| (*st, ix)).collect();
        let attribution = Attribution {
            model,
            inputs: Inputs {
                stages: &stages,
                base: base.as_ref(),
            },
        };
        DiffData::compute(
            (&labels.0, left),
            (&labels.1, right),
            &RuleSet::builtin(),
            Some(attribution),
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    data.images = Some((from_image, to_image));
    Ok(data)
}
