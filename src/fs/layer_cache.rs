//! Layer indexes kept by diff id (the digest of the uncompressed layer), so a layer is
//! parsed once: a few in memory (bounded in bytes, least recently used out first) and more
//! on disk beside the index cache (bounded and checked like it). With them, per image id,
//! what its config says of its layers (diff ids, history lines), so an image whose layers
//! are all known opens without reading a stream.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use super::cache::{DiskCache, key_of, user_dir};
use super::index::layer::{LayerIndex, layer_codec};

/// Default bounds: layer indexes in memory (heap bytes) and on disk (file bytes).
pub const MEMORY_BYTES: usize = 64 << 20;
pub const DISK_BYTES: u64 = 1 << 30;
/// Image facts are a few hundred bytes each.
const META_BYTES: u64 = 8 << 20;

/// What an image's config says of its layers, bottom first.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageMeta {
    pub diff_ids: Vec<String>,
    pub created_by: Vec<Option<String>>,
}

#[derive(Debug)]
pub struct LayerCache {
    memory: Mutex<Vec<(String, Arc<LayerIndex>)>>,
    memory_bytes: usize,
    disk: Option<DiskCache>,
    meta: Option<DiskCache>,
}

impl LayerCache {
    /// A cache under `dir` (None: memory only).
    pub fn new(dir: Option<PathBuf>, memory_bytes: usize, disk_bytes: u64) -> Self {
        LayerCache {
            memory: Mutex::new(Vec::new()),
            memory_bytes,
            disk: dir
                .clone()
                .map(|d| DiskCache::of_kind(d, disk_bytes, "sslx")),
            meta: dir.map(|d| DiskCache::of_kind(d, META_BYTES, "sslm")),
        }
    }

    /// The process's cache, under `$XDG_CACHE_HOME/stagescope/layers`.
    pub fn user() -> &'static LayerCache {
        static CACHE: OnceLock<LayerCache> = OnceLock::new();
        CACHE.get_or_init(|| {
            LayerCache::new(
                user_dir().map(|d| d.join("layers")),
                MEMORY_BYTES,
                DISK_BYTES,
            )
        })
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<LayerIndex>)>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index of layer `diff_id`, from memory or disk.
    pub fn get(&self, diff_id: &str) -> Option<Arc<LayerIndex>> {
        let key = key_of(diff_id)?;
        {
            let mut mem = self.memory();
            if let Some(i) = mem.iter().position(|(k, _)| *k == key) {
                let item = mem.remove(i);
                let l = item.1.clone();
                mem.push(item);
                return Some(l);
            }
        }
        let l = Arc::new(self.disk.as_ref()?.get_with(diff_id, layer_codec::decode)?);
        self.remember(key, l.clone());
        Some(l)
    }

    /// Keeps layer `diff_id` in memory and on disk (a disk that cannot be written only
    /// costs a later open its speed).
    pub fn put(&self, diff_id: &str, layer: Arc<LayerIndex>) {
        let Some(key) = key_of(diff_id) else { return };
        if let Some(d) = &self.disk {
            let _ = d.put_bytes(diff_id, &layer_codec::encode(&layer));
        }
        self.remember(key, layer);
    }

    fn remember(&self, key: String, layer: Arc<LayerIndex>) {
        let mut mem = self.memory();
        mem.retain(|(k, _)| *k != key);
        mem.push((key, layer));
        let mut total: usize = mem.iter().map(|(_, l)| l.heap_bytes()).sum();
        while total > self.memory_bytes && mem.len() > 1 {
            total -= mem.remove(0).1.heap_bytes();
        }
    }

    /// Layers in memory now.
    pub fn memory_len(&self) -> usize {
        self.memory().len()
    }

    pub fn meta(&self, image_id: &str) -> Option<ImageMeta> {
        self.meta
            .as_ref()?
            .get_with(image_id, |b| serde_json::from_slice(b).ok())
    }

    pub fn put_meta(&self, image_id: &str, meta: &ImageMeta) {
        if let (Some(d), Ok(bytes)) = (&self.meta, serde_json::to_vec(meta)) {
            let _ = d.put_bytes(image_id, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n: usize) -> Arc<LayerIndex> {
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..n {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            b.append_data(&mut h, format!("f{i}"), &b"x"[..])
                .expect("append");
        }
        let t = b.into_inner().expect("tar");
        Arc::new(LayerIndex::from_tar(t.as_slice(), |_| {}).expect("layer"))
    }

    fn id(k: u8) -> String {
        format!("sha256:{}", format!("{k:02x}").repeat(32))
    }

    #[test]
    fn layers_come_back_from_disk_and_memory_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = layer(100).heap_bytes();
        let cache = LayerCache::new(Some(dir.path().to_path_buf()), one * 2 + one / 2, 1 << 20);
        for k in 0..4 {
            cache.put(&id(k), layer(100));
        }
        assert_eq!(cache.memory_len(), 2);
        let back = cache.get(&id(0)).expect("from disk");
        assert_eq!(*back, *layer(100));
        assert!(cache.get(&id(9)).is_none());
        assert!(
            cache.get("busybox:latest").is_none(),
            "only digests are keys"
        );
        // Another process (a fresh cache on the same directory) finds them too.
        let again = LayerCache::new(Some(dir.path().to_path_buf()), one * 4, 1 << 20);
        assert!(again.get(&id(3)).is_some());
        let meta = ImageMeta {
            diff_ids: vec![id(0)],
            created_by: vec![Some("RUN make".into())],
        };
        again.put_meta(&id(7), &meta);
        assert_eq!(cache.meta(&id(7)), Some(meta));
    }

    #[test]
    fn a_damaged_layer_file_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::new(Some(dir.path().to_path_buf()), 0, 1 << 20);
        cache.put(&id(1), layer(3));
        let file = dir.path().join(format!("{}.sslx", "01".repeat(32)));
        let mut bytes = std::fs::read(&file).expect("written");
        bytes[20] ^= 1;
        std::fs::write(&file, bytes).expect("write");
        let fresh = LayerCache::new(Some(dir.path().to_path_buf()), 0, 1 << 20);
        assert!(fresh.get(&id(1)).is_none());
        assert!(!file.exists());
    }
}
