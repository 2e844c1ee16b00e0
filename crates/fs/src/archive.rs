//! Images with no engine: a `docker save` tar (`docker-archive:FILE`, either layout, `-` for
//! stdin, gzip too) or an OCI layout directory (`oci-layout:DIR[:TAG]`: `index.json`,
//! `blobs/`, gzip, zstd or plain layers), read into the same index, waste and caches as an
//! engine's image: layers by diff id in the [`LayerCache`], the composed index by image id
//! (the config's digest, which is what an engine calls the image) in the [`DiskCache`].
//!
//! Nothing here trusts the archive: a blob is named by a digest of hex digits only (no path
//! leaves the layout), a layer is kept under its diff id only when its bytes hash to it (a
//! forged archive cannot put a false layer in the cache an engine's opens share), JSON
//! documents are bounded. A plain file is read by seeking to each entry (only the layers the
//! cache lacks are read); stdin and gzip are read once as a stream, and then nothing is kept.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cache::DiskCache;
use crate::index::layer::{Composer, LayerIndex};
use crate::layer_cache::{ImageMeta, LayerCache};
use crate::save::{LayerRead, ManifestItem, SaveConfig, read_save_indexed, short_created_by};
use crate::waste::Waste;
use crate::{FsIndex, IndexBuilder, IndexError};

/// Where an image with no engine is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A `docker save` tar; `None` is stdin.
    DockerArchive(Option<PathBuf>),
    /// An OCI layout directory and the tag (`org.opencontainers.image.ref.name`) to open.
    OciLayout(PathBuf, Option<String>),
}

impl Source {
    /// `docker-archive:FILE` or `oci-layout:DIR[:TAG]`; None for anything else (an engine's
    /// image name).
    pub fn parse(spec: &str) -> Option<Source> {
        if let Some(f) = spec.strip_prefix("docker-archive:") {
            return Some(Source::DockerArchive((f != "-").then(|| PathBuf::from(f))));
        }
        let rest = spec.strip_prefix("oci-layout:")?;
        // `DIR:TAG` unless the whole is a directory (a path with a colon in it).
        if Path::new(rest).is_dir() {
            return Some(Source::OciLayout(rest.into(), None));
        }
        Some(match rest.rsplit_once(':') {
            Some((dir, tag)) if !tag.is_empty() && !tag.contains('/') => {
                Source::OciLayout(dir.into(), Some(tag.to_string()))
            }
            _ => Source::OciLayout(rest.into(), None),
        })
    }
}

/// An `os/arch[/variant]` as `--platform` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    pub fn parse(s: &str) -> Result<Platform, ArchiveError> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                arch: arch.to_string(),
                variant: parts
                    .get(2)
                    .filter(|v| !v.is_empty())
                    .map(|v| v.to_string()),
            }),
            _ => Err(ArchiveError(format!(
                "--platform {s:?}: expected os/arch[/variant], e.g. linux/amd64"
            ))),
        }
    }

    /// This machine's, as the OCI image spec names it.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            arch: arch.into(),
            variant: variant.map(String::from),
        }
    }

    fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.arch == arch
            && self
                .variant
                .as_deref()
                .is_none_or(|v| Some(v) == variant || (variant.is_none() && v == "v8"))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArchiveError(pub String);

impl From<io::Error> for ArchiveError {
    fn from(e: io::Error) -> Self {
        ArchiveError(e.to_string())
    }
}

impl From<IndexError> for ArchiveError {
    fn from(e: IndexError) -> Self {
        ArchiveError(e.to_string())
    }
}

/// An image read from an archive.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    pub index: FsIndex,
    pub waste: Waste,
    /// Per layer, the history line that made it.
    pub created_by: Vec<Option<String>>,
    /// The config's digest (`sha256:…`); None from a stream.
    pub image_id: Option<String>,
    /// Index and waste came from the caches: nothing was composed.
    pub from_cache: bool,
}

/// The caches an open reads and fills (None: none).
#[derive(Clone, Copy)]
pub struct Caches<'a> {
    pub layers: Option<&'a LayerCache>,
    pub index: Option<&'a DiskCache>,
}

/// JSON documents (index, manifest, config) larger than this are not metadata.
const MAX_JSON: u64 = 8 << 20;

/// Opens `source`; `platform` picks one manifest of a multi-platform index (default: this
/// machine's when there is a choice).
pub fn open(
    source: &Source,
    platform: Option<&Platform>,
    caches: Caches,
    observe: impl FnMut(&IndexBuilder),
) -> Result<ArchiveImage, ArchiveError> {
    match source {
        Source::OciLayout(dir, tag) => {
            if !dir.join("index.json").is_file() {
                return Err(ArchiveError(format!(
                    "{}: not an OCI layout (no index.json)",
                    dir.display()
                )));
            }
            let store = Store::Dir(dir.clone());
            let (config, layers) = pick_oci(&store, tag.as_deref(), platform)?;
            open_stored(&store, &config, &layers, caches, observe)
        }
        Source::DockerArchive(Some(path)) => {
            let mut f =
                File::open(path).map_err(|e| ArchiveError(format!("{}: {e}", path.display())))?;
            let mut magic = [0u8; 4];
            let n = f.read(&mut magic)?;
            f.seek(SeekFrom::Start(0))?;
            if n >= 2 && magic[..2] == [0x1f, 0x8b] {
                return open_stream(flate2::read::GzDecoder::new(BufReader::new(f)), observe);
            }
            let store = Store::tar(path, f)?;
            if store.has("index.json") && !store.has("manifest.json") {
                let (config, layers) = pick_oci(&store, None, platform)?;
                return open_stored(&store, &config, &layers, caches, observe);
            }
            let manifest: Vec<ManifestItem> = serde_json::from_slice(&store.json("manifest.json")?)
                .map_err(|e| ArchiveError(format!("manifest.json: {e}")))?;
            let Some(item) = manifest.into_iter().next() else {
                return Err(ArchiveError("manifest.json lists no image".into()));
            };
            open_stored(&store, &item.config, &item.layers, caches, observe)
        }
        Source::DockerArchive(None) => {
            let stdin = io::stdin().lock();
            let mut r = BufReader::new(stdin);
            let gz = {
                let head = r.fill_buf_peek()?;
                head.starts_with(&[0x1f, 0x8b])
            };
            if gz {
                open_stream(flate2::read::GzDecoder::new(r), observe)
            } else {
                open_stream(r, observe)
            }
        }
    }
}

trait PeekBuf {
    fn fill_buf_peek(&mut self) -> io::Result<&[u8]>;
}

impl<R: Read> PeekBuf for BufReader<R> {
    fn fill_buf_peek(&mut self) -> io::Result<&[u8]> {
        io::BufRead::fill_buf(self)
    }
}

/// A stream read once (stdin, gzip): indexed as it passes; the layers' diff ids are not
/// checked, so nothing is kept in the caches.
fn open_stream(
    r: impl Read,
    observe: impl FnMut(&IndexBuilder),
) -> Result<ArchiveImage, ArchiveError> {
    let read = read_save_indexed(r, |_, _| None, observe, LayerRead::Indexed)?;
    if read.layers.is_empty() {
        return Err(ArchiveError(
            "not a docker save archive (no manifest.json naming an image)".into(),
        ));
    }
    let mut c = Composer::default();
    for (i, (_, l)) in read.layers.iter().enumerate() {
        match l {
            LayerRead::Indexed(ix) => c.push(ix),
            _ => return Err(ArchiveError(format!("layer {i}: missing or unreadable"))),
        }
    }
    let (index, waste) = c.finish_with_waste();
    Ok(ArchiveImage {
        index,
        waste,
        created_by: read.created_by,
        image_id: None,
        from_cache: false,
    })
}

/// Where an archive's entries are: a directory, or a plain tar file read by seeking.
enum Store {
    Dir(PathBuf),
    Tar(PathBuf, HashMap<String, (u64, u64)>),
}

impl Store {
    fn tar(path: &Path, f: File) -> Result<Store, ArchiveError> {
        let mut table = HashMap::new();
        let mut ar = tar::Archive::new(f);
        for e in ar
            .entries_with_seek()
            .map_err(|e| ArchiveError(format!("{}: not a tar: {e}", path.display())))?
        {
            let e = e.map_err(|e| ArchiveError(format!("{}: not a tar: {e}", path.display())))?;
            if !e.header().entry_type().is_file() {
                continue;
            }
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_string();
            table.insert(name, (e.raw_file_position(), e.size()));
        }
        if table.is_empty() {
            return Err(ArchiveError(format!(
                "{}: not a docker save archive (an empty tar, or not a tar)",
                path.display()
            )));
        }
        Ok(Store::Tar(path.to_path_buf(), table))
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Store::Dir(d) => d.join(name).is_file(),
            Store::Tar(_, t) => t.contains_key(name),
        }
    }

    /// The entry `name` (a path inside the archive; never `..`).
    fn open(&self, name: &str) -> Result<Box<dyn Read>, ArchiveError> {
        if name.split('/').any(|c| c == ".." || c.is_empty()) || name.starts_with('/') {
            return Err(ArchiveError(format!(
                "{name:?}: not a path inside the archive"
            )));
        }
        match self {
            Store::Dir(d) => {
                let p = d.join(name);
                let f =
                    File::open(&p).map_err(|e| ArchiveError(format!("{}: {e}", p.display())))?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, f)))
            }
            Store::Tar(path, t) => {
                let &(at, size) = t
                    .get(name)
                    .ok_or_else(|| ArchiveError(format!("{name}: not in {}", path.display())))?;
                let mut f = File::open(path)?;
                f.seek(SeekFrom::Start(at))?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, f).take(size)))
            }
        }
    }

    fn json(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let mut buf = Vec::new();
        self.open(name)?.take(MAX_JSON).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// `sha256:<hex>` -> `blobs/sha256/<hex>`, refusing anything but an algorithm and hex digits.
fn blob_path(digest: &str) -> Result<String, ArchiveError> {
    let bad = || ArchiveError(format!("{digest:?}: not a digest"));
    let (alg, hex) = digest.split_once(':').ok_or_else(bad)?;
    let ok_alg = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok_alg || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(format!("blobs/{alg}/{hex}"))
}

#[derive(serde::Deserialize, Default, Clone)]
struct OciPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(serde::Deserialize, Clone)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<OciPlatform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(serde::Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(serde::Deserialize)]
struct OciManifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

fn is_index(d: &Descriptor) -> bool {
    d.media_type.ends_with("image.index.v1+json") || d.media_type.ends_with("manifest.list.v2+json")
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const IMAGE_NAME: &str = "io.containerd.image.name";

fn name_of(d: &Descriptor) -> Option<&str> {
    d.annotations
        .get(IMAGE_NAME)
        .or_else(|| d.annotations.get(REF_NAME))
        .map(String::as_str)
}

/// The config and layer paths of the manifest `tag` and `platform` pick in the layout.
fn pick_oci(
    store: &Store,
    tag: Option<&str>,
    platform: Option<&Platform>,
) -> Result<(String, Vec<String>), ArchiveError> {
    let index: OciIndex = serde_json::from_slice(&store.json("index.json")?)
        .map_err(|e| ArchiveError(format!("index.json: {e}")))?;
    let mut top = index.manifests;
    if let Some(tag) = tag {
        top.retain(|d| {
            d.annotations.get(REF_NAME).map(String::as_str) == Some(tag)
                || name_of(d)
                    .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
        });
        if top.is_empty() {
            return Err(ArchiveError(format!(
                "no image tagged {tag:?} in the layout"
            )));
        }
    }
    let mut names: Vec<&str> = top.iter().filter_map(name_of).collect();
    names.dedup();
    if top.len() > 1 && names.len() > 1 {
        return Err(ArchiveError(format!(
            "the layout holds {} images ({}): name one with oci-layout:DIR:TAG",
            names.len(),
            names.join(", ")
        )));
    }
    // Nested indexes (a multi-platform image) opened, one level per step, a few at most.
    let mut manifests = Vec::new();
    let mut queue = top;
    let mut depth = 0;
    while !queue.is_empty() && depth < 4 {
        let mut next = Vec::new();
        for d in queue {
            if is_index(&d) {
                let ix: OciIndex = serde_json::from_slice(&store.json(&blob_path(&d.digest)?)?)
                    .map_err(|e| ArchiveError(format!("{}: {e}", d.digest)))?;
                next.extend(ix.manifests);
            } else if d
                .annotations
                .get("vnd.docker.reference.type")
                .map(String::as_str)
                != Some("attestation-manifest")
            {
                manifests.push(d);
            }
        }
        queue = next;
        depth += 1;
    }
    // Each manifest's platform: its descriptor's, else its config's.
    let mut found: Vec<(Platform, OciManifest)> = Vec::new();
    for d in &manifests {
        let m: OciManifest = serde_json::from_slice(&store.json(&blob_path(&d.digest)?)?)
            .map_err(|e| ArchiveError(format!("manifest {}: {e}", d.digest)))?;
        let p = match &d.platform {
            Some(p) if !p.os.is_empty() => p.clone(),
            _ => serde_json::from_slice(&store.json(&blob_path(&m.config.digest)?)?)
                .unwrap_or_default(),
        };
        if p.os == "unknown" {
            continue;
        }
        let p = Platform {
            os: p.os,
            arch: p.architecture,
            variant: p.variant.filter(|v| !v.is_empty()),
        };
        found.push((p, m));
    }
    let chosen = match (platform, found.len()) {
        (_, 0) => return Err(ArchiveError("the layout holds no image manifest".into())),
        (None, 1) => found.pop(),
        (want, _) => {
            let want = want.cloned().unwrap_or_else(Platform::host);
            let listed: Vec<String> = found.iter().map(|(p, _)| p.to_string()).collect();
            let i = found
                .iter()
                .position(|(p, _)| want.matches(&p.os, &p.arch, p.variant.as_deref()))
                .ok_or_else(|| {
                    ArchiveError(format!(
                        "no {want} image in the layout; it has: {} (choose with --platform)",
                        listed.join(", ")
                    ))
                })?;
            Some(found.swap_remove(i))
        }
    };
    let Some((_, m)) = chosen else {
        return Err(ArchiveError("the layout holds no image manifest".into()));
    };
    let layers = m
        .layers
        .iter()
        .map(|l| blob_path(&l.digest))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((blob_path(&m.config.digest)?, layers))
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// One layer blob (gzip, zstd or plain) indexed, with the sha256 of its uncompressed bytes.
fn index_layer(
    blob: Box<dyn Read>,
    observe: &mut impl FnMut(&IndexBuilder),
) -> Result<(LayerIndex, String), ArchiveError> {
    let mut blob = BufReader::new(blob);
    let head = io::BufRead::fill_buf(&mut blob)?.to_vec();
    let plain: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(blob))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(
            ruzstd::decoding::StreamingDecoder::new(blob)
                .map_err(|e| ArchiveError(format!("a zstd layer: {e}")))?,
        )
    } else {
        Box::new(blob)
    };
    let mut h = Hashing {
        inner: plain,
        hasher: Sha256::new(),
    };
    let ix = LayerIndex::from_tar(&mut h, observe)?;
    // The tar's end blocks and any padding count in the digest.
    io::copy(&mut h, &mut io::sink())?;
    Ok((ix, format!("sha256:{}", hex::encode(h.hasher.finalize()))))
}

/// Opens the image whose config and layers are at these paths of `store`.
fn open_stored(
    store: &Store,
    config_path: &str,
    layer_paths: &[String],
    caches: Caches,
    mut observe: impl FnMut(&IndexBuilder),
) -> Result<ArchiveImage, ArchiveError> {
    let config_bytes = store.json(config_path)?;
    let image_id = format!("sha256:{}", hex::encode(Sha256::digest(&config_bytes)));
    let config: SaveConfig = serde_json::from_slice(&config_bytes)
        .map_err(|e| ArchiveError(format!("the image config: {e}")))?;
    let created_by: Vec<Option<String>> = {
        let mut h = config
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| short_created_by(&h.created_by));
        layer_paths.iter().map(|_| h.next()).collect()
    };
    let diff_ids = config.rootfs.diff_ids;
    if diff_ids.len() != layer_paths.len() {
        return Err(ArchiveError(format!(
            "the config lists {} layers, the manifest {}",
            diff_ids.len(),
            layer_paths.len()
        )));
    }
    if let (Some(lc), Some(ic)) = (caches.layers, caches.index)
        && let Some(waste) = lc.waste(&image_id)
        && let Some(index) = ic.get(&image_id)
    {
        return Ok(ArchiveImage {
            index,
            waste,
            created_by,
            image_id: Some(image_id),
            from_cache: true,
        });
    }
    let mut c = Composer::default();
    for (i, (path, diff_id)) in layer_paths.iter().zip(&diff_ids).enumerate() {
        if let Some(l) = caches.layers.and_then(|lc| lc.get(diff_id)) {
            c.push(&l);
            continue;
        }
        let (l, digest) = index_layer(store.open(path)?, &mut observe)
            .map_err(|e| ArchiveError(format!("layer {i} ({path}): {e}")))?;
        if &digest != diff_id {
            return Err(ArchiveError(format!(
                "layer {i} ({path}): its content is {digest}, the config says {diff_id} (a damaged or altered archive)"
            )));
        }
        if let Some(lc) = caches.layers {
            lc.put(diff_id, &l);
        }
        c.push(&l);
    }
    let (index, waste) = c.finish_with_waste();
    if let Some(lc) = caches.layers {
        lc.put_waste(&image_id, &waste);
        lc.put_meta(
            &image_id,
            &ImageMeta {
                diff_ids: diff_ids.clone(),
                created_by: created_by.clone(),
            },
        );
    }
    if let Some(ic) = caches.index {
        let _ = ic.put(&image_id, &index);
    }
    Ok(ArchiveImage {
        index,
        waste,
        created_by,
        image_id: Some(image_id),
        from_cache: false,
    })
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
