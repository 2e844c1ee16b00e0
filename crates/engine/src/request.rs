//! What a build asks for and what it gave back: the types every builder path shares, below
//! the build driver (`run`) and the Control API client (`control`), which both take them.

use crate::filesync::Grants;
use stagescope_plan::BuilderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuilderChoice {
    #[default]
    Auto,
    Buildkit,
    Classic,
}

#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub target: Option<String>,
    pub build_args: std::collections::BTreeMap<String, String>,
    pub platform: Option<String>,
    pub no_cache: bool,
    pub builder: BuilderChoice,
    pub tags: Vec<String>,
    /// Secrets and ssh agents the build's RUN mounts may reach (BuildKit only).
    pub grants: Grants,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BuildOutcome {
    pub build_id: String,
    pub builder: BuilderKind,
    pub image: Option<String>,
    pub failed: bool,
    /// Per stage: its image, when it was built.
    pub stage_images: Vec<Option<String>>,
}
