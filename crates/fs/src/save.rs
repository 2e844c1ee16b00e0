//! An image's layers indexed from one `docker save` stream, each on its own as it passes
//! ([`LayerIndex`]), in either layout (see [`super::layers`]); once the manifest and config
//! have passed (at the end), the layers are put in order with their diff ids and history.
//!
//! A layer the caller already knows (see [`Known`]) is read through unparsed: the engine
//! cannot send one layer alone, but skipping the tar parse and the content hashes is most of
//! the cost.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::index::layer::LayerIndex;
use super::index::{IndexBuilder, IndexError};
use super::layer_cache::Spooled;

/// A layer of the stream the caller already has, by diff id (`sha256:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub diff_id: String,
    /// The guess came from the entry's size: check the bytes' digest while reading through.
    pub verify: bool,
}

/// What became of one layer of the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerRead {
    /// Parsed (its [`LayerIndex::stream_size`] set).
    Indexed(LayerIndex),
    /// Parsed and set aside on disk by the caller's `park`.
    Spooled(Arc<Spooled>),
    /// Read through unparsed: the caller has it.
    Skipped(String),
    /// Skipped as known, but its digest said otherwise: the stream must be read again
    /// without skipping.
    Mismatch,
    /// Absent from the stream, or a compression that could not be read.
    Unreadable,
}

/// The layers of one image, bottom first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SaveRead {
    /// Per layer: its diff id (from the config, when it says) and what was read of it.
    pub layers: Vec<(Option<String>, LayerRead)>,
    /// Per layer: the history line that made it (`RUN make`), when known.
    pub created_by: Vec<Option<String>>,
}

/// JSON documents worth keeping from the save stream; anything larger is not metadata.
const MAX_JSON: u64 = 8 << 20;

/// Reads a whole `docker save` stream of one image. `known` is asked, for each layer entry
/// (archive path, entry size), whether the caller already has it; `observe` sees the
/// builder of the layer being indexed every ~1k entries; `park` gets each parsed layer (to
/// keep it, or set it aside until the manifest says what it is).
pub fn read_save_indexed(
    reader: impl Read,
    mut known: impl FnMut(&[u8], u64) -> Option<Known>,
    mut observe: impl FnMut(&IndexBuilder),
    mut park: impl FnMut(LayerIndex) -> LayerRead,
) -> Result<SaveRead, IndexError> {
    let mut by_path: HashMap<Vec<u8>, LayerRead> = HashMap::new();
    let mut json: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut ar = tar::Archive::new(reader);
    for e in ar.entries()? {
        let mut e = e?;
        if !e.header().entry_type().is_file() {
            continue;
        }
        let path = e.path_bytes().into_owned();
        let size = e.size();
        let is_layer_path = path.ends_with(b".tar") || path.starts_with(b"blobs/");
        if is_layer_path && let Some(k) = known(&path, size) {
            by_path.insert(path, read_through(&mut e, k)?);
            continue;
        }
        // Enough to tell a tar (its `ustar` magic at 257) from a JSON document: a layer
        // whose first name starts with `{` must not pass for one.
        let mut head = [0u8; 512];
        let mut got = 0;
        while got < head.len() {
            let n = e.read(&mut head[got..])?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let head = &head[..got];
        let is_tar = head.get(257..262) == Some(&b"ustar"[..]);
        let rest = head.chain(&mut e);
        let mut indexed = |mut index: LayerIndex| {
            index.stream_size = size;
            park(index)
        };
        if head.starts_with(&[0x1f, 0x8b]) {
            let ix = LayerIndex::from_tar(flate2::read::GzDecoder::new(rest), &mut observe)?;
            by_path.insert(path, indexed(ix));
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let read = match ruzstd::decoding::StreamingDecoder::new(rest) {
                Ok(dec) => indexed(LayerIndex::from_tar(dec, &mut observe)?),
                Err(_) => LayerRead::Unreadable,
            };
            by_path.insert(path, read);
        } else if !is_tar && head.first().is_some_and(|b| matches!(b, b'{' | b'[')) {
            let mut buf = Vec::new();
            rest.take(MAX_JSON).read_to_end(&mut buf)?;
            json.insert(path, buf);
        } else if is_layer_path {
            let ix = LayerIndex::from_tar(rest, &mut observe)?;
            by_path.insert(path, indexed(ix));
        }
    }
    let manifest: Vec<ManifestItem> = json
        .get(&b"manifest.json"[..])
        .and_then(|m| serde_json::from_slice(m).ok())
        .unwrap_or_default();
    let Some(item) = manifest.into_iter().next() else {
        return Ok(SaveRead::default());
    };
    let config: SaveConfig = json
        .get(item.config.as_bytes())
        .and_then(|c| serde_json::from_slice(c).ok())
        .unwrap_or_default();
    let mut history = config
        .history
        .into_iter()
        .filter(|h| !h.empty_layer)
        .map(|h| short_created_by(&h.created_by));
    let mut diff_ids = config.rootfs.diff_ids.into_iter();
    let mut out = SaveRead::default();
    for p in &item.layers {
        let read = by_path
            .remove(p.as_bytes())
            .unwrap_or(LayerRead::Unreadable);
        out.layers.push((diff_ids.next(), read));
        out.created_by.push(history.next());
    }
    Ok(out)
}

/// Reads a known layer's bytes without parsing them, checking their digest when asked.
fn read_through(e: &mut impl Read, k: Known) -> Result<LayerRead, IndexError> {
    let mut buf = vec![0u8; 256 << 10];
    let mut hasher = k.verify.then(Sha256::new);
    loop {
        let n = e.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&buf[..n]);
        }
    }
    if let Some(h) = hasher {
        let got = format!("sha256:{}", hex::encode(h.finalize()));
        if got != k.diff_id {
            return Ok(LayerRead::Mismatch);
        }
    }
    Ok(LayerRead::Skipped(k.diff_id))
}

/// One image of a save stream's `manifest.json`.
#[derive(serde::Deserialize)]
pub(crate) struct ManifestItem {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// What the image config says of its layers.
#[derive(serde::Deserialize, Default)]
pub(crate) struct SaveConfig {
    #[serde(default)]
    pub history: Vec<History>,
    #[serde(default)]
    pub rootfs: RootFs,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

#[derive(serde::Deserialize)]
pub(crate) struct History {
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub empty_layer: bool,
}

/// `/bin/sh -c #(nop) COPY file:… in /x` -> `COPY file:… in /x`; `/bin/sh -c make` ->
/// `RUN make`; BuildKit's `RUN /bin/sh -c make # buildkit` -> `RUN make`.
pub fn short_created_by(h: &str) -> String {
    let h = h.trim();
    let h = h.strip_suffix("# buildkit").unwrap_or(h).trim_end();
    // A RUN with build args: `|2 A=1 B=2 /bin/sh -c …` (classic), `RUN |2 A=1 …` (BuildKit).
    let h = h
        .strip_prefix("RUN ")
        .filter(|r| r.starts_with('|'))
        .unwrap_or(h);
    let h = match h.strip_prefix('|') {
        Some(rest) => rest.find("/bin/sh -c ").map_or(h, |i| &rest[i..]),
        None => h,
    };
    if let Some(rest) = h.strip_prefix("/bin/sh -c #(nop) ") {
        return rest.trim().to_string();
    }
    if let Some(rest) = h.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    if let Some(rest) = h.strip_prefix("RUN /bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    h.to_string()
}

#[cfg(test)]
#[path = "save_tests.rs"]
mod tests;
