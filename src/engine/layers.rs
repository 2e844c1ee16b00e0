//! An image's filesystem and its layers (what each added) from one `docker save` stream,
//! with the layer cache: the image's inspect data lists its layers by diff id, layers
//! already known are taken from the cache (and read through unparsed when the stream must
//! be read for the others), and an image whose layers and config are all known is opened
//! without any stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use super::connect::Engine;
use super::error::EngineError;
use super::export::{pipe_to_blocking, streaming};
use crate::fs::index::layer::{LayerIndex, compose};
use crate::fs::layer_cache::{ImageMeta, LayerCache};
use crate::fs::layers::{ImageLayers, Layer};
use crate::fs::save::{Known, LayerRead, SaveRead, read_save_indexed};
use crate::fs::{FsIndex, IndexBuilder};

/// Why an image's layers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayersError {
    /// The engine answered the save with an error: it could not read back a layer it stores
    /// (an imported tar with a `../` name, on fuse-overlayfs). Its export may still work.
    #[error("{0}")]
    SaveRefused(EngineError),
    #[error("{0}")]
    Engine(#[from] EngineError),
}

/// How an open went, for the figures and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenStats {
    /// Save streams read (0: everything came from the cache).
    pub streams: usize,
    /// Layers parsed from a stream.
    pub parsed: usize,
    /// Layers taken from the cache.
    pub cached: usize,
}

/// A composed filesystem and what each of its layers did.
#[derive(Debug, Clone)]
pub struct ImageFs {
    pub index: FsIndex,
    pub layers: ImageLayers,
    pub image_id: Option<String>,
    pub stats: OpenStats,
}

/// The filesystem of `image` composed from its layers (unless `want_index` is false: the
/// caller has it), and its layers. `observe` sees the builder of each layer being parsed
/// (layers arrive before the stream says their order, so what it shows is that layer's
/// files).
pub async fn open_image_fs(
    engine: &Engine,
    image: &str,
    cache: &'static LayerCache,
    want_index: bool,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<ImageFs, LayersError> {
    let info = engine
        .docker
        .inspect_image(image)
        .await
        .map_err(EngineError::from)?;
    let image_id = info.id.clone();
    let diff_ids: Vec<String> = info.root_fs.and_then(|r| r.layers).unwrap_or_default();
    let lookup_ids = diff_ids.clone();
    let meta_id = image_id.clone();
    let (have, meta) = tokio::task::spawn_blocking(move || {
        let have: HashMap<String, Arc<LayerIndex>> = lookup_ids
            .iter()
            .filter_map(|d| Some((d.clone(), cache.get(d)?)))
            .collect();
        let meta = meta_id.and_then(|id| cache.meta(&id));
        (have, meta)
    })
    .await
    .map_err(|e| EngineError::Docker(format!("layer cache: {e}")))?;

    let mut stats = OpenStats::default();
    let all_known = !diff_ids.is_empty() && diff_ids.iter().all(|d| have.contains_key(d));
    if let Some(meta) = meta.filter(|m| all_known && m.diff_ids == diff_ids) {
        stats.cached = diff_ids.len();
        let layers: Vec<Arc<LayerIndex>> = diff_ids
            .iter()
            .filter_map(|d| have.get(d).cloned())
            .collect();
        return Ok(finish(layers, meta.created_by, image_id, stats, want_index).await?);
    }

    let mut read = stream(engine, image, &diff_ids, &have, observe).await?;
    stats.streams = 1;
    if read.layers.iter().any(|(_, r)| *r == LayerRead::Mismatch) {
        // A layer guessed by its size was another: read it all again, parsing everything.
        read = stream(engine, image, &[], &HashMap::new(), |_: &IndexBuilder| {}).await?;
        stats.streams += 1;
    }
    let SaveRead { layers, created_by } = read;
    let mut out = Vec::with_capacity(layers.len());
    let mut unreadable = Vec::new();
    for (i, (diff_id, r)) in layers.into_iter().enumerate() {
        let l = match r {
            LayerRead::Indexed(ix) => {
                stats.parsed += 1;
                let ix = Arc::new(ix);
                if let Some(d) = &diff_id {
                    let (d, keep) = (d.clone(), ix.clone());
                    let _ = tokio::task::spawn_blocking(move || cache.put(&d, keep)).await;
                }
                ix
            }
            LayerRead::Skipped(d) => match have.get(&d) {
                Some(l) => {
                    stats.cached += 1;
                    l.clone()
                }
                None => {
                    unreadable.push(i);
                    Arc::new(LayerIndex::default())
                }
            },
            LayerRead::Mismatch | LayerRead::Unreadable => {
                unreadable.push(i);
                Arc::new(LayerIndex::default())
            }
        };
        out.push(l);
    }
    if let Some(id) = &image_id
        && unreadable.is_empty()
    {
        let meta = ImageMeta {
            diff_ids: diff_ids.clone(),
            created_by: created_by.clone(),
        };
        let id = id.clone();
        let _ = tokio::task::spawn_blocking(move || cache.put_meta(&id, &meta)).await;
    }
    let mut fs = finish(out, created_by, image_id, stats, want_index).await?;
    for i in unreadable {
        if let Some(l) = fs.layers.layers.get_mut(i) {
            l.unreadable = true;
        }
    }
    Ok(fs)
}

/// Reads the save stream of `image`, reading through the layers of `have` (this image's
/// layers already known, `diff_ids` its layer list).
async fn stream(
    engine: &Engine,
    image: &str,
    diff_ids: &[String],
    have: &HashMap<String, Arc<LayerIndex>>,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<SaveRead, LayersError> {
    // Content-addressed names (an OCI layout's uncompressed blob) are exact; a classic
    // layout's `<v1 id>/layer.tar` says nothing of the content, so a layer is told by its
    // size, when one known layer of this image has it alone, and its digest is checked.
    let mut by_size: HashMap<u64, Vec<&str>> = HashMap::new();
    for d in diff_ids {
        if let Some(l) = have.get(d)
            && l.stream_size > 0
        {
            by_size.entry(l.stream_size).or_default().push(d);
        }
    }
    let exact: Vec<String> = diff_ids
        .iter()
        .filter(|d| have.contains_key(*d))
        .cloned()
        .collect();
    let by_size: HashMap<u64, String> = by_size
        .into_iter()
        .filter(|(_, ds)| ds.iter().all(|d| *d == ds[0]))
        .map(|(s, ds)| (s, ds[0].to_string()))
        .collect();
    let known = move |path: &[u8], size: u64| {
        let named = path
            .strip_prefix(b"blobs/sha256/")
            .and_then(|h| std::str::from_utf8(h).ok())
            .map(|h| format!("sha256:{h}"));
        if let Some(d) = named.filter(|d| exact.contains(d)) {
            return Some(Known {
                diff_id: d,
                verify: false,
            });
        }
        by_size.get(&size).map(|d| Known {
            diff_id: d.clone(),
            verify: true,
        })
    };
    let refused = Arc::new(AtomicBool::new(false));
    let flag = refused.clone();
    let stream = streaming(engine).export_image(image).inspect(move |item| {
        if let Err(bollard::errors::Error::DockerResponseServerError { .. }) = item {
            flag.store(true, Ordering::Relaxed);
        }
    });
    match pipe_to_blocking(stream, move |r| read_save_indexed(r, known, observe)).await {
        Err(e) if refused.load(Ordering::Relaxed) => Err(LayersError::SaveRefused(e)),
        Err(e) => Err(e.into()),
        Ok(read) => read.map_err(|e| EngineError::Docker(format!("save of {image}: {e}")).into()),
    }
}

/// Composes the layers (bottom first) on a blocking thread.
async fn finish(
    layers: Vec<Arc<LayerIndex>>,
    created_by: Vec<Option<String>>,
    image_id: Option<String>,
    stats: OpenStats,
    want_index: bool,
) -> Result<ImageFs, EngineError> {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&LayerIndex> = layers.iter().map(|l| l.as_ref()).collect();
        let index = if want_index {
            compose(&refs)
        } else {
            FsIndex::default()
        };
        let layers = ImageLayers {
            layers: layers
                .iter()
                .enumerate()
                .map(|(i, l)| Layer {
                    created_by: created_by.get(i).cloned().flatten(),
                    ..l.summary()
                })
                .collect(),
        };
        ImageFs {
            index,
            layers,
            image_id,
            stats,
        }
    })
    .await
    .map_err(|e| EngineError::Docker(format!("composing layers: {e}")))
}
