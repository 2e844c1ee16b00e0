//! BuildKit's build checks (`docker build --check`): the rules of
//! `frontend/dockerfile/linter/ruleset.go`, fired where BuildKit fires them
//! (`parser/parser.go`, `instructions/parse.go`, `dockerfile2llb/convert.go` and
//! `validations.go`), with the same names, lines, details and URLs. Pure: what needs the
//! build context or the engine (the `.dockerignore`, a base image's platform) comes in as
//! [`Input`].

mod config;
mod dispatch;
mod from;
mod parse;
pub mod rules;
mod text;
mod vars;

use std::collections::BTreeMap;

pub use config::Config;
pub use rules::Rule;

use super::{Dockerfile, DockerfileError};

/// One warning: the rule, the (1-based) line BuildKit reports, and its detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub rule: &'static Rule,
    pub line: usize,
    pub detail: String,
}

/// See [`Input::ignored`].
pub type IgnoredFn<'a> = &'a dyn Fn(&str) -> Option<String>;
/// The platform of a base image known locally.
pub(crate) type PlatformFn<'a> = &'a dyn Fn(&str) -> Option<String>;
/// The environment (`KEY=value` lines) of a base image known locally.
pub(crate) type EnvFn<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// What the checks need beyond the Dockerfile.
#[derive(Clone, Copy, Default)]
pub struct Input<'a> {
    /// `--build-arg` values (`BUILDKIT_DOCKERFILE_CHECK` among them overrides `# check=`).
    pub build_args: Option<&'a BTreeMap<String, String>>,
    /// CopyIgnoredFile: given a COPY/ADD source from the context (variables expanded), the
    /// path as BuildKit names it (`filepath.Clean`ed) when the context's `.dockerignore`
    /// excludes it. `None` when there is no `.dockerignore`, or it has `!` exclusions
    /// (BuildKit then does not check).
    pub ignored: Option<IgnoredFn<'a>>,
    /// InvalidBaseImagePlatform: the platform (`os/arch[/variant]`) of a base image known
    /// locally, and the platform the build targets.
    pub base_platform: Option<PlatformFn<'a>>,
    pub target_platform: Option<&'a str>,
    /// UndefinedVar: what a base image known locally sets in its environment (BuildKit reads
    /// it from the image config; without it only `PATH` is known).
    pub base_env: Option<EnvFn<'a>>,
}

/// The warnings of a Dockerfile, in line order, and whether they fail the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub warnings: Vec<Warning>,
    /// `error=true` in the check config.
    pub error_on_warning: bool,
}

impl Report {
    /// `error=true` and a warning left: BuildKit fails the build.
    pub fn fails(&self) -> bool {
        self.error_on_warning && !self.warnings.is_empty()
    }

    /// BuildKit's `lint violation found for rules: …` (rules in first-seen order).
    pub fn violation(&self) -> Option<String> {
        if !self.fails() {
            return None;
        }
        let mut names: Vec<&str> = Vec::new();
        for w in &self.warnings {
            if !names.contains(&w.rule.name) {
                names.push(w.rule.name);
            }
        }
        Some(format!(
            "lint violation found for rules: {}",
            names.join(", ")
        ))
    }
}

/// What every rule group reads.
struct Scope<'a> {
    df: &'a Dockerfile,
    src: &'a text::Source<'a>,
    input: &'a Input<'a>,
    cfg: &'a Config,
}

/// Collects warnings through a config gate.
struct Sink {
    warnings: Vec<Warning>,
}

impl Sink {
    fn run(&mut self, cfg: &Config, rule: &'static Rule, line: usize, detail: String) {
        if cfg.enabled(rule) {
            self.warnings.push(Warning { rule, line, detail });
        }
    }
}

fn empty_args() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

/// The check config: `BUILDKIT_DOCKERFILE_CHECK` if given, else the `# check=` directive.
pub fn config(df: &Dockerfile, input: &Input<'_>) -> Result<Config, String> {
    let args = input.build_args.unwrap_or(empty_args());
    if let Some(v) = args.get("BUILDKIT_DOCKERFILE_CHECK") {
        return Config::parse(v)
            .map_err(|e| format!("failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: {e}"));
    }
    let directive = df.directives.iter().find(|d| d.name == "check");
    Config::parse(directive.map_or("", |d| d.value.as_str()))
        .map_err(|e| format!("failed to parse check options: {e}"))
}

/// Run every check on a parsed Dockerfile. `Err` for a check config that does not parse.
pub fn check(df: &Dockerfile, input: &Input<'_>) -> Result<Report, String> {
    let cfg = config(df, input)?;
    Ok(run(df, input, &cfg, false))
}

fn run(df: &Dockerfile, input: &Input<'_>, cfg: &Config, parse_only: bool) -> Report {
    let src = text::Source::new(df);
    let mut sink = Sink {
        warnings: Vec::new(),
    };
    text::empty_continuations(&src, cfg, &mut sink);
    parse::parse_phase(df, &src, cfg, &mut sink);
    if !parse_only {
        parse::stage_names(df, cfg, &mut sink);
        parse::command_casing(df, cfg, &mut sink);
        from::default_args(df, cfg, &mut sink);
        let scope = Scope {
            df,
            src: &src,
            input,
            cfg,
        };
        from::stages(&scope, &mut sink);
        dispatch::stages(&scope, &mut sink);
    }
    let mut warnings = sink.warnings;
    warnings.sort_by_key(|w| w.line);
    Report {
        warnings,
        error_on_warning: cfg.error,
    }
}

/// What `docker build --check` gives for Dockerfile bytes: the report, or the Dockerfile
/// error together with the warnings BuildKit finds before it (those of its parse phase, on
/// the lines before the error).
pub fn check_bytes(bytes: &[u8], input: &Input<'_>) -> (Report, Option<DockerfileError>) {
    match Dockerfile::parse(bytes) {
        Ok(df) => match check(&df, input) {
            Ok(r) => (r, None),
            Err(e) => (Report::default(), Some(DockerfileError::whole_file(e))),
        },
        Err(err) => (warnings_before(bytes, &err, input), Some(err)),
    }
}

fn warnings_before(bytes: &[u8], err: &DockerfileError, input: &Input<'_>) -> Report {
    let text = String::from_utf8_lossy(bytes);
    let prefix: String = text
        .split_inclusive('\n')
        .take(err.line.saturating_sub(1))
        .collect();
    let Ok(df) = Dockerfile::parse(prefix.as_bytes()) else {
        return Report::default();
    };
    match config(&df, input) {
        Ok(cfg) => run(&df, input, &cfg, true),
        Err(_) => Report::default(),
    }
}

#[cfg(test)]
mod tests;
