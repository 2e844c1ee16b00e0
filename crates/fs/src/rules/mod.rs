//! Leftovers and secrets: named rules with a severity and a reason, matched against the
//! paths of a filesystem. Every built-in rule is one row of [`BUILTIN`] (docs/commands.md lists
//! them from there); a user TOML file adds rules, replaces them by name, or silences rules
//! by name and paths by glob.
//!
//! A rule matching a directory gives one finding for its whole subtree (`.git/` with its
//! total size, not one per file), and rules of the same or a lower severity stay quiet
//! inside it — a secret inside `.git/` is still reported. Non-secret file matches in one
//! directory are grouped into one finding.
//!
//! Matching is by path and kind, and for rules with `content` by the [`ContentFlags`] the
//! indexer sniffed from small files as they streamed by: a PEM private key is found under
//! any name, and a `.npmrc` that really holds a token is an error, not a warning.

use std::collections::BTreeMap;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::index::{EntryId, FsIndex, Kind};
use super::sniff::ContentFlags;

mod builtin;

pub use builtin::{BUILTIN, Builtin};

/// How bad a finding is. `--fail-on leftovers` fails from `Warning` up; secrets are `Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Toolchain,
    Cache,
    Vcs,
    Source,
    Build,
    Docs,
    Secret,
    #[default]
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Toolchain => "toolchain",
            Category::Cache => "cache",
            Category::Vcs => "vcs",
            Category::Source => "source",
            Category::Build => "build",
            Category::Docs => "docs",
            Category::Secret => "secret",
            Category::Other => "other",
        }
    }
}

/// Which entries a rule's globs may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Applies {
    #[default]
    Any,
    File,
    Dir,
}

/// What a rule can require of a file's content (see [`ContentFlags`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContentMatch {
    PrivateKey,
    AuthToken,
    AwsKeyId,
}

impl ContentMatch {
    pub fn flag(self) -> ContentFlags {
        match self {
            ContentMatch::PrivateKey => ContentFlags::PRIVATE_KEY,
            ContentMatch::AuthToken => ContentFlags::AUTH_TOKEN,
            ContentMatch::AwsKeyId => ContentFlags::AWS_KEY_ID,
        }
    }
}

/// One rule. Globs match the whole path without its leading `/` (`*` stays within one
/// component, `**/` spans any number of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default)]
    pub severity: Severity,
    #[serde(default)]
    pub category: Category,
    #[serde(default)]
    pub kind: Applies,
    pub paths: Vec<String>,
    #[serde(default)]
    pub except: Vec<String>,
    /// When not empty, only files whose sniffed content shows one of these match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ContentMatch>,
    pub reason: String,
}

/// What a user rules file may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserRules {
    /// New rules; one with a built-in's name replaces it.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub silence: Silence,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    /// Rule names that never report.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Paths (globs) where nothing reports.
    #[serde(default)]
    pub paths: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rule {rule}: bad glob {glob:?}: {message}")]
    Glob {
        rule: String,
        glob: String,
        message: String,
    },
    #[error("silence: no rule named {0:?}")]
    UnknownRule(String),
}

/// One finding: a rule matched an entry (a directory stands for its whole subtree, or for
/// the `files` matching files directly inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    pub entry: EntryId,
    /// Files (non-directories) the finding covers.
    pub files: u32,
    /// Bytes the finding covers.
    pub size: u64,
    /// The entry is a directory standing for `files` matching files directly inside it.
    pub grouped: bool,
}

/// The rules in effect, compiled.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// All rules' globs in one set; `owner[k]` is the rule of glob `k`.
    paths: GlobSet,
    owner: Vec<usize>,
    except: Vec<GlobSet>,
    silenced: GlobSet,
}

fn glob_set<'a>(
    rule: &str,
    globs: impl IntoIterator<Item = &'a String>,
) -> Result<GlobSet, RulesError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(compile(rule, g)?);
    }
    b.build().map_err(|e| RulesError::Glob {
        rule: rule.to_string(),
        glob: String::new(),
        message: e.to_string(),
    })
}

fn compile(rule: &str, glob: &str) -> Result<globset::Glob, RulesError> {
    GlobBuilder::new(glob.trim_start_matches('/'))
        .literal_separator(true)
        .build()
        .map_err(|e| RulesError::Glob {
            rule: rule.to_string(),
            glob: glob.to_string(),
            message: e.kind().to_string(),
        })
}

impl RuleSet {
    /// The built-in table.
    pub fn builtin() -> RuleSet {
        match RuleSet::new(BUILTIN.iter().map(Builtin::rule).collect(), &[]) {
            Ok(r) => r,
            // The table is a constant; its test compiles it.
            Err(e) => unreachable!("built-in rules: {e}"),
        }
    }

    /// The built-in table with a user rules file (TOML) applied.
    pub fn with_user_toml(text: &str) -> Result<RuleSet, RulesError> {
        let user: UserRules = toml::from_str(text)?;
        RuleSet::with_user(user)
    }

    pub(crate) fn with_user(user: UserRules) -> Result<RuleSet, RulesError> {
        let mut rules: Vec<Rule> = BUILTIN.iter().map(Builtin::rule).collect();
        for r in user.rules {
            match rules.iter_mut().find(|b| b.name == r.name) {
                Some(b) => *b = r,
                None => rules.push(r),
            }
        }
        for name in &user.silence.rules {
            if !rules.iter().any(|r| &r.name == name) {
                return Err(RulesError::UnknownRule(name.clone()));
            }
        }
        rules.retain(|r| !user.silence.rules.contains(&r.name));
        RuleSet::new(rules, &user.silence.paths)
    }

    fn new(rules: Vec<Rule>, silenced: &[String]) -> Result<RuleSet, RulesError> {
        let mut b = GlobSetBuilder::new();
        let mut owner = Vec::new();
        let mut except = Vec::with_capacity(rules.len());
        for (k, r) in rules.iter().enumerate() {
            for g in &r.paths {
                b.add(compile(&r.name, g)?);
                owner.push(k);
            }
            except.push(glob_set(&r.name, &r.except)?);
        }
        let paths = b.build().map_err(|e| RulesError::Glob {
            rule: String::new(),
            glob: String::new(),
            message: e.to_string(),
        })?;
        Ok(RuleSet {
            rules,
            paths,
            owner,
            except,
            silenced: glob_set("silence", silenced)?,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, f: &Finding) -> &Rule {
        &self.rules[f.rule]
    }

    /// The rule that applies to one entry: the most severe that matches, first in the table
    /// on a tie.
    fn best(
        &self,
        path: &Candidate<'_>,
        kind: Kind,
        flags: ContentFlags,
        hits: &mut Vec<usize>,
    ) -> Option<usize> {
        self.paths.matches_candidate_into(path, hits);
        hits.iter()
            .map(|&g| self.owner[g])
            .filter(|&k| {
                let r = &self.rules[k];
                let kind_ok = match r.kind {
                    Applies::Any => true,
                    Applies::File => kind != Kind::Dir,
                    Applies::Dir => kind == Kind::Dir,
                };
                let content_ok =
                    r.content.is_empty() || r.content.iter().any(|c| flags.contains(c.flag()));
                kind_ok && content_ok && !self.except[k].is_match_candidate(path)
            })
            .min_by_key(|&k| (std::cmp::Reverse(self.rules[k].severity), k))
    }

    /// The rule that would report entry `id` on its own (silenced paths give none): which
    /// files a grouped finding stands for.
    pub fn rule_of(&self, ix: &FsIndex, id: EntryId) -> Option<usize> {
        let e = ix.get(id);
        let path = String::from_utf8_lossy(e.path());
        let cand = Candidate::new(path.as_ref());
        if self.silenced.is_match_candidate(&cand) {
            return None;
        }
        self.best(&cand, e.kind(), e.content_flags(), &mut Vec::new())
    }

    /// Every finding in `ix`, in path order (grouped ones where their directory is).
    pub fn scan(&self, ix: &FsIndex) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        // Directories already reported: (end of subtree, severity); ids are depth-first, so
        // a subtree is the run of ids right after its directory.
        let mut covered: Vec<(EntryId, Severity)> = Vec::new();
        // Non-secret file matches grouped per (directory, rule).
        let mut groups: BTreeMap<(EntryId, usize), (u32, u64, EntryId)> = BTreeMap::new();
        let mut hits = Vec::new();
        let mut path = String::new();
        for e in ix.entries() {
            while covered.last().is_some_and(|&(end, _)| e.id >= end) {
                covered.pop();
            }
            if e.is_runtime_mount_point() {
                continue;
            }
            path.clear();
            path.push_str(&String::from_utf8_lossy(e.path()));
            let cand = Candidate::new(&path);
            if self.silenced.is_match_candidate(&cand) {
                continue;
            }
            let Some(k) = self.best(&cand, e.kind(), e.content_flags(), &mut hits) else {
                continue;
            };
            let rule = &self.rules[k];
            if covered.iter().any(|&(_, s)| s >= rule.severity) {
                continue;
            }
            if e.kind() == Kind::Dir {
                // An empty cache or build directory costs nothing; an empty .git or .ssh
                // still says something about how the image was made.
                let worth =
                    e.total() > 0 || matches!(rule.category, Category::Secret | Category::Vcs);
                if worth {
                    covered.push((e.id + e.count(), rule.severity));
                    let files = ix_files(ix, e.id);
                    out.push(Finding {
                        rule: k,
                        entry: e.id,
                        files,
                        size: e.total(),
                        grouped: false,
                    });
                }
            } else if rule.category == Category::Secret {
                out.push(Finding {
                    rule: k,
                    entry: e.id,
                    files: 1,
                    size: e.size(),
                    grouped: false,
                });
            } else {
                let parent = e.parent().unwrap_or(0);
                let g = groups.entry((parent, k)).or_insert((0, 0, e.id));
                g.0 += 1;
                g.1 += e.size();
            }
        }
        for ((parent, k), (files, size, first)) in groups {
            let grouped = files > 1;
            out.push(Finding {
                rule: k,
                entry: if grouped { parent } else { first },
                files,
                size,
                grouped,
            });
        }
        out.sort_by_key(|f| (f.entry, f.rule));
        out
    }
}

/// Non-directory entries in the subtree of `dir`.
fn ix_files(ix: &FsIndex, dir: EntryId) -> u32 {
    let end = dir + ix.get(dir).count();
    (dir + 1..end)
        .filter(|&i| ix.get(i).kind() != Kind::Dir)
        .count() as u32
}

#[cfg(test)]
mod tests;
