//! Leftovers and secrets: named rules with a severity and a reason, matched against the
//! paths of a filesystem. Every built-in rule is one row of [`BUILTIN`] (the README lists
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

/// A row of the built-in table.
pub struct Builtin {
    pub name: &'static str,
    pub severity: Severity,
    pub category: Category,
    pub kind: Applies,
    pub paths: &'static [&'static str],
    pub except: &'static [&'static str],
    pub content: &'static [ContentMatch],
    pub reason: &'static str,
}

use Applies::{Any, Dir, File};
use Category as C;
use Severity::{Info, Warning};

/// Trust stores ship public certificates as `*.pem`; they are not keys.
const CERT_STORES: &[&str] = &[
    "etc/ssl/certs/**",
    "usr/share/ca-certificates/**",
    "etc/ca-certificates/**",
    "etc/pki/**",
    "**/cacert.pem",
    "**/ca-bundle*.pem",
    "**/*cert*.pem",
];

/// Sources that packages install on purpose (headers for other packages, the Go tree).
const SYSTEM_SOURCES: &[&str] = &[
    "usr/include/**",
    "usr/local/include/**",
    "usr/lib/**",
    "usr/local/lib/**",
    "usr/share/**",
    "usr/local/go/**",
    "usr/src/**",
    "**/site-packages/**",
    "**/dist-packages/**",
    "**/node_modules/**",
];

/// Package registry configuration files, which may hold an auth token.
const REGISTRY_CONFIGS: &[&str] = &[
    "**/.npmrc",
    "**/.pypirc",
    "**/.yarnrc.yml",
    "**/.gem/credentials",
];

/// The one table of built-in rules.
pub const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "ssh-dir",
        severity: Severity::Error,
        category: C::Secret,
        kind: Dir,
        paths: &["**/.ssh"],
        except: &[],
        content: &[],
        reason: "an .ssh directory: private keys, known hosts, agent config",
    },
    Builtin {
        name: "private-key",
        severity: Severity::Error,
        category: C::Secret,
        kind: File,
        paths: &[
            "**/id_rsa",
            "**/id_dsa",
            "**/id_ecdsa",
            "**/id_ed25519",
            "**/*.pem",
            "**/*.key",
            "**/*.p12",
            "**/*.pfx",
            "**/*.jks",
        ],
        except: CERT_STORES,
        content: &[],
        reason: "a private key file by its name; anyone with the image has the key",
    },
    Builtin {
        name: "private-key-content",
        severity: Severity::Error,
        category: C::Secret,
        kind: File,
        paths: &["**"],
        except: &[],
        content: &[ContentMatch::PrivateKey],
        reason: "a PEM private key, whatever the file is called; anyone with the image has the key",
    },
    Builtin {
        name: "dotenv",
        severity: Severity::Error,
        category: C::Secret,
        kind: File,
        paths: &["**/.env", "**/.env.*"],
        except: &["**/.env.example", "**/.env.sample", "**/.env.template"],
        content: &[],
        reason: "a .env file usually holds passwords and API keys",
    },
    Builtin {
        name: "cloud-credentials",
        severity: Severity::Error,
        category: C::Secret,
        kind: Any,
        paths: &[
            "**/.aws/credentials",
            "**/.aws/config",
            "**/.config/gcloud",
            "**/application_default_credentials.json",
            "**/.azure",
            "**/.kube/config",
            "**/.docker/config.json",
            "**/.git-credentials",
            "**/.netrc",
        ],
        except: &[],
        content: &[],
        reason: "cloud, cluster or registry credentials",
    },
    Builtin {
        name: "registry-token",
        severity: Warning,
        category: C::Secret,
        kind: File,
        paths: REGISTRY_CONFIGS,
        except: &[],
        content: &[],
        reason: "package registry config, which often holds an auth token",
    },
    Builtin {
        name: "registry-token-content",
        severity: Severity::Error,
        category: C::Secret,
        kind: File,
        paths: REGISTRY_CONFIGS,
        except: &[],
        content: &[ContentMatch::AuthToken],
        reason: "package registry config holding an auth token or password",
    },
    Builtin {
        name: "aws-key-content",
        severity: Severity::Error,
        category: C::Secret,
        kind: File,
        paths: &["**"],
        except: &[],
        content: &[ContentMatch::AwsKeyId],
        reason: "an AWS access key id in the file's content",
    },
    Builtin {
        name: "vcs-metadata",
        severity: Warning,
        category: C::Vcs,
        kind: Any,
        paths: &["**/.git", "**/.svn", "**/.hg", "**/.bzr"],
        except: &[],
        content: &[],
        reason: "version control metadata: the whole history, remotes, maybe credentials",
    },
    Builtin {
        name: "c-toolchain",
        severity: Warning,
        category: C::Toolchain,
        kind: File,
        paths: &[
            "**/bin/gcc",
            "**/bin/gcc-[0-9]*",
            "**/bin/cc",
            "**/bin/g++",
            "**/bin/c++",
            "**/bin/clang",
            "**/bin/clang-[0-9]*",
            "**/cc1",
            "**/cc1plus",
            "**/bin/ld",
            "**/bin/as",
        ],
        except: &[],
        content: &[],
        reason: "a C/C++ compiler or linker: needed to build, not to run",
    },
    Builtin {
        name: "go-toolchain",
        severity: Warning,
        category: C::Toolchain,
        kind: Any,
        paths: &["**/bin/go", "usr/local/go", "usr/lib/go", "usr/lib/go-*"],
        except: &[],
        content: &[],
        reason: "the Go toolchain: needed to build, not to run a Go binary",
    },
    Builtin {
        name: "rust-toolchain",
        severity: Warning,
        category: C::Toolchain,
        kind: Any,
        paths: &["**/bin/rustc", "**/bin/cargo", "**/.rustup"],
        except: &[],
        content: &[],
        reason: "the Rust toolchain: needed to build, not to run",
    },
    Builtin {
        name: "java-compiler",
        severity: Warning,
        category: C::Toolchain,
        kind: File,
        paths: &["**/bin/javac"],
        except: &[],
        content: &[],
        reason: "a JDK compiler: a JRE is enough to run",
    },
    Builtin {
        name: "node-gyp",
        severity: Warning,
        category: C::Toolchain,
        kind: Any,
        paths: &["**/node-gyp", "**/.node-gyp", "**/.cache/node-gyp"],
        except: &[],
        content: &[],
        reason: "node-gyp and its headers build native addons; not needed at run time",
    },
    Builtin {
        name: "build-tool",
        severity: Warning,
        category: C::Toolchain,
        kind: File,
        paths: &[
            "**/bin/make",
            "**/bin/gmake",
            "**/bin/cmake",
            "**/bin/ninja",
        ],
        except: &[],
        content: &[],
        reason: "a build tool: needed to build, not to run",
    },
    Builtin {
        name: "apt-cache",
        severity: Warning,
        category: C::Cache,
        kind: Dir,
        paths: &["var/cache/apt", "var/lib/apt/lists"],
        except: &[],
        content: &[],
        reason: "apt package cache and lists: `rm -rf /var/lib/apt/lists/*` after install",
    },
    Builtin {
        name: "package-cache",
        severity: Warning,
        category: C::Cache,
        kind: Dir,
        paths: &[
            "root/.cache",
            "**/.npm",
            "**/.yarn/cache",
            "**/.cache/yarn",
            "**/.pnpm-store",
            "**/.cargo/registry",
            "**/.cargo/git",
            "**/.m2",
            "**/.gradle",
            "**/.cache/pip",
            "**/pip-cache",
            "var/cache/apk",
            "var/cache/yum",
            "var/cache/dnf",
        ],
        except: &[],
        content: &[],
        reason: "a package manager's download cache",
    },
    Builtin {
        name: "compiler-cache",
        severity: Warning,
        category: C::Cache,
        kind: Dir,
        paths: &[
            "**/.ccache",
            "**/.cache/ccache",
            "**/.cache/go-build",
            "**/.cache/sccache",
            "**/go/pkg/mod",
        ],
        except: &[],
        content: &[],
        reason: "a compiler or module cache: only speeds up the next build",
    },
    Builtin {
        name: "build-dir",
        severity: Warning,
        category: C::Build,
        kind: Dir,
        paths: &[
            "**/target",
            "**/node_modules/.cache",
            "**/CMakeFiles",
            "**/.next/cache",
        ],
        except: &[],
        content: &[],
        reason: "a build directory: intermediate artifacts, usually far larger than the result",
    },
    Builtin {
        name: "sources",
        severity: Warning,
        category: C::Source,
        kind: File,
        paths: &[
            "**/*.c",
            "**/*.h",
            "**/*.cc",
            "**/*.cpp",
            "**/*.hpp",
            "**/*.o",
            "**/*.a",
            "**/*.go",
            "**/*.rs",
            "**/*.java",
            "**/*.class",
            "**/*.ts",
            "**/Makefile",
            "**/go.mod",
            "**/Cargo.toml",
        ],
        except: SYSTEM_SOURCES,
        content: &[],
        reason: "sources, headers or objects: the shipped binary does not need them",
    },
    Builtin {
        name: "tests",
        severity: Info,
        category: C::Docs,
        kind: Dir,
        paths: &[
            "**/test",
            "**/tests",
            "**/__tests__",
            "**/testdata",
            "**/spec",
        ],
        except: &["usr/lib/**", "usr/share/**"],
        content: &[],
        reason: "tests: not needed at run time",
    },
    Builtin {
        name: "docs",
        severity: Info,
        category: C::Docs,
        kind: Dir,
        paths: &[
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
            "**/docs",
        ],
        except: &[],
        content: &[],
        reason: "documentation: not needed at run time",
    },
];

impl Builtin {
    pub fn rule(&self) -> Rule {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Rule {
            name: self.name.to_string(),
            severity: self.severity,
            category: self.category,
            kind: self.kind,
            paths: owned(self.paths),
            except: owned(self.except),
            content: self.content.to_vec(),
            reason: self.reason.to_string(),
        }
    }
}

/// What a user rules file may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRules {
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

    pub fn with_user(user: UserRules) -> Result<RuleSet, RulesError> {
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
                let worth = e.total() > 0 || matches!(rule.category, C::Secret | C::Vcs);
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
            } else if rule.category == C::Secret {
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
#[path = "rules_tests.rs"]
mod tests;
