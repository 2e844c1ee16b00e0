//! How stagescope marks what it creates in the engine, so `clean` can find all of it and
//! nothing else.

use bollard::query_parameters::TagImageOptionsBuilder;

use super::connect::Engine;
use super::error::EngineError;

/// Label on every image and container stagescope makes; the value is the build id.
pub const BUILD_LABEL: &str = "dev.stagescope.build";

/// Repository under which stage and state images are tagged.
pub const TAG_REPO: &str = "stagescope.local";

/// `stagescope.local/<build-id>:<stage>`, the stage name made a valid tag.
pub fn stage_tag(build_id: &str, stage: &str) -> String {
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
pub async fn tag_image(engine: &Engine, image: &str, reference: &str) -> Result<(), EngineError> {
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    let opts = TagImageOptionsBuilder::default()
        .repo(repo)
        .tag(tag)
        .build();
    engine.docker.tag_image(image, Some(opts)).await?;
    Ok(())
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
