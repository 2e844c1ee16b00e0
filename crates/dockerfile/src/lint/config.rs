//! `# check=skip=A,B;error=true;experimental=C` and the `BUILDKIT_DOCKERFILE_CHECK` build
//! argument: BuildKit's `linter.ParseLintOptions`, `WithMergedConfig` and
//! `WithMergedConfigFromComments` (a `# check=` comment right above an instruction).

use std::collections::BTreeSet;

use super::rules::Rule;

/// Which rules run, and whether warnings fail the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub skip_all: bool,
    pub skip: BTreeSet<String>,
    pub experimental_all: bool,
    pub experimental: BTreeSet<String>,
    pub error: bool,
}

fn names(v: &str) -> (bool, BTreeSet<String>) {
    let v = v.trim();
    if v == "all" {
        return (true, BTreeSet::new());
    }
    (false, v.split(',').map(|r| r.trim().to_string()).collect())
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl Config {
    /// `ParseLintOptions`: up to three `;`-separated `key=value` parts.
    pub fn parse(text: &str) -> Result<Config, String> {
        let text = text.trim();
        let mut cfg = Config::default();
        if text.is_empty() {
            return Ok(cfg);
        }
        for part in text.splitn(3, ';') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!("invalid check option \"{part}\""));
            };
            match k.trim() {
                "skip" => (cfg.skip_all, cfg.skip) = names(v),
                "experimental" => (cfg.experimental_all, cfg.experimental) = names(v),
                "error" => {
                    cfg.error = parse_bool(v.trim()).ok_or_else(|| {
                        format!(
                            "failed to parse check option \"{part}\": strconv.ParseBool: \
                             parsing \"{}\": invalid syntax",
                            v.trim()
                        )
                    })?;
                }
                other => return Err(format!("invalid check option \"{other}\"")),
            }
        }
        Ok(cfg)
    }

    /// `WithMergedConfig`: skips and experiments add up; `error` stays the file's.
    fn merged(&self, other: &Config) -> Config {
        let mut out = self.clone();
        out.skip_all |= other.skip_all;
        out.experimental_all |= other.experimental_all;
        out.skip.extend(other.skip.iter().cloned());
        out.experimental.extend(other.experimental.iter().cloned());
        out
    }

    /// The config for an instruction with these comments right above it (`#` dropped,
    /// trimmed): the first `check=` comment (value up to the first space) merges in; one
    /// that does not parse leaves the config as it is.
    pub(crate) fn with_comments(&self, comments: &[String]) -> Config {
        for c in comments {
            let Some((name, value)) = c.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if !name.eq_ignore_ascii_case("check") {
                continue;
            }
            let value = value.trim();
            let value = value.split(' ').next().unwrap_or_default();
            return match Config::parse(value) {
                Ok(other) => self.merged(&other),
                Err(_) => self.clone(),
            };
        }
        self.clone()
    }

    /// `Linter.Run`'s gate.
    pub fn enabled(&self, rule: &Rule) -> bool {
        if rule.experimental {
            self.experimental_all || self.experimental.contains(rule.name)
        } else {
            !(self.skip_all || self.skip.contains(rule.name))
        }
    }
}
