//! The file-sync walk: what a directory offers the daemon for one DiffCopy, as fsutil's
//! `FilterFS` walk lists it — lexical order, a directory before its contents, include and
//! exclude patterns matched with the parent's results, and a skipped directory sent only
//! when something inside it is.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard_buildkit_proto::fsutil::types::Stat;

use stagescope_context::dockerignore::{
    IgnoreError, MatchInfo, Pattern, PatternMatcher, clean_path,
};

// Go's os.FileMode bits, which fsutil puts on the wire.
const GO_DIR: u32 = 1 << 31;
const GO_SYMLINK: u32 = 1 << 27;
const GO_DEVICE: u32 = 1 << 26;
const GO_NAMED_PIPE: u32 = 1 << 25;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
const GO_CHAR_DEVICE: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;
/// The type bits: an entry with none of them is a regular file, whose data may be asked for.
pub const GO_TYPE: u32 = GO_DIR | GO_SYMLINK | GO_NAMED_PIPE | GO_DEVICE | GO_CHAR_DEVICE;

/// Characters that make a pattern more than a literal path (fsutil's `patternChars`).
const PATTERN_CHARS: &[char] = &['*', '[', ']', '?', '^', '\\'];

/// Where a regular file's bytes come from when the daemon asks for them.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on the host.
    File(PathBuf),
    /// Text stagescope makes up (a Dockerfile cut after an instruction).
    Bytes(Arc<[u8]>),
}

/// One entry of the walk.
#[derive(Debug, Clone)]
pub struct Item {
    pub stat: Stat,
    /// Set for regular files only.
    pub source: Option<Source>,
}

/// The daemon's filter for one DiffCopy (`include-patterns`, `exclude-patterns`,
/// `followpaths`), compiled.
#[derive(Debug, Default)]
pub struct Filter {
    includes: Option<PatternMatcher>,
    excludes: Option<PatternMatcher>,
    only_prefix_includes: bool,
    only_prefix_exclude_exceptions: bool,
}

/// `a/b/**` and `a/b/*` stand for the directory `a/b` when deciding whether to descend.
fn without_trailing_glob(p: &Pattern) -> &str {
    let s = p.as_str();
    let s = s.strip_suffix("/**").unwrap_or(s);
    s.strip_suffix("/*").unwrap_or(s)
}

impl Filter {
    /// `root` and `virtual_files` resolve `followpaths` (symlinks are followed, inside the
    /// directory, into further include patterns).
    pub fn new(
        includes: &[String],
        excludes: &[String],
        follow: &[String],
        root: &Path,
    ) -> Result<Self, IgnoreError> {
        let mut inc: Vec<String> = includes.to_vec();
        for p in follow {
            for t in follow_links(root, p) {
                if !inc.contains(&t) {
                    inc.push(t);
                }
            }
        }
        let includes = match inc.is_empty() {
            true => None,
            false => Some(PatternMatcher::new(&inc)?),
        };
        let excludes = match excludes.is_empty() {
            true => None,
            false => Some(PatternMatcher::new(excludes)?),
        };
        let literal = |p: &&Pattern| !without_trailing_glob(p).contains(PATTERN_CHARS);
        let only_prefix_includes = includes.as_ref().is_none_or(|m| {
            m.patterns()
                .iter()
                .filter(|p| !p.exclusion())
                .all(|p| literal(&p))
        });
        let only_prefix_exclude_exceptions = excludes.as_ref().is_none_or(|m| {
            m.patterns()
                .iter()
                .filter(|p| p.exclusion())
                .all(|p| literal(&p))
        });
        Ok(Filter {
            includes,
            excludes,
            only_prefix_includes,
            only_prefix_exclude_exceptions,
        })
    }

    /// Could a pattern of `m` (of the given polarity) name something inside `dir`?
    fn prefix_inside(m: &PatternMatcher, dir: &str, exclusion: bool) -> bool {
        let dir_slash = format!("{dir}/");
        m.patterns()
            .iter()
            .filter(|p| p.exclusion() == exclusion)
            .any(|p| format!("{}/", without_trailing_glob(p)).starts_with(&dir_slash))
    }
}

/// fsutil's `FollowLinks`: `path` itself, and wherever symlinks along it lead (inside the
/// directory), each target in turn.
fn follow_links(root: &Path, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(clean_path(path.trim_start_matches('/')));
    let mut hops = 0;
    while let Some(p) = next.take() {
        if p == "." || out.contains(&p) || hops > 255 {
            break;
        }
        hops += 1;
        out.push(p.clone());
        let parts: Vec<&str> = p.split('/').collect();
        for i in 0..parts.len() {
            let prefix = parts[..=i].join("/");
            let Ok(target) = fs::read_link(root.join(&prefix)) else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            let base = if target.starts_with('/') {
                target
            } else {
                let dir = parts[..i].join("/");
                format!("{dir}/{target}")
            };
            let rest = parts[i + 1..].join("/");
            let joined = if rest.is_empty() {
                base
            } else {
                format!("{base}/{rest}")
            };
            let resolved = clean_path(&format!("/{joined}"));
            next = Some(resolved.trim_start_matches('/').to_string());
            break;
        }
    }
    out
}

/// A directory offered to the daemon under a name (`context`, `dockerfile`).
#[derive(Debug, Clone)]
pub(crate) struct SyncDir {
    pub root: PathBuf,
    /// Owner reset to 0:0, as the docker CLI maps the context.
    pub reset_owner: bool,
    /// Files at the top of the directory that exist only in stagescope (name -> bytes).
    pub virtual_files: BTreeMap<String, Arc<[u8]>>,
}

/// Go's `os.FileMode` for a Unix mode.
pub(crate) fn go_mode(meta: &Metadata) -> u32 {
    let ft = meta.file_type();
    let mode = meta.mode();
    let mut m = mode & 0o777;
    if ft.is_dir() {
        m |= GO_DIR;
    } else if ft.is_symlink() {
        m |= GO_SYMLINK;
    } else if ft.is_block_device() {
        m |= GO_DEVICE;
    } else if ft.is_char_device() {
        m |= GO_DEVICE | GO_CHAR_DEVICE;
    } else if ft.is_fifo() {
        m |= GO_NAMED_PIPE;
    }
    if mode & 0o4000 != 0 {
        m |= GO_SETUID;
    }
    if mode & 0o2000 != 0 {
        m |= GO_SETGID;
    }
    if mode & 0o1000 != 0 {
        m |= GO_STICKY;
    }
    m
}

/// A made-up file's stat: its mtime comes from its bytes, so the same text keeps the same
/// stat (nothing to send again) and other text gets another (the daemon asks for it).
fn virtual_stat(name: &str, bytes: &[u8]) -> Stat {
    let h = xxhash_rust::xxh3::xxh3_64(bytes);
    // Somewhere in 2001..2033, whole nanoseconds.
    let mod_time = 1_000_000_000_000_000_000 + i64::try_from(h % (1 << 60)).unwrap_or(0);
    Stat {
        path: name.to_string(),
        mode: 0o644,
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        mod_time,
        ..Stat::default()
    }
}

/// The entry's extended attributes (file capabilities, ACLs, labels), all of them, as
/// fsutil sends them: `COPY` keeps them, and BuildKit's cache key covers them. One that
/// cannot be read is left out, as fsutil leaves it.
fn xattrs(abs: &Path) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    let size = match rustix::fs::llistxattr_query(abs) {
        Ok(0) | Err(_) => return out,
        Ok(n) => n,
    };
    let mut names = vec![0u8; size];
    let Ok(n) = rustix::fs::llistxattr(abs, &mut names[..]) else {
        return out;
    };
    for name in names[..n.min(size)].split(|b| *b == 0) {
        let Ok(key) = std::str::from_utf8(name) else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        let Ok(len) = rustix::fs::lgetxattr_query(abs, key) else {
            continue;
        };
        let mut value = vec![0u8; len];
        if let Ok(m) = rustix::fs::lgetxattr(abs, key, &mut value[..]) {
            value.truncate(m);
            out.insert(key.to_string(), value);
        }
    }
    out
}

struct Walker<'a> {
    dir: &'a SyncDir,
    filter: &'a Filter,
    hardlinks: HashMap<(u64, u64), String>,
    out: Vec<Item>,
    /// Skipped directories above the current entry, sent once something inside is.
    pending: Vec<Item>,
}

impl SyncDir {
    /// Every entry the daemon gets for `filter`, in the order it is sent.
    pub(crate) fn walk(&self, filter: &Filter) -> io::Result<Vec<Item>> {
        let mut w = Walker {
            dir: self,
            filter,
            hardlinks: HashMap::new(),
            out: Vec::new(),
            pending: Vec::new(),
        };
        w.walk_dir(&self.root, "", None, None)?;
        Ok(w.out)
    }
}

/// What a directory listing says of an entry, before any stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Dir,
    Other,
    /// A file stagescope makes up (a cut Dockerfile), at the top only.
    MadeUp,
}

type Entry = (String, Kind);

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl Walker<'_> {
    fn stat(&mut self, abs: &Path, rel: &str, meta: &Metadata) -> io::Result<Item> {
        let ft = meta.file_type();
        let mut stat = Stat {
            path: rel.to_string(),
            mode: go_mode(meta),
            uid: meta.uid(),
            gid: meta.gid(),
            mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ..Stat::default()
        };
        if self.dir.reset_owner {
            stat.uid = 0;
            stat.gid = 0;
        }
        stat.xattrs = xattrs(abs);
        let mut source = None;
        if !ft.is_dir() {
            stat.size = i64::try_from(meta.len()).unwrap_or(i64::MAX);
            if ft.is_symlink() {
                stat.linkname = fs::read_link(abs)
                    .map_err(|e| with_path(e, abs))?
                    .to_string_lossy()
                    .into_owned();
            }
            if ft.is_block_device() || ft.is_char_device() {
                let dev = meta.rdev();
                stat.devmajor = i64::try_from((dev >> 8) & 0xfff).unwrap_or(0);
                stat.devminor = i64::try_from((dev & 0xff) | ((dev >> 12) & 0xfff00)).unwrap_or(0);
            }
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                match self.hardlinks.get(&key) {
                    Some(first) => {
                        stat.linkname = first.clone();
                        stat.size = 0;
                    }
                    None => {
                        self.hardlinks.insert(key, rel.to_string());
                    }
                }
            }
            if ft.is_file() {
                source = Some(Source::File(abs.to_path_buf()));
            }
        }
        Ok(Item { stat, source })
    }

    /// The directory's entries, sorted: name, made up by stagescope, a directory. The type
    /// comes from the directory listing itself, so entries the filter drops cost no stat.
    fn names(&self, abs_dir: &Path, top: bool) -> io::Result<Vec<Entry>> {
        let mut names: Vec<Entry> = Vec::new();
        for e in fs::read_dir(abs_dir).map_err(|e| with_path(e, abs_dir))? {
            let e = e.map_err(|e| with_path(e, abs_dir))?;
            let kind = match e.file_type() {
                Ok(t) if t.is_socket() => continue,
                Ok(t) if t.is_dir() => Kind::Dir,
                Ok(_) => Kind::Other,
                // Gone since the directory was read: fsutil skips it too.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(with_path(err, &e.path())),
            };
            names.push((e.file_name().to_string_lossy().into_owned(), kind));
        }
        if top {
            names.retain(|(n, _)| !self.dir.virtual_files.contains_key(n));
            names.extend(
                self.dir
                    .virtual_files
                    .keys()
                    .map(|n| (n.clone(), Kind::MadeUp)),
            );
        }
        names.sort();
        Ok(names)
    }

    fn walk_dir(
        &mut self,
        abs_dir: &Path,
        rel_dir: &str,
        inc_parent: Option<&MatchInfo>,
        exc_parent: Option<&MatchInfo>,
    ) -> io::Result<()> {
        for (name, kind) in self.names(abs_dir, rel_dir.is_empty())? {
            let abs = abs_dir.join(&name);
            let rel = match rel_dir {
                "" => name.clone(),
                d => format!("{d}/{name}"),
            };
            let is_dir = kind == Kind::Dir;
            let mut skip = false;
            let mut inc_info = None;
            if let Some(m) = &self.filter.includes {
                let (hit, info) = m.matches_using_parent_results(&rel, inc_parent);
                inc_info = Some(info);
                if !hit {
                    if is_dir
                        && self.filter.only_prefix_includes
                        && !Filter::prefix_inside(m, &rel, false)
                    {
                        continue;
                    }
                    skip = true;
                }
            }
            let mut exc_info = None;
            if let Some(m) = &self.filter.excludes {
                let (hit, info) = m.matches_using_parent_results(&rel, exc_parent);
                exc_info = Some(info);
                if hit {
                    if is_dir
                        && self.filter.only_prefix_exclude_exceptions
                        && (!m.exclusions() || !Filter::prefix_inside(m, &rel, true))
                    {
                        continue;
                    }
                    skip = true;
                }
            }
            // A skipped file is never sent; a skipped directory is, when something inside
            // it is — only then is anything stat'ed.
            if skip && !is_dir {
                continue;
            }
            let item = if kind == Kind::MadeUp {
                let bytes = self.dir.virtual_files[&name].clone();
                Item {
                    stat: virtual_stat(&rel, &bytes),
                    source: Some(Source::Bytes(bytes)),
                }
            } else {
                let meta = match fs::symlink_metadata(&abs) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(with_path(e, &abs)),
                };
                // Replaced by another kind of entry since the listing: take what is there.
                if meta.file_type().is_socket() || meta.is_dir() != is_dir {
                    continue;
                }
                self.stat(&abs, &rel, &meta)?
            };
            if skip {
                let depth = self.pending.len();
                self.pending.push(item);
                self.walk_dir(&abs, &rel, inc_info.as_ref(), exc_info.as_ref())?;
                self.pending.truncate(depth);
                continue;
            }
            self.out.append(&mut self.pending);
            self.out.push(item);
            if is_dir {
                self.walk_dir(&abs, &rel, inc_info.as_ref(), exc_info.as_ref())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
