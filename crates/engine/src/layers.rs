//! An image's filesystem and its layers (what each added) from one `docker save` stream,
//! with the layer cache: the image's inspect data lists its layers by diff id, layers
//! already known are taken from the cache (and read through unparsed when the stream must
//! be read for the others), and an image whose layers and config are all known is opened
//! without any stream.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::connect::Engine;
use super::error::EngineError;
use super::export::{pipe_to_blocking, streaming};
use stagescope_fs::index::layer::{Composer, LayerIndex};
use stagescope_fs::layer_cache::{ImageMeta, LayerCache, Spooled};
use stagescope_fs::layers::{ImageLayers, Layer};
use stagescope_fs::save::{Known, LayerRead, SaveRead, read_save_indexed};
use stagescope_fs::waste::Waste;
use stagescope_fs::{FsIndex, IndexBuilder};

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
    /// What the layers hid of each other (empty when the index was not composed).
    pub waste: Waste,
    pub layers: ImageLayers,
    pub image_id: Option<String>,
    pub stats: OpenStats,
}

/// The filesystem of `image` composed from its layers (unless `want_index` is false: the
/// caller has it), and its layers: with the index, only their history lines and whiteouts
/// (the index says which layer wrote each entry); without it, every path each wrote.
/// `observe` sees the known base composed, then each layer being parsed over it (layers
/// arrive before the stream says their order).
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
    // Which layers are kept, and their size in a save stream: read from each file's head.
    let (have, meta) = tokio::task::spawn_blocking(move || {
        let have: HashMap<String, u64> = lookup_ids
            .iter()
            .filter_map(|d| Some((d.clone(), cache.has(d)?)))
            .collect();
        let meta = meta_id.and_then(|id| cache.meta(&id));
        (have, meta)
    })
    .await
    .map_err(|e| EngineError::Docker(format!("layer cache: {e}")))?;

    let all_known = !diff_ids.is_empty() && diff_ids.iter().all(|d| have.contains_key(d));
    if let Some(meta) = meta.filter(|m| all_known && m.diff_ids == diff_ids) {
        let parts = diff_ids.iter().map(|d| Part::Kept(d.clone())).collect();
        let stats = OpenStats::default();
        if let Ok(fs) = finish(
            parts,
            cache,
            meta.created_by,
            image_id.clone(),
            stats,
            want_index,
        )
        .await?
        {
            return Ok(fs);
        }
        // A kept layer could not be read back (damaged, evicted meanwhile): read the stream.
    }

    let observe = over_known_base(&diff_ids, &have, cache, want_index, observe).await;
    let mut read = stream(engine, image, &diff_ids, &have, cache, observe).await?;
    let mut streams = 1;
    if read.layers.iter().any(|(_, r)| *r == LayerRead::Mismatch) {
        // A layer guessed by its size was another: read it all again, parsing everything.
        read = stream_all(engine, image, cache).await?;
        streams += 1;
    }
    let stats = OpenStats {
        streams,
        ..OpenStats::default()
    };
    let SaveRead { layers, created_by } = read;
    let complete = layers.iter().all(|(_, r)| {
        matches!(
            r,
            LayerRead::Indexed(_) | LayerRead::Spooled(_) | LayerRead::Skipped(_)
        )
    });
    let parts: Vec<Part> = layers.into_iter().map(Part::of).collect();
    let fs = match finish(
        parts,
        cache,
        created_by.clone(),
        image_id.clone(),
        stats,
        want_index,
    )
    .await?
    {
        Ok(fs) => fs,
        Err(()) => {
            // A layer read through as kept was gone when wanted: parse everything.
            let read = stream_all(engine, image, cache).await?;
            let stats = OpenStats {
                streams: streams + 1,
                ..OpenStats::default()
            };
            let parts = read.layers.into_iter().map(Part::of).collect();
            finish(
                parts,
                cache,
                read.created_by,
                image_id.clone(),
                stats,
                want_index,
            )
            .await?
            .map_err(|()| EngineError::Docker(format!("save of {image}: layers missing")))?
        }
    };
    if let Some(id) = &image_id
        && complete
    {
        let meta = ImageMeta {
            diff_ids: diff_ids.clone(),
            created_by,
        };
        let id = id.clone();
        let _ = tokio::task::spawn_blocking(move || cache.put_meta(&id, &meta)).await;
    }
    Ok(fs)
}

/// How often a layer arriving over known base layers is shown merged with them.
const MERGE_EVERY: Duration = Duration::from_millis(200);

/// The observer for the stream. When the image's lowest layers are kept (a state one
/// instruction past one opened before, an image on a known base), their composition is
/// shown at once, before the stream reaches the new layers (the engine sends the known
/// ones first, whole), and each new layer is shown over it while it arrives.
async fn over_known_base<F: FnMut(&IndexBuilder) + Send + 'static>(
    diff_ids: &[String],
    have: &HashMap<String, u64>,
    cache: &'static LayerCache,
    want_index: bool,
    mut observe: F,
) -> impl FnMut(&IndexBuilder) + Send + 'static + use<F> {
    let known: Vec<String> = diff_ids
        .iter()
        .take_while(|d| have.contains_key(*d))
        .cloned()
        .collect();
    let (mut base, mut observe) = if want_index && !known.is_empty() {
        let shown = tokio::task::spawn_blocking(move || {
            let mut c = Composer::default();
            for d in &known {
                match cache.get(d) {
                    Some(l) => c.push(&l),
                    None => return (None, observe),
                }
            }
            let base = c.builder().base();
            observe(base.view());
            (Some(base), observe)
        })
        .await;
        match shown {
            Ok(shown) => shown,
            // The observer went with the failed task: the stream goes on unobserved.
            Err(_) => {
                return Box::new(|_: &IndexBuilder| {}) as Box<dyn FnMut(&IndexBuilder) + Send>;
            }
        }
    } else {
        (None, observe)
    };
    let mut last: Option<Instant> = None;
    Box::new(move |b: &IndexBuilder| match base.as_mut() {
        None => observe(b),
        Some(base) => {
            if last.is_some_and(|t| t.elapsed() < MERGE_EVERY) {
                return;
            }
            observe(base.over(b));
            last = Some(Instant::now());
        }
    })
}

/// Where one layer of an open comes from.
enum Part {
    /// Parsed from the stream (with its diff id, when the config said): kept once composed.
    Parsed(Option<String>, Box<LayerIndex>),
    /// Parsed and set aside on disk: read back, then kept under its diff id.
    Spooled(Option<String>, Arc<Spooled>),
    /// In the layer cache.
    Kept(String),
    /// Nothing is known of it.
    Unreadable,
}

impl Part {
    fn of((diff_id, read): (Option<String>, LayerRead)) -> Part {
        match read {
            LayerRead::Indexed(ix) => Part::Parsed(diff_id, Box::new(ix)),
            LayerRead::Spooled(s) => Part::Spooled(diff_id, s),
            LayerRead::Skipped(d) => Part::Kept(d),
            LayerRead::Mismatch | LayerRead::Unreadable => Part::Unreadable,
        }
    }
}

/// Reads the save stream of `image`, parsing every layer.
async fn stream_all(
    engine: &Engine,
    image: &str,
    cache: &'static LayerCache,
) -> Result<SaveRead, LayersError> {
    stream(
        engine,
        image,
        &[],
        &HashMap::new(),
        cache,
        |_: &IndexBuilder| {},
    )
    .await
}

/// Reads the save stream of `image`, reading through the layers of `have` (this image's
/// layers already kept, with their stream sizes; `diff_ids` its layer list).
async fn stream(
    engine: &Engine,
    image: &str,
    diff_ids: &[String],
    have: &HashMap<String, u64>,
    cache: &'static LayerCache,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<SaveRead, LayersError> {
    // Content-addressed names (an OCI layout's uncompressed blob) are exact; a classic
    // layout's `<v1 id>/layer.tar` says nothing of the content, so a layer is told by its
    // size, when one known layer of this image has it alone, and its digest is checked.
    let mut by_size: HashMap<u64, Vec<&str>> = HashMap::new();
    for d in diff_ids {
        if let Some(&size) = have.get(d)
            && size > 0
        {
            by_size.entry(size).or_default().push(d);
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
    // Each parsed layer waits on disk for the manifest (at the end of a classic save): one
    // parsed layer in memory at a time.
    let park = move |ix: LayerIndex| match cache.spool(&ix) {
        Some(s) => LayerRead::Spooled(Arc::new(s)),
        None => LayerRead::Indexed(ix),
    };
    match pipe_to_blocking(stream, move |r| read_save_indexed(r, known, observe, park)).await {
        Err(e) if refused.load(Ordering::Relaxed) => Err(LayersError::SaveRefused(e)),
        Err(e) => Err(e.into()),
        Ok(read) => read.map_err(|e| EngineError::Docker(format!("save of {image}: {e}")).into()),
    }
}

/// Composes the layers bottom first on a blocking thread, one in memory at a time: each
/// parsed layer is kept in the cache once composed, each kept one read back when its turn
/// comes. `Err(())` when a kept layer could not be read back.
async fn finish(
    parts: Vec<Part>,
    cache: &'static LayerCache,
    created_by: Vec<Option<String>>,
    image_id: Option<String>,
    mut stats: OpenStats,
    want_index: bool,
) -> Result<Result<ImageFs, ()>, EngineError> {
    tokio::task::spawn_blocking(move || {
        let mut composer = Composer::default();
        let mut summaries = Vec::with_capacity(parts.len());
        for (i, part) in parts.into_iter().enumerate() {
            let (layer, unreadable) = match part {
                Part::Parsed(diff_id, ix) => {
                    stats.parsed += 1;
                    if let Some(d) = diff_id {
                        cache.put(&d, &ix);
                    }
                    (*ix, false)
                }
                Part::Spooled(diff_id, s) => {
                    stats.parsed += 1;
                    let layer = cache.unspool(&s).ok_or(())?;
                    if let (Some(d), Ok(s)) = (diff_id, Arc::try_unwrap(s)) {
                        cache.keep_spooled(&d, s);
                    }
                    (layer, false)
                }
                Part::Kept(d) => {
                    stats.cached += 1;
                    (cache.get(&d).ok_or(())?, false)
                }
                Part::Unreadable => (LayerIndex::default(), true),
            };
            if want_index {
                composer.push(&layer);
            }
            let summary = if want_index {
                layer.light_summary()
            } else {
                layer.summary()
            };
            summaries.push(Layer {
                created_by: created_by.get(i).cloned().flatten(),
                unreadable,
                ..summary
            });
        }
        let (index, waste) = if want_index {
            composer.finish_with_waste()
        } else {
            (FsIndex::default(), Waste::default())
        };
        Ok(ImageFs {
            index,
            waste,
            layers: ImageLayers {
                layers: summaries,
                light: want_index,
            },
            image_id,
            stats,
        })
    })
    .await
    .map_err(|e| EngineError::Docker(format!("composing layers: {e}")))
}
