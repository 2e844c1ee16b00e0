//! The context as the tar the engine receives (the classic builder, Podman, and BuildKit
//! where no build session is used): written synchronously, or streamed in bounded chunks
//! from a blocking thread so the context is never held in memory.

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

use super::{BuildContext, ContextError, Entry};

/// Size of the chunks handed to the HTTP body.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks buffered between the tar thread and the upload.
const CHANNEL_CHUNKS: usize = 4;

impl BuildContext {
    /// Write the whole tar to `w` synchronously. Returns bytes written.
    pub(crate) fn write_tar<W: Write>(&self, w: W) -> io::Result<u64> {
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
