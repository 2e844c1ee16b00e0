//! How stagescope marks what it creates in the engine, so `clean` can find all of it and
//! nothing else.

use bollard::query_parameters::TagImageOptionsBuilder;

use super::connect::Engine;
use super::error::EngineError;

/// Label on every image and container stagescope makes. A container's value is the build id;
/// an image's is [`IMAGE_LABEL_VALUE`], the same on every run, so that a fully cached rebuild
/// gives back the same image ids, as `docker build` does (the run is known by its tags).
pub(crate) const BUILD_LABEL: &str = "dev.stagescope.build";

/// The value of [`BUILD_LABEL`] on images.
pub(crate) const IMAGE_LABEL_VALUE: &str = "image";

/// Repository under which stage and state images are tagged.
pub(crate) const TAG_REPO: &str = "stagescope.local";

/// `stagescope.local/<build-id>:<stage>`, the stage name made a valid tag.
pub(crate) fn stage_tag(build_id: &str, stage: &str) -> String {
    let mut tag: String = stage
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    if tag.is_empty() || tag.starts_with(['.', '-']) {
        tag.insert(0, '_');
        tag.truncate(128);
    }
    format!("{TAG_REPO}/{build_id}:{tag}")
}

/// Adds `reference` (repo:tag) to an existing image.
pub(crate) async fn tag_image(
    engine: &Engine,
    image: &str,
    reference: &str,
) -> Result<(), EngineError> {
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    let opts = TagImageOptionsBuilder::default()
        .repo(repo)
        .tag(tag)
        .build();
    engine.docker.tag_image(image, Some(opts)).await?;
    Ok(())
}

/// The runs whose tags are on the engine for one context (`<build id> <pid>` a line), so that
/// each run replaces what the one before it left: one set of tags per context, however many
/// runs. Kept under the cache directory; without one, nothing is replaced (as before).
fn ledger_path(
    ctx_dir: &std::path::Path,
    dockerfile: &std::path::Path,
) -> Option<std::path::PathBuf> {
    use sha2::{Digest, Sha256};
    let key = hex::encode(Sha256::digest(
        format!("{}\0{}", ctx_dir.display(), dockerfile.display()).as_bytes(),
    ));
    Some(
        stagescope_fs::dirs::cache_dir()?
            .join("tags")
            .join(&key[..16]),
    )
}

/// Whether process `pid` is still running (a run still using its tags).
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Notes that `build_id` tags images of this context, and removes the tags of the context's
/// earlier runs whose process has ended (a process still running may still open what it
/// tagged: its tags go with the first run after it). Best effort: a failure here costs a
/// tag left, never the build.
pub(crate) async fn replace_earlier_tags(
    engine: &Engine,
    ctx_dir: &std::path::Path,
    dockerfile: &std::path::Path,
    build_id: &str,
) {
    let Some(path) = ledger_path(ctx_dir, dockerfile) else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut keep = Vec::new();
    let mut gone = Vec::new();
    for line in text.lines() {
        let Some((id, pid)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if id == build_id {
            continue;
        }
        if !alive(pid) {
            gone.push(id.to_string());
        } else {
            keep.push(line.to_string());
        }
    }
    keep.push(format!("{build_id} {}", std::process::id()));
    let _ = stagescope_fs::cache::write_atomic(&path, (keep.join("\n") + "\n").as_bytes());
    for id in gone {
        untag_build(engine, &id).await;
    }
}

/// Removes the tags `stagescope.local/<build id>:*`, never an image that still has a
/// parent's role or another tag (no prune, no force).
async fn untag_build(engine: &Engine, build_id: &str) {
    use bollard::query_parameters::{ListImagesOptionsBuilder, RemoveImageOptionsBuilder};
    // Unfiltered: with a `reference` filter the engine lists only the matching tags of each
    // image, and the others are what decides.
    let Ok(images) = engine
        .docker
        .list_images(Some(ListImagesOptionsBuilder::default().build()))
        .await
    else {
        return;
    };
    let prefix = format!("{TAG_REPO}/{build_id}:");
    // A tag another run also put on the same image (a cached rebuild) only goes from it. An
    // image whose last tag goes is removed unless it is a parent (a classic build's cache
    // for the steps after it; no prune): a classic leaf that changed since is stale cache,
    // and BuildKit's cache lives apart from its images.
    let tags = images.iter().flat_map(|i| &i.repo_tags);
    for t in tags.filter(|t| t.starts_with(&prefix)) {
        let opts = RemoveImageOptionsBuilder::default().noprune(true).build();
        let _ = engine.docker.remove_image(t, Some(opts), None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_tags_are_valid_docker_tags() {
        assert_eq!(stage_tag("abc", "builder"), "stagescope.local/abc:builder");
        assert_eq!(stage_tag("abc", "0"), "stagescope.local/abc:0");
        assert_eq!(stage_tag("abc", ".hidden"), "stagescope.local/abc:_.hidden");
        assert_eq!(stage_tag("abc", "a/b c"), "stagescope.local/abc:a_b_c");
    }
}
