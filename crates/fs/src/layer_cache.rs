//! Layer indexes kept on disk by diff id (the digest of the uncompressed layer), so a layer
//! is parsed once; bounded and checked like the index cache beside it. None stays in
//! memory: an open holds the layers it composes and lets them go, so a process's memory is
//! bounded by the largest image it opens, not by the layers it has seen (reading one back
//! costs a few ms per 100k entries). With them, per image id, what its config says of its
//! layers (diff ids, history lines), so an image whose layers are all known opens without
//! reading a stream.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::cache::{DiskCache, key_of};
use super::dirs::cache_dir;
use super::index::layer::{LayerIndex, layer_codec};
use super::waste::Waste;

/// Default bound of the layer indexes on disk (file bytes).
pub(crate) const DISK_BYTES: u64 = 1 << 30;
/// Image facts are a few hundred bytes each.
const META_BYTES: u64 = 8 << 20;
/// An image's waste is its hidden copies: small unless an image hides many files.
const WASTE_BYTES: u64 = 64 << 20;

/// What an image's config says of its layers, bottom first.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageMeta {
    pub diff_ids: Vec<String>,
    pub created_by: Vec<Option<String>>,
}

/// A parsed layer on disk, not yet kept under its diff id; the file goes with the value.
#[derive(Debug, PartialEq, Eq)]
pub struct Spooled {
    path: PathBuf,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        // Gone already when it was kept.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug)]
pub struct LayerCache {
    disk: Option<DiskCache>,
    meta: Option<DiskCache>,
    /// Per image id, what its layers hid ([`Waste`]): an open whose index comes from the
    /// index cache composes nothing, so the waste it counted before is kept beside it.
    waste: Option<DiskCache>,
}

impl LayerCache {
    /// A cache under `dir` (None: nothing is kept).
    pub fn new(dir: Option<PathBuf>, disk_bytes: u64) -> Self {
        LayerCache {
            disk: dir
                .clone()
                .map(|d| DiskCache::of_kind(d, disk_bytes, "sslx")),
            meta: dir
                .clone()
                .map(|d| DiskCache::of_kind(d, META_BYTES, "sslm")),
            waste: dir.map(|d| DiskCache::of_kind(d, WASTE_BYTES, "sslw")),
        }
    }

    /// The process's cache, under `$XDG_CACHE_HOME/stagescope/layers`.
    pub fn user() -> &'static LayerCache {
        static CACHE: OnceLock<LayerCache> = OnceLock::new();
        CACHE.get_or_init(|| LayerCache::new(cache_dir().map(|d| d.join("layers")), DISK_BYTES))
    }

    /// The index of layer `diff_id`, when kept.
    pub fn get(&self, diff_id: &str) -> Option<LayerIndex> {
        key_of(diff_id)?;
        self.disk.as_ref()?.get_with(diff_id, layer_codec::decode)
    }

    /// Whether layer `diff_id` is kept, and its size in a save stream (0: unknown), without
    /// reading it all.
    pub fn has(&self, diff_id: &str) -> Option<u64> {
        key_of(diff_id)?;
        self.disk
            .as_ref()?
            .peek_with(diff_id, layer_codec::HEAD, layer_codec::stream_size)
    }

    /// Keeps layer `diff_id` (a disk that cannot be written only costs a later open its
    /// speed).
    pub fn put(&self, diff_id: &str, layer: &LayerIndex) {
        if let Some(d) = &self.disk {
            let _ = d.put_with(diff_id, |f| layer_codec::encode_to(layer, f));
        }
    }

    /// Sets a parsed layer aside on disk until the stream says which it is (a classic
    /// save names a layer's diff id only in the config, after the layers), so an open holds
    /// one parsed layer at a time. None when there is no cache directory or it cannot be
    /// written: the caller keeps the layer in memory.
    pub fn spool(&self, layer: &LayerIndex) -> Option<Spooled> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = self
            .disk
            .as_ref()?
            .scratch_path(&format!("spool-{n}"))
            .ok()?;
        let spooled = Spooled { path };
        let f = std::fs::File::create(&spooled.path).ok()?;
        layer_codec::encode_to(layer, f).ok()?;
        Some(spooled)
    }

    /// The layer set aside by [`LayerCache::spool`].
    pub fn unspool(&self, s: &Spooled) -> Option<LayerIndex> {
        layer_codec::decode(&std::fs::read(&s.path).ok()?)
    }

    /// Keeps a spooled layer as layer `diff_id` (the file is moved, not written again).
    pub fn keep_spooled(&self, diff_id: &str, s: Spooled) {
        if let Some(d) = &self.disk {
            let _ = d.adopt(diff_id, &s.path);
        }
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

    /// What the layers of image `image_id` hid, when kept.
    pub fn waste(&self, image_id: &str) -> Option<Waste> {
        key_of(image_id)?;
        self.waste
            .as_ref()?
            .get_with(image_id, |b| serde_json::from_slice(b).ok())
    }

    pub fn put_waste(&self, image_id: &str, waste: &Waste) {
        if key_of(image_id).is_none() {
            return;
        }
        if let (Some(d), Ok(bytes)) = (&self.waste, serde_json::to_vec(waste)) {
            let _ = d.put_bytes(image_id, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n: usize, size: u64) -> LayerIndex {
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..n {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            b.append_data(&mut h, format!("f{i}"), &b"x"[..])
                .expect("append");
        }
        let t = b.into_inner().expect("tar");
        let mut l = LayerIndex::from_tar(t.as_slice(), |_| {}).expect("layer");
        l.stream_size = size;
        l
    }

    fn id(k: u8) -> String {
        format!("sha256:{}", format!("{k:02x}").repeat(32))
    }

    #[test]
    fn layers_come_back_from_disk_with_their_stream_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::new(Some(dir.path().to_path_buf()), 1 << 20);
        for k in 0..4 {
            cache.put(&id(k), &layer(100, 1000 + u64::from(k)));
        }
        assert_eq!(cache.get(&id(0)), Some(layer(100, 1000)));
        assert_eq!(cache.has(&id(2)), Some(1002));
        assert!(cache.get(&id(9)).is_none());
        assert!(cache.has(&id(9)).is_none());
        assert!(
            cache.get("busybox:latest").is_none(),
            "only digests are keys"
        );
        // Another process (a fresh cache on the same directory) finds them too.
        let again = LayerCache::new(Some(dir.path().to_path_buf()), 1 << 20);
        assert!(again.get(&id(3)).is_some());
        let meta = ImageMeta {
            diff_ids: vec![id(0)],
            created_by: vec![Some("RUN make".into())],
        };
        again.put_meta(&id(7), &meta);
        assert_eq!(cache.meta(&id(7)), Some(meta));
        let waste = crate::waste::Waste {
            layer_bytes: vec![3, 4],
            hidden: vec![crate::waste::HiddenCopy {
                path: b"a/\xff".to_vec(),
                size: 3,
                layer: 0,
                hidden_by: 1,
                how: crate::waste::How::Deleted,
            }],
        };
        again.put_waste(&id(7), &waste);
        assert_eq!(cache.waste(&id(7)), Some(waste));
        assert!(cache.waste(&id(8)).is_none());
    }

    #[test]
    fn the_disk_stays_within_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = layer_codec::encode(&layer(100, 1)).len() as u64;
        let cache = LayerCache::new(Some(dir.path().to_path_buf()), one * 2 + one / 2);
        for k in 0..4 {
            cache.put(&id(k), &layer(100, 1));
        }
        let kept = (0..4).filter(|&k| cache.has(&id(k)).is_some()).count();
        assert_eq!(kept, 2);
        // One larger than the whole bound is not kept at all.
        let small = LayerCache::new(Some(dir.path().join("small")), one / 2);
        small.put(&id(5), &layer(100, 1));
        assert!(small.get(&id(5)).is_none());
    }

    #[test]
    fn a_damaged_layer_file_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::new(Some(dir.path().to_path_buf()), 1 << 20);
        cache.put(&id(1), &layer(3, 9));
        let file = dir.path().join(format!("{}.sslx", "01".repeat(32)));
        let mut bytes = std::fs::read(&file).expect("written");
        bytes[70] ^= 1;
        std::fs::write(&file, bytes).expect("write");
        let fresh = LayerCache::new(Some(dir.path().to_path_buf()), 1 << 20);
        assert!(fresh.get(&id(1)).is_none());
        assert!(!file.exists());
    }
}
