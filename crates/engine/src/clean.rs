//! `stagescope clean`: removes every container and image stagescope made, found by its
//! label and its tag repository, and nothing else.

use std::collections::{BTreeSet, HashMap};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder,
};

use std::time::Duration;

use super::connect::Engine;
use super::error::EngineError;
use super::journal;
use super::names::{BUILD_LABEL, TAG_REPO};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleaned {
    pub containers: Vec<String>,
    pub images: Vec<String>,
}

/// Removes what one build made (`Some(build_id)`) or what every build made (`None`):
/// labelled containers and images, our tags, and the intermediate images that runs which
/// could not clean up after themselves noted (see [`super::journal`]).
pub async fn clean(engine: &Engine, build_id: Option<&str>) -> Result<Cleaned, EngineError> {
    let label = match build_id {
        Some(id) => format!("{BUILD_LABEL}={id}"),
        None => BUILD_LABEL.to_string(),
    };
    let mut out = Cleaned::default();
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let containers = engine
        .docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await?;
    for c in containers {
        let Some(id) = c.id else { continue };
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        engine.docker.remove_container(&id, Some(opts)).await?;
        out.containers.push(id[..12.min(id.len())].to_string());
    }

    // Tags first (a stage image can carry several), then the labelled images themselves.
    let mut refs = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let all = engine
        .docker
        .list_images(Some(ListImagesOptionsBuilder::default().all(false).build()))
        .await?;
    let prefix = match build_id {
        Some(id) => format!("{TAG_REPO}/{id}:"),
        None => format!("{TAG_REPO}/"),
    };
    for img in &all {
        for t in &img.repo_tags {
            if t.starts_with(&prefix) {
                refs.insert(t.clone());
            }
        }
        let labelled = img
            .labels
            .get(BUILD_LABEL)
            .is_some_and(|v| build_id.is_none_or(|id| v == id));
        // A user's own tag on the same image (a later `docker build -t app .` served from
        // the same cache) keeps it: a forced removal would delete their tag too.
        let only_ours = img
            .repo_tags
            .iter()
            .all(|t| t.starts_with(&format!("{TAG_REPO}/")) || t == "<none>:<none>");
        if labelled && only_ours {
            ids.insert(img.id.clone());
        }
    }
    for r in refs {
        let opts = RemoveImageOptionsBuilder::default().noprune(false).build();
        if engine
            .docker
            .remove_image(&r, Some(opts), None)
            .await
            .is_ok()
        {
            out.images.push(r);
        }
    }
    for id in ids {
        let opts = RemoveImageOptionsBuilder::default().force(true).build();
        // Already gone with its last tag, or still used by a user's tag: both are fine.
        if engine
            .docker
            .remove_image(&id, Some(opts), None)
            .await
            .is_ok()
        {
            out.images.push(id);
        }
    }
    for (id, images) in journal::left_behind(build_id) {
        let gone = remove_intermediates(engine, &images, Duration::ZERO).await;
        out.images.extend(gone);
        journal::forget(&id);
    }
    Ok(out)
}

/// Everything a run that did not go through leaves: its labelled and tagged images and
/// containers, and the intermediate images its classic steps made. Returns how many went.
pub async fn clean_unfinished(
    engine: &Engine,
    build_id: &str,
    state: &stagescope_plan::BuildState,
) -> usize {
    let tagged = clean(engine, Some(build_id))
        .await
        .map(|c| c.images.len() + c.containers.len())
        .unwrap_or(0);
    let patience = Duration::from_secs(8);
    tagged
        + remove_intermediates(engine, &fresh_intermediates(state), patience)
            .await
            .len()
}

/// The intermediate images an interrupted classic build made itself: the state images of
/// instructions that ran (not served from cache). A FROM's image is the base, never ours.
fn fresh_intermediates(state: &stagescope_plan::BuildState) -> Vec<String> {
    state
        .stages
        .iter()
        .flat_map(|s| s.instructions.iter().skip(1))
        .filter(|i| !i.cached && i.duration_ms.is_some())
        .filter_map(|i| i.image.clone())
        .collect()
}

/// Removes those images, newest first so no child holds a parent back, without pruning
/// parents (a cached parent existed before this run and is somebody's cache) and without
/// force (one a later build grew on is somebody's cache now). The cancelled step's
/// container holds its parent image until the daemon has removed it, so each image is
/// retried for `patience`. Returns those that went.
async fn remove_intermediates(
    engine: &Engine,
    images: &[String],
    patience: Duration,
) -> Vec<String> {
    let mut removed = Vec::new();
    for id in images.iter().rev() {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let opts = RemoveImageOptionsBuilder::default().noprune(true).build();
            match engine.docker.remove_image(id, Some(opts), None).await {
                Ok(_) => {
                    removed.push(id.clone());
                    break;
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => break,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(_) => break,
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::plan::fixtures::three_stages;
    use stagescope_plan::{BuildEvent, BuildState};

    #[test]
    fn only_images_this_run_made_are_removed_on_interrupt() {
        let mut st = BuildState::new(three_stages());
        let mut finish = |stage, instruction, cached, image: &str| {
            st.apply(&BuildEvent::InstructionFinished {
                stage,
                instruction,
                cached,
                duration_ms: 5,
            });
            st.apply(&BuildEvent::StateImage {
                stage,
                instruction,
                image: image.into(),
            });
        };
        finish(0, 0, false, "base");
        finish(0, 1, true, "cached-before");
        finish(1, 0, false, "base");
        finish(1, 1, false, "made-now");
        finish(1, 2, false, "made-now-too");
        assert_eq!(fresh_intermediates(&st), vec!["made-now", "made-now-too"]);
    }
}
