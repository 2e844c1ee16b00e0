//! The build context: a tar of the context directory, produced the way the docker CLI
//! produces it (moby `archive.TarWithOptions` walk + `.dockerignore`), streamed in
//! bounded chunks from a blocking thread so the context is never held in memory.
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

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tar::{EntryType, Header, HeaderMode};
use tokio::sync::mpsc;

use super::dockerignore::{IgnoreError, MatchInfo, PatternMatcher};

/// Size of the chunks handed to the HTTP body.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks buffered between the tar thread and the upload.
const CHANNEL_CHUNKS: usize = 4;

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
    /// An open BuildKit session offering this context, shared by every build made with it
    /// (a step-mode chain): the daemon syncs the context once for all of them.
    session: Option<Arc<crate::engine::filesync::ContextSession>>,
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
                super::dockerignore::read_patterns(&String::from_utf8_lossy(&raw))
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
            session: None,
        })
    }

    /// The same context with `text` sent as the Dockerfile, at the Dockerfile's own path.
    pub fn with_dockerfile_text(&self, text: String) -> Self {
        BuildContext {
            replacement: Some(text.into()),
            ..self.clone()
        }
    }

    /// The same context, its BuildKit builds going through `session`.
    pub fn with_session(&self, session: Arc<crate::engine::filesync::ContextSession>) -> Self {
        BuildContext {
            session: Some(session),
            ..self.clone()
        }
    }

    /// The session set by [`BuildContext::with_session`], if any.
    pub fn session(&self) -> Option<&crate::engine::filesync::ContextSession> {
        self.session.as_deref()
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
            .map(|raw| super::dockerignore::read_patterns(&String::from_utf8_lossy(&raw)))
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
    pub fn check(&self) -> Result<(), ContextError> {
        self.walk().map(drop)
    }

    /// Walk the context like moby's `TarWithOptions`, collecting entries (no contents):
    /// what the daemon receives, `.dockerignore` applied.
    pub fn walk(&self) -> Result<Vec<Entry>, ContextError> {
        let mut out = Vec::new();
        self.walk_dir(&self.dir, "", None, &mut out)?;
        Ok(out)
    }

    fn walk_dir(
        &self,
        abs_dir: &Path,
        rel_dir: &str,
        parent: Option<&MatchInfo>,
        out: &mut Vec<Entry>,
    ) -> Result<(), ContextError> {
        let mut names: Vec<_> = fs::read_dir(abs_dir)
            .and_then(|rd| rd.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(|e| ContextError::io(abs_dir, e))?;
        names.sort();
        for name in names {
            let abs = abs_dir.join(&name);
            let name = name.to_string_lossy();
            let rel = if rel_dir.is_empty() {
                name.into_owned()
            } else {
                format!("{rel_dir}/{name}")
            };
            let meta = fs::symlink_metadata(&abs).map_err(|e| ContextError::io(&abs, e))?;
            let (skip, info) = self.matcher.matches_using_parent_results(&rel, parent);
            let is_dir = meta.is_dir();
            if skip {
                if is_dir && self.matcher.must_descend(&rel) {
                    self.walk_dir(&abs, &rel, Some(&info), out)?;
                }
                continue;
            }
            let ft = meta.file_type();
            if ft.is_socket() {
                continue; // Docker cannot archive sockets either; it skips them.
            }
            if ft.is_file() {
                // Like the CLI's ValidateContextDirectory: fail up front, not mid-upload.
                File::open(&abs).map_err(|e| ContextError::io(&abs, e))?;
            }
            out.push(Entry {
                rel: rel.clone(),
                abs: abs.clone(),
                meta,
            });
            if is_dir {
                self.walk_dir(&abs, &rel, Some(&info), out)?;
            }
        }
        Ok(())
    }

    /// Write the whole tar to `w` synchronously. Returns bytes written.
    pub fn write_tar<W: Write>(&self, w: W) -> io::Result<u64> {
        let entries = self.walk()?;
        let mut counter = CountingWriter { inner: w, count: 0 };
        {
            let mut tar = tar::Builder::new(&mut counter);
            let mut hardlinks: HashMap<(u64, u64), String> = HashMap::new();
            for e in &entries {
                if e.rel == ".dockerignore" && self.outside && e.meta.is_file() {
                    let mut content =
                        fs::read(&e.abs).map_err(|err| ContextError::io(&e.abs, err))?;
                    content.extend_from_slice(format!("\n{}\n", self.dockerfile_name).as_bytes());
                    let mut h = base_header(&e.meta);
                    h.set_size(content.len() as u64);
                    tar.append_data(&mut h, &e.rel, content.as_slice())?;
                    continue;
                }
                if let Some(text) = &self.replacement
                    && e.rel == self.dockerfile_name
                {
                    // Same path, same header: only the text differs, so every other file
                    // of the context, and the cache keys built on it, stay as they were.
                    let mut h = base_header(&e.meta);
                    h.set_size(text.len() as u64);
                    tar.append_data(&mut h, &e.rel, text.as_bytes())?;
                    continue;
                }
                append_entry(&mut tar, e, &mut hardlinks)?;
            }
            if self.outside {
                if let Some(text) = &self.replacement {
                    let mut h = synthetic_header(text.len() as u64);
                    tar.append_data(&mut h, &self.dockerfile_name, text.as_bytes())?;
                } else {
                    let meta = fs::metadata(&self.dockerfile)
                        .map_err(|err| ContextError::io(&self.dockerfile, err))?;
                    let file = File::open(&self.dockerfile)
                        .map_err(|err| ContextError::io(&self.dockerfile, err))?;
                    let mut h = synthetic_header(meta.len());
                    tar.append_data(
                        &mut h,
                        &self.dockerfile_name,
                        exact(file, meta.len(), &self.dockerfile),
                    )?;
                }
                if !entries.iter().any(|e| e.rel == ".dockerignore") {
                    let content = format!(".dockerignore\n{}\n", self.dockerfile_name);
                    let mut h = synthetic_header(content.len() as u64);
                    tar.append_data(&mut h, ".dockerignore", content.as_bytes())?;
                }
            }
            tar.finish()?;
        }
        counter.inner.flush()?;
        Ok(counter.count)
    }

    /// Stream the tar: produced on a blocking thread into a bounded channel of ~64 KiB
    /// chunks. Feed it to `bollard::body_try_stream`.
    pub fn stream(&self) -> ContextStream {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let ctx = self.clone();
        let failure = Failure::default();
        let noted = failure.clone();
        std::thread::spawn(move || {
            let mut w = ChunkWriter {
                tx: tx.clone(),
                buf: BytesMut::with_capacity(CHUNK_SIZE),
            };
            let res = ctx.write_tar(&mut w).and_then(|_| w.send());
            if let Err(e) = res
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                noted.note(&e);
                let _ = tx.blocking_send(Err(e));
            }
        });
        ContextStream {
            rx,
            progress: Progress::default(),
            failure,
        }
    }
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

fn base_header(meta: &Metadata) -> Header {
    let mut h = Header::new_gnu();
    h.set_metadata_in_mode(meta, HeaderMode::Complete);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(0);
    h
}

fn synthetic_header(size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o100600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    h.set_mtime(now);
    h
}

fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    e: &Entry,
    hardlinks: &mut HashMap<(u64, u64), String>,
) -> io::Result<()> {
    let mut h = base_header(&e.meta);
    let ft = e.meta.file_type();
    if !ft.is_dir() && e.meta.nlink() > 1 {
        let key = (e.meta.dev(), e.meta.ino());
        if let Some(first) = hardlinks.get(&key) {
            h.set_entry_type(EntryType::Link);
            return tar.append_link(&mut h, &e.rel, first);
        }
        hardlinks.insert(key, e.rel.clone());
    }
    if ft.is_symlink() {
        let target = fs::read_link(&e.abs).map_err(|err| ContextError::io(&e.abs, err))?;
        tar.append_link(&mut h, &e.rel, target)
    } else if ft.is_file() {
        let file = File::open(&e.abs).map_err(|err| ContextError::io(&e.abs, err))?;
        h.set_size(e.meta.len());
        tar.append_data(&mut h, &e.rel, exact(file, e.meta.len(), &e.abs))
    } else {
        if ft.is_char_device() || ft.is_block_device() {
            let dev = e.meta.rdev();
            let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
            let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
            h.set_device_major(u32::try_from(major).unwrap_or(0))?;
            h.set_device_minor(u32::try_from(minor).unwrap_or(0))?;
        }
        tar.append_data(&mut h, &e.rel, io::empty())
    }
}

/// Read exactly `len` bytes of a file; fail clearly if it shrank (a grown file is cut).
fn exact(file: File, len: u64, path: &Path) -> ExactReader {
    ExactReader {
        inner: file.take(len),
        left: len,
        path: path.to_path_buf(),
    }
}

struct ExactReader {
    inner: io::Take<File>,
    left: u64,
    path: PathBuf,
}

impl Read for ExactReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::from(ContextError::io(&self.path, e)))?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} changed size while being sent", self.path.display()),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Buffers tar output and sends full chunks into the channel (blocking when it is full).
struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "build context upload stopped"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK_SIZE - self.buf.len();
        let n = room.min(buf.len());
        self.buf.extend_from_slice(&buf[..n]);
        if self.buf.len() >= CHUNK_SIZE {
            self.send()?;
            self.buf.reserve(CHUNK_SIZE);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes of the context handed to the consumer so far (cheap to clone and share).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    /// Bytes sent so far.
    pub fn bytes_sent(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why the tar could not be made, when it could not: the HTTP client reports a body error
/// only as a failed request, so the engine asks here for the words that name the file.
#[derive(Debug, Clone, Default)]
pub struct Failure(Arc<std::sync::Mutex<Option<String>>>);

impl Failure {
    fn note(&self, e: &io::Error) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert_with(|| e.to_string());
        }
    }

    /// The first error met while making the tar, if any.
    pub fn message(&self) -> Option<String> {
        self.0.lock().ok().and_then(|m| m.clone())
    }
}

/// The tar as a stream of chunks; see [`BuildContext::stream`].
#[derive(Debug)]
pub struct ContextStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    progress: Progress,
    failure: Failure,
}

impl ContextStream {
    /// A handle to watch the number of bytes sent.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// A handle to the error that stopped the tar, if one does.
    pub fn failure(&self) -> Failure {
        self.failure.clone()
    }
}

impl Stream for ContextStream {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.progress
                .0
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        polled
    }
}

#[cfg(test)]
mod tests;
