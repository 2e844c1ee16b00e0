//! Build checks for a build: the Dockerfile's warnings with the context's `.dockerignore`
//! behind CopyIgnoredFile, for `check`, `build` and the TUI.

use std::collections::BTreeMap;

use crate::dockerfile::Dockerfile;
use crate::dockerfile::lint::{self, Input, Report};
use crate::engine::context::BuildContext;
use crate::engine::dockerignore::{PatternMatcher, clean_path, read_patterns};

/// CopyIgnoredFile's predicate from the raw patterns of the `.dockerignore` BuildKit would
/// read (`<Dockerfile>.dockerignore`, else CONTEXT/.dockerignore): `None` without one, or
/// with `!` exclusions, as BuildKit then skips the rule.
pub fn ignore_check(context: &BuildContext) -> Option<impl Fn(&str) -> Option<String>> {
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

/// The warnings of a parsed Dockerfile for a build from `context`.
pub fn check(
    df: &Dockerfile,
    context: &BuildContext,
    build_args: &BTreeMap<String, String>,
) -> Result<Report, String> {
    let ignored = ignore_check(context);
    let input = Input {
        build_args: Some(build_args),
        ignored: ignored.as_ref().map(|f| f as lint::IgnoredFn<'_>),
        ..Input::default()
    };
    lint::check(df, &input)
}
