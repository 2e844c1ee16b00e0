//! Indexes kept by image id, so opening the same stage again is instant: a few in memory
//! ([`MemoryCache`], least recently used out first; the session keeps image layers in one
//! too) and more on disk ([`DiskCache`], under the XDG cache directory, bounded in bytes,
//! oldest out first).
//!
//! Only image *ids* are keys: an id names immutable content, a tag can move.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::FsIndex;
use super::index::codec;

/// The file-name-safe key of an image id (`sha256:<hex>` or bare hex), or `None` when the
/// name is not an id (a tag): those are never cached.
pub(crate) fn key_of(image_id: &str) -> Option<String> {
    let hex = image_id.strip_prefix("sha256:").unwrap_or(image_id);
    (hex.len() >= 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// What the last few images opened gave (their indexes, by default; their layers), by image
/// id, most recent last: the least recently used goes first. A handful at most, so a scan
/// beats a map.
#[derive(Debug, Clone)]
pub struct MemoryCache<T = Arc<FsIndex>> {
    cap: usize,
    items: Vec<(String, T)>,
}

impl<T> Default for MemoryCache<T> {
    fn default() -> Self {
        MemoryCache::new(0)
    }
}

impl<T> MemoryCache<T> {
    /// Const, so a process-wide one can sit in a static.
    pub const fn new(cap: usize) -> Self {
        MemoryCache {
            cap,
            items: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl<T: Clone> MemoryCache<T> {
    /// The value kept for `image_id`, now the most recently used.
    pub fn get(&mut self, image_id: &str) -> Option<T> {
        let key = key_of(image_id)?;
        let i = self.items.iter().position(|(k, _)| *k == key)?;
        let item = self.items.remove(i);
        let value = item.1.clone();
        self.items.push(item);
        Some(value)
    }

    /// Keeps `value` for `image_id` (a tag is never kept: it can move).
    pub fn put(&mut self, image_id: &str, value: T) {
        let Some(key) = key_of(image_id) else { return };
        self.items.retain(|(k, _)| *k != key);
        self.items.push((key, value));
        while self.items.len() > self.cap {
            self.items.remove(0);
        }
    }
}

/// Default bound of the disk cache.
pub(crate) const DISK_CACHE_BYTES: u64 = 512 << 20;

/// Files of one kind (by extension) in one directory, bounded in bytes, least recently
/// used out first; each file is checked by its reader (a damaged one is a miss).
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
    ext: &'static str,
}

/// Writes `bytes` to `path` whole or not at all: beside it first, then renamed, so a reader
/// (another stagescope at the same moment) never sees half a file. Makes the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

impl DiskCache {
    /// `$XDG_CACHE_HOME/stagescope/index`, else `~/.cache/stagescope/index`.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        Some(crate::dirs::cache_dir()?.join("index"))
    }

    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self::of_kind(dir, max_bytes, "ssix")
    }

    /// A cache of other files than indexes: `<key>.<ext>` under `dir`.
    pub(crate) fn of_kind(dir: PathBuf, max_bytes: u64, ext: &'static str) -> Self {
        DiskCache {
            dir,
            max_bytes,
            ext,
        }
    }

    /// The cache at the default place with the default bound.
    pub fn user() -> Option<Self> {
        Some(Self::new(Self::default_dir()?, DISK_CACHE_BYTES))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.{}", self.ext))
    }

    /// The cached index of `image_id`; a damaged file is removed and counts as a miss.
    pub fn get(&self, image_id: &str) -> Option<FsIndex> {
        self.get_with(image_id, codec::decode)
    }

    /// The file kept under `id` read by `decode`; one it refuses is removed (a miss).
    pub(crate) fn get_with<T>(
        &self,
        id: &str,
        decode: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<T> {
        let path = self.path(&key_of(id)?);
        let bytes = std::fs::read(&path).ok()?;
        match decode(&bytes) {
            Some(ix) => {
                // Used now: the eviction takes the least recently used first.
                if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                    let _ = f.set_modified(std::time::SystemTime::now());
                }
                Some(ix)
            }
            None => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// What `read` makes of the first `n` bytes of the file kept under `id`, without
    /// checking the whole file.
    pub(crate) fn peek_with<T>(
        &self,
        id: &str,
        n: usize,
        read: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<T> {
        use std::io::Read;
        let f = std::fs::File::open(self.path(&key_of(id)?)).ok()?;
        let mut head = Vec::with_capacity(n);
        f.take(n as u64).read_to_end(&mut head).ok()?;
        read(&head)
    }

    /// Stores the index (written aside, then renamed: a reader never sees half a file), then
    /// evicts the oldest files past the bound.
    pub fn put(&self, image_id: &str, ix: &FsIndex) -> std::io::Result<()> {
        self.put_with(image_id, |w| codec::encode_to(ix, w))
    }

    /// A file of this cache's directory that is no entry (a name starting with `.`), for
    /// a caller that writes one and later [`adopt`](DiskCache::adopt)s it.
    pub(crate) fn scratch_path(&self, name: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        Ok(self.dir.join(format!(".{name}.{}.tmp", std::process::id())))
    }

    /// Keeps the file at `path` (written by the caller in this directory) under `id`, as
    /// it is; one past the bound is removed instead.
    pub(crate) fn adopt(&self, id: &str, path: &Path) -> std::io::Result<()> {
        let Some(key) = key_of(id) else {
            return std::fs::remove_file(path);
        };
        if std::fs::metadata(path)?.len() > self.max_bytes {
            return std::fs::remove_file(path);
        }
        std::fs::rename(path, self.path(&key))?;
        self.evict();
        Ok(())
    }

    /// Keeps `bytes` under `id` (see [`DiskCache::put`]).
    pub(crate) fn put_bytes(&self, id: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.put_with(id, |w| w.write_all(bytes))
    }

    /// Keeps under `id` what `write` writes, streamed to the file: a large index is never
    /// held twice in memory. A file past the bound is not kept.
    pub(crate) fn put_with(
        &self,
        id: &str,
        write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let Some(key) = key_of(id) else {
            return Ok(());
        };
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            write(&mut f)?;
            f.metadata()
        });
        match written {
            Ok(md) if md.len() <= self.max_bytes => {}
            other => {
                let _ = std::fs::remove_file(&tmp);
                return other.map(|_| ());
            }
        }
        std::fs::rename(&tmp, self.path(&key))?;
        self.evict();
        Ok(())
    }

    fn evict(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = rd
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == self.ext))
            .filter_map(|e| {
                let md = e.metadata().ok()?;
                Some((md.modified().ok()?, md.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndexBuilder, Kind, Meta};

    const ID: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn ix(n: usize) -> FsIndex {
        let mut b = IndexBuilder::new();
        for i in 0..n {
            b.add(
                format!("d/f{i}").as_bytes(),
                Kind::File,
                Meta::new(i as u64, 0o644),
                None,
                0,
            )
            .expect("add");
        }
        b.finish()
    }

    #[test]
    fn only_ids_are_keys() {
        assert!(key_of(ID).is_some());
        assert!(key_of("busybox:latest").is_none());
        assert!(key_of("../../etc/passwd").is_none());
    }

    #[test]
    fn memory_cache_drops_the_least_recently_used() {
        let mut c = MemoryCache::new(2);
        let ids = ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"];
        c.put(ids[0], Arc::new(ix(1)));
        c.put(ids[1], Arc::new(ix(2)));
        assert!(c.get(ids[0]).is_some());
        c.put(ids[2], Arc::new(ix(3)));
        assert!(c.get(ids[1]).is_none());
        assert!(c.get(ids[0]).is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn disk_cache_round_trips_and_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = codec::encode(&ix(100)).len() as u64;
        let cache = DiskCache::new(dir.path().join("index"), one * 2 + one / 2);
        assert!(cache.get(ID).is_none());
        cache.put(ID, &ix(100)).expect("put");
        assert_eq!(cache.get(ID).expect("hit").len(), ix(100).len());
        for k in 0..4 {
            let id = format!("{k}{}", &ID[8..]);
            cache.put(&id, &ix(100)).expect("put");
        }
        let files = std::fs::read_dir(dir.path().join("index"))
            .expect("dir")
            .count();
        assert_eq!(files, 2);
        // A damaged file is a miss and goes away.
        let last = format!("3{}", &ID[8..]);
        let path = cache.path(&key_of(&last).expect("key"));
        std::fs::write(&path, b"junk").expect("write");
        assert!(cache.get(&last).is_none());
        assert!(!path.exists());
    }
}
