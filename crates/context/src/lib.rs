//! The build context: the directory, the Dockerfile and the ignore rules resolved the way
//! the docker CLI resolves them, and the walk of what is sent (moby `archive.TarWithOptions`
//! + `.dockerignore`); `archive` makes the tar of it.
//!
//! Rules followed (docker CLI `cli/command/image/build` + moby archive):
//! - the Dockerfile defaults to `<dir>/Dockerfile` (or `<dir>/dockerfile` when only that
//!   exists); `-f` is taken relative to the current directory and symlinks are resolved;
//! - `<Dockerfile>.dockerignore` beside the Dockerfile wins over `<dir>/.dockerignore`
//!   (BuildKit's rule);
//! - the Dockerfile and `.dockerignore` are always sent: when the patterns exclude them a
//!   `!name` exception is appended (`TrimBuildFilesFromExcludes`);
//! - a Dockerfile outside the context is appended as `.dockerfile.<20 hex>`, and that name
//!   is added to the sent `.dockerignore` (created if missing) so the daemon drops it from
//!   the final context, like `AddDockerfileToBuildContext`;
//! - entries in lexical order; directories excluded by a pattern are still descended when
//!   some `!` pattern's text starts with `dir/`; symlinks are never followed; hard links
//!   become link entries; modes and mtimes (seconds) kept, uid/gid 0; sockets skipped.

use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::dockerignore::{IgnoreError, MatchInfo, PatternMatcher};

mod archive;
pub mod dockerignore;

pub use archive::{CHUNK_SIZE, ContextStream, Failure, Progress};

/// Why a build context cannot be sent. Every message is one line.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The context directory does not exist.
    #[error("build context {0}: no such directory")]
    MissingDir(PathBuf),
    /// The context path is not a directory.
    #[error("build context {0} is not a directory")]
    NotADirectory(PathBuf),
    /// The Dockerfile is missing.
    #[error("cannot locate Dockerfile {0}")]
    MissingDockerfile(PathBuf),
    /// The `.dockerignore` has a bad pattern.
    #[error("{path}: {source}")]
    Dockerignore {
        /// The ignore file.
        path: PathBuf,
        /// The pattern problem.
        source: IgnoreError,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What we tried to read.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl ContextError {
    fn io(path: &Path, source: io::Error) -> Self {
        ContextError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<ContextError> for io::Error {
    fn from(e: ContextError) -> Self {
        match e {
            ContextError::Io { ref source, .. } => io::Error::new(source.kind(), e.to_string()),
            other => io::Error::other(other.to_string()),
        }
    }
}

/// A resolved build context: the directory, the Dockerfile and the ignore rules.
#[derive(Debug, Clone)]
pub struct BuildContext {
    dir: PathBuf,
    dockerfile: PathBuf,
    dockerfile_name: String,
    outside: bool,
    dockerignore: Option<PathBuf>,
    matcher: PatternMatcher,
    /// Text sent in place of the Dockerfile's own (a Dockerfile cut after an instruction).
    replacement: Option<std::sync::Arc<str>>,
    /// [`Self::check`] passed already: the builds of one step-mode chain check once.
    checked: bool,
}

/// One thing the walk will send.
#[derive(Debug)]
pub struct Entry {
    /// Path relative to the context, `/`-separated.
    pub rel: String,
    pub abs: PathBuf,
    /// Of the entry itself (symlinks not followed).
    pub meta: Metadata,
}

impl BuildContext {
    /// Resolve `dir` and the Dockerfile (`-f`; relative to the current directory like the
    /// docker CLI; `None` = `<dir>/Dockerfile`), read the ignore file and compile it.
    pub fn new(dir: impl AsRef<Path>, dockerfile: Option<&Path>) -> Result<Self, ContextError> {
        let given = dir.as_ref();
        let dir = match fs::canonicalize(given) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContextError::MissingDir(given.to_path_buf()));
            }
            Err(e) => return Err(ContextError::io(given, e)),
        };
        if !dir.is_dir() {
            return Err(ContextError::NotADirectory(given.to_path_buf()));
        }

        let given_df = match dockerfile {
            Some(f) if f.is_absolute() => f.to_path_buf(),
            Some(f) => std::env::current_dir()
                .map_err(|e| ContextError::io(Path::new("."), e))?
                .join(f),
            None => {
                let df = dir.join("Dockerfile");
                let alt = dir.join("dockerfile");
                if fs::symlink_metadata(&df).is_err() && fs::symlink_metadata(&alt).is_ok() {
                    alt
                } else {
                    df
                }
            }
        };
        let dockerfile = match fs::canonicalize(&given_df) {
            Ok(p) if p.is_file() => p,
            Ok(_) => return Err(ContextError::MissingDockerfile(given_df)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContextError::MissingDockerfile(given_df));
            }
            Err(e) => return Err(ContextError::io(&given_df, e)),
        };
        let (dockerfile_name, outside) = match dockerfile.strip_prefix(&dir) {
            Ok(rel) => (rel.to_string_lossy().into_owned(), false),
            Err(_) => (generated_dockerfile_name(), true),
        };

        // BuildKit: `<Dockerfile>.dockerignore` beside the Dockerfile wins.
        let mut specific = given_df.clone().into_os_string();
        specific.push(".dockerignore");
        let specific = PathBuf::from(specific);
        let root_ignore = dir.join(".dockerignore");
        let dockerignore = [specific, root_ignore].into_iter().find(|p| p.is_file());
        let mut patterns = match &dockerignore {
            Some(p) => {
                let raw = fs::read(p).map_err(|e| ContextError::io(p, e))?;
                crate::dockerignore::read_patterns(&String::from_utf8_lossy(&raw))
            }
            None => Vec::new(),
        };
        let compile = |patterns: &[String]| {
            PatternMatcher::new(patterns).map_err(|source| ContextError::Dockerignore {
                path: dockerignore
                    .clone()
                    .unwrap_or_else(|| dir.join(".dockerignore")),
                source,
            })
        };
        // TrimBuildFilesFromExcludes: keep .dockerignore and the Dockerfile.
        if compile(&patterns)?.matches_or_parent_matches(".dockerignore") {
            patterns.push("!.dockerignore".into());
        }
        if !outside && compile(&patterns)?.matches_or_parent_matches(&dockerfile_name) {
            patterns.push(format!("!{dockerfile_name}"));
        }
        let matcher = compile(&patterns)?;

        Ok(BuildContext {
            dir,
            dockerfile,
            dockerfile_name,
            outside,
            dockerignore,
            matcher,
            replacement: None,
            checked: false,
        })
    }

    /// The same context with `text` sent as the Dockerfile, at the Dockerfile's own path.
    pub fn with_dockerfile_text(&self, text: String) -> Self {
        BuildContext {
            replacement: Some(text.into()),
            ..self.clone()
        }
    }

    /// The text sent in place of the Dockerfile's own, if any.
    pub fn replacement_text(&self) -> Option<&str> {
        self.replacement.as_deref()
    }

    /// The (canonical) context directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Dockerfile on the host (symlinks resolved).
    pub fn dockerfile_path(&self) -> &Path {
        &self.dockerfile
    }

    /// The name of the Dockerfile inside the tar: pass it as the build's `dockerfile` option.
    pub fn dockerfile_name(&self) -> &str {
        &self.dockerfile_name
    }

    /// True when `-f` points outside the context (the Dockerfile is added under a
    /// generated `.dockerfile.<hex>` name).
    pub fn dockerfile_outside(&self) -> bool {
        self.outside
    }

    /// The ignore file in use, if any.
    pub fn dockerignore_path(&self) -> Option<&Path> {
        self.dockerignore.as_deref()
    }

    /// The ignore file's patterns as written (none of the added `!Dockerfile`), for a
    /// session's context: the docker CLI hands them to its file-sync provider the same way.
    pub fn dockerignore_patterns(&self) -> Vec<String> {
        self.dockerignore
            .as_ref()
            .and_then(|p| fs::read(p).ok())
            .map(|raw| crate::dockerignore::read_patterns(&String::from_utf8_lossy(&raw)))
            .unwrap_or_default()
    }

    /// The compiled ignore rules (including the added `!Dockerfile` / `!.dockerignore`).
    pub fn matcher(&self) -> &PatternMatcher {
        &self.matcher
    }

    /// What would be sent, in tar order (relative paths; directories without a slash).
    pub fn list(&self) -> Result<Vec<PathBuf>, ContextError> {
        let mut out: Vec<PathBuf> = self
            .walk()?
            .into_iter()
            .map(|e| PathBuf::from(e.rel))
            .collect();
        if self.outside {
            let has_ignore = out.iter().any(|p| p == Path::new(".dockerignore"));
            out.push(PathBuf::from(&self.dockerfile_name));
            if !has_ignore {
                out.push(PathBuf::from(".dockerignore"));
            }
        }
        Ok(out)
    }

    /// Walk the whole context before anything is sent, as the docker CLI's
    /// `ValidateContextDirectory` does: a file or directory that cannot be read (and that
    /// `.dockerignore` does not exclude) fails here, named in one line, rather than as a
    /// connection error halfway through the upload.
    /// A context that passed the check once is not walked again (see [`Self::checked`]).
    pub fn check(&self) -> Result<(), ContextError> {
        if self.checked {
            return Ok(());
        }
        let mut out = Vec::new();
        self.walk_dir(&self.dir, "", None, &mut out, Walk::Check)
    }

    /// This context, checked once for every build made of it (and of its
    /// [`Self::with_dockerfile_text`] cuts): a step-mode chain of builds is one build to the
    /// user, and re-walking a 100k-file context before each cut was most of what step mode
    /// cost over a plain build.
    pub fn checked(&self) -> Result<Self, ContextError> {
        self.check()?;
        Ok(BuildContext {
            checked: true,
            ..self.clone()
        })
    }

    /// Walk the context like moby's `TarWithOptions`, collecting entries (no contents):
    /// what the daemon receives, `.dockerignore` applied. Opens nothing: a file that cannot
    /// be read fails where it is read (or in [`Self::check`], up front).
    pub fn walk(&self) -> Result<Vec<Entry>, ContextError> {
        let mut out = Vec::new();
        self.walk_dir(&self.dir, "", None, &mut out, Walk::All)?;
        Ok(out)
    }

    /// [`Self::walk`] of the entries `take` accepts, going down only into the directories
    /// `descend` accepts: what a build's COPY sources read, without a look at the rest (the
    /// run history digests them; a 100k-file context whose Dockerfile reads a tenth is
    /// walked a tenth).
    pub fn walk_only(
        &self,
        take: &dyn Fn(&str) -> bool,
        descend: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Entry>, ContextError> {
        let mut out = Vec::new();
        let only = Only { take, descend };
        self.walk_dir(&self.dir, "", None, &mut out, Walk::Only(&only))?;
        Ok(out)
    }

    fn walk_dir(
        &self,
        abs_dir: &Path,
        rel_dir: &str,
        parent: Option<&MatchInfo>,
        out: &mut Vec<Entry>,
        walk: Walk<'_>,
    ) -> Result<(), ContextError> {
        // The listing gives each entry's type: the check needs no more, and an excluded
        // entry is never looked at again.
        let mut names: Vec<(std::ffi::OsString, Option<fs::FileType>)> = fs::read_dir(abs_dir)
            .and_then(|rd| {
                rd.map(|e| e.map(|e| (e.file_name(), e.file_type().ok())))
                    .collect()
            })
            .map_err(|e| ContextError::io(abs_dir, e))?;
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, listed) in names {
            let abs = abs_dir.join(&name);
            let name = name.to_string_lossy();
            let rel = if rel_dir.is_empty() {
                name.into_owned()
            } else {
                format!("{rel_dir}/{name}")
            };
            if let Walk::Only(only) = walk {
                let maybe_dir = listed.is_none_or(|t| t.is_dir());
                let wanted = (only.take)(&rel) || (maybe_dir && (only.descend)(&rel));
                if !wanted {
                    continue;
                }
            }
            let stat = || fs::symlink_metadata(&abs).map_err(|e| ContextError::io(&abs, e));
            let meta = match walk {
                Walk::All => Some(stat()?),
                Walk::Only(only) if (only.take)(&rel) => Some(stat()?),
                Walk::Only(_) | Walk::Check => None,
            };
            let ft = match (&meta, listed) {
                (Some(m), _) => m.file_type(),
                (None, Some(t)) => t,
                (None, None) => stat()?.file_type(),
            };
            let (skip, info) = self.matcher.matches_using_parent_results(&rel, parent);
            let is_dir = ft.is_dir();
            if skip {
                if is_dir && self.matcher.must_descend(&rel) {
                    self.walk_dir(&abs, &rel, Some(&info), out, walk)?;
                }
                continue;
            }
            if ft.is_socket() {
                continue; // Docker cannot archive sockets either; it skips them.
            }
            if ft.is_file() && matches!(walk, Walk::Check) {
                // Like the CLI's ValidateContextDirectory: fail up front, not mid-upload.
                // One access(2) as the process's own ids, where an open and a close cost two
                // system calls and a descriptor for each of a context's 100k files.
                rustix::fs::accessat(
                    rustix::fs::CWD,
                    &abs,
                    rustix::fs::Access::READ_OK,
                    rustix::fs::AtFlags::EACCESS,
                )
                .map_err(|e| ContextError::io(&abs, e.into()))?;
            }
            if let Some(meta) = meta {
                out.push(Entry {
                    rel: rel.clone(),
                    abs: abs.clone(),
                    meta,
                });
            }
            if is_dir {
                self.walk_dir(&abs, &rel, Some(&info), out, walk)?;
            }
        }
        Ok(())
    }
}

/// What a walk is for: the readability check (types only), every entry with its metadata,
/// or only some entries.
#[derive(Clone, Copy)]
enum Walk<'a> {
    Check,
    All,
    Only(&'a Only<'a>),
}

struct Only<'a> {
    take: &'a dyn Fn(&str) -> bool,
    descend: &'a dyn Fn(&str) -> bool,
}

/// `list_context(dir, dockerfile)`: what would be sent, in order.
pub fn list_context(
    dir: impl AsRef<Path>,
    dockerfile: Option<&Path>,
) -> Result<Vec<PathBuf>, ContextError> {
    BuildContext::new(dir, dockerfile)?.list()
}

/// `.dockerfile.` + 20 random hex digits (the docker CLI's naming).
fn generated_dockerfile_name() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!(".dockerfile.{}", &hex[..20])
}

#[cfg(test)]
mod tests;
