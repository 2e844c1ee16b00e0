//! Build checks for a build: the Dockerfile's warnings with the context's `.dockerignore`
//! behind CopyIgnoredFile, for `check`, `build` and the TUI.

use std::collections::BTreeMap;

use stagescope_context::BuildContext;
use stagescope_context::dockerignore::{PatternMatcher, clean_path, read_patterns};
use stagescope_dockerfile::lint::{self, Input, Report};
use stagescope_dockerfile::{Dockerfile, GraphOptions, host_platform};
use stagescope_engine::connect::Engine;
use stagescope_engine::fetch::{ImageFacts, image_facts};

/// CopyIgnoredFile's predicate from the raw patterns of the `.dockerignore` BuildKit would
/// read (`<Dockerfile>.dockerignore`, else CONTEXT/.dockerignore): `None` without one, or
/// with `!` exclusions, as BuildKit then skips the rule.
pub(crate) fn ignore_check(context: &BuildContext) -> Option<impl Fn(&str) -> Option<String>> {
    let text = std::fs::read(context.dockerignore_path()?).ok()?;
    let matcher = PatternMatcher::new(read_patterns(&String::from_utf8_lossy(&text))).ok()?;
    if matcher.is_empty() || matcher.exclusions() {
        return None;
    }
    Some(move |src: &str| {
        let src = clean_path(src);
        let hit = if src == "." || src == "/" {
            // Context roots: only patterns that exclude everything count.
            matcher
                .patterns()
                .iter()
                .any(|p| !p.exclusion() && matches!(p.as_str(), "*" | "**" | "**/*"))
        } else {
            matcher.matches_or_parent_matches(&src)
        };
        hit.then_some(src)
    })
}

/// What the engine already has of the external base images (nothing is pulled), by the
/// name the Dockerfile gives them after expansion; an image it lacks is left out.
pub(crate) async fn local_bases(
    engine: &Engine,
    df: &Dockerfile,
    opts: &GraphOptions,
) -> BTreeMap<String, ImageFacts> {
    let mut out = BTreeMap::new();
    let Ok(stages) = df.stages_with_args(opts) else {
        return out;
    };
    for st in stages {
        let name = st.base_expanded;
        if st.base_stage.is_some() || name == "scratch" || out.contains_key(&name) {
            continue;
        }
        if let Some(f) = image_facts(engine, &name).await {
            out.insert(name, f);
        }
    }
    out
}

/// What the checks know of the engine: its local base images' platforms, and the target.
#[derive(Debug, Clone, Default)]
pub struct EngineFacts {
    pub bases: BTreeMap<String, ImageFacts>,
    pub target_platform: Option<String>,
}

impl EngineFacts {
    /// Asks `engine` about the bases of `df` for a build targeting `platform` (default: this
    /// machine's).
    pub async fn gather(
        engine: &Engine,
        df: &Dockerfile,
        build_args: &BTreeMap<String, String>,
        platform: Option<&str>,
    ) -> Self {
        let opts = GraphOptions {
            build_args: build_args.clone(),
            platform: platform.map(str::to_string),
            ..GraphOptions::default()
        };
        EngineFacts {
            bases: local_bases(engine, df, &opts).await,
            target_platform: Some(platform.map_or_else(host_platform, str::to_string)),
        }
    }

    /// The platform lookup the linter takes.
    pub fn platform(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name: &str| self.bases.get(name).and_then(|f| f.platform.clone())
    }

    /// The environment lookup the linter takes.
    pub fn env(&self) -> impl Fn(&str) -> Option<Vec<String>> + '_ {
        |name: &str| self.bases.get(name).map(|f| f.env.clone())
    }
}

/// The checks' input for a build from `context` (None: none to read a `.dockerignore` from),
/// with what `facts` say of the engine, handed to `f`.
pub fn with_input<R>(
    context: Option<&BuildContext>,
    build_args: &BTreeMap<String, String>,
    facts: &EngineFacts,
    f: impl FnOnce(&Input<'_>) -> R,
) -> R {
    let ignored = context.and_then(ignore_check);
    let (platform, env) = (facts.platform(), facts.env());
    let input = Input {
        build_args: Some(build_args),
        ignored: ignored.as_ref().map(|f| f as lint::IgnoredFn<'_>),
        base_platform: Some(&platform),
        target_platform: facts.target_platform.as_deref(),
        base_env: Some(&env),
    };
    f(&input)
}

/// The warnings of a parsed Dockerfile for a build from `context`; `facts` adds what only
/// the engine knows.
pub fn check(
    df: &Dockerfile,
    context: &BuildContext,
    build_args: &BTreeMap<String, String>,
    facts: &EngineFacts,
) -> Result<Report, super::SessionError> {
    with_input(Some(context), build_args, facts, |input| {
        lint::check(df, input)
    })
    .map_err(super::SessionError::Checks)
}

impl super::Session {
    /// The build checks of this session's build, with what its engine knows of the bases.
    pub async fn lint(&self) -> Result<Report, super::SessionError> {
        // A Control API BuildKit has no local images to ask about.
        let facts = match &self.backend {
            super::Backend::Engine(engine) => {
                EngineFacts::gather(
                    engine,
                    &self.dockerfile,
                    &self.request.build_args,
                    self.request.platform.as_deref(),
                )
                .await
            }
            super::Backend::Buildkit(_) => EngineFacts::default(),
        };
        check(
            &self.dockerfile,
            &self.context,
            &self.request.build_args,
            &facts,
        )
    }
}
