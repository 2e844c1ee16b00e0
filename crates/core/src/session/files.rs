//! A state's filesystem: the index (from the disk cache when the image was opened before,
//! else composed from the image's layers, read from one `docker save` stream or the layer
//! cache), which instruction wrote each file (from the same layers), a file's preview, and
//! an extraction the user asked for.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{Backend, Session, SessionError};
use stagescope_engine::connect::Engine;
use stagescope_engine::control::build::{fetch_state_file, index_state};
use stagescope_engine::export::index_image_observed;
use stagescope_engine::fetch::{extract_path, fetch_path, image_id};
use stagescope_engine::layers::{LayersError, open_image_fs};
use stagescope_fs::archive::{self, Caches, Platform, Source};
use stagescope_fs::cache::{DiskCache, MemoryCache};
use stagescope_fs::layer_cache::LayerCache;
use stagescope_fs::layers::ImageLayers;
use stagescope_fs::preview::{FetchedFile, PREVIEW_LIMIT, Preview};
use stagescope_fs::waste::Waste;
use stagescope_fs::{FsIndex, IndexBuilder, Kind, escape};
use stagescope_plan::added_by::{LayerInfo, layer_info};

/// An opened filesystem.
pub struct Opened {
    pub index: Arc<FsIndex>,
    /// The image's id, the key of the caches; None when the engine would not say.
    pub image_id: Option<String>,
    pub from_cache: bool,
    /// What the image's layers hid of each other, counted by the same composition (or kept
    /// beside the index by it); `None` when the filesystem came as one flattened export
    /// (a Control API BuildKit, an engine that would not save) or from an index cached
    /// before waste was kept.
    pub waste: Option<Arc<Waste>>,
}

/// The layers of the images opened last, by image id: what [`layers`] answers right after
/// [`open_files`] read the same stream.
static OPENED_LAYERS: Mutex<MemoryCache<Arc<ImageLayers>>> = Mutex::new(MemoryCache::new(4));

fn remember_layers(image_id: &str, layers: Arc<ImageLayers>) {
    let mut kept = OPENED_LAYERS.lock().unwrap_or_else(|p| p.into_inner());
    kept.put(image_id, layers);
}

fn remembered_layers(image_id: &str) -> Option<Arc<ImageLayers>> {
    let mut kept = OPENED_LAYERS.lock().unwrap_or_else(|p| p.into_inner());
    kept.get(image_id)
}

/// The filesystem of `image`: from the disk cache when this image was opened before (by
/// id), else composed from its layers (the layer cache's, and the others parsed from one
/// `docker save` stream); `observe` sees each parsed layer grow while it streams. The one
/// way every front end reads a filesystem, with or without a build.
pub async fn open_files(
    engine: &Engine,
    image: &str,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<Opened, SessionError> {
    let id = image_id(engine, image).await.ok();
    let disk = DiskCache::user();
    if let (Some(id), Some(disk)) = (id.clone(), disk.clone()) {
        let key = id.clone();
        // The waste is kept beside the index: a small file, read with it.
        let hit = tokio::task::spawn_blocking(move || {
            disk.get(&key)
                .map(|ix| (ix, LayerCache::user().waste(&key)))
        })
        .await
        .ok()
        .flatten();
        if let Some((ix, waste)) = hit {
            return Ok(Opened {
                index: Arc::new(ix),
                image_id: Some(id),
                from_cache: true,
                waste: waste.map(Arc::new),
            });
        }
    }
    // The observer goes to the export when the engine cannot save the image.
    let observe = Arc::new(Mutex::new(observe));
    let seen = observe.clone();
    let layered = open_image_fs(engine, image, LayerCache::user(), true, move |b| {
        if let Ok(mut o) = seen.lock() {
            o(b)
        }
    })
    .await;
    let (ix, id, waste) = match layered {
        Ok(opened) => {
            let id = id.or(opened.image_id);
            let waste = Arc::new(opened.waste);
            if let Some(id) = &id {
                remember_layers(id, Arc::new(opened.layers));
                keep_waste(id, &waste).await;
            }
            (opened.index, id, Some(waste))
        }
        Err(LayersError::SaveRefused(_)) => {
            let ix = index_image_observed(engine, image, move |b| {
                if let Ok(mut o) = observe.lock() {
                    o(b)
                }
            })
            .await?;
            (ix, id, None)
        }
        Err(e) => return Err(e.into()),
    };
    let ix = Arc::new(ix);
    if let (Some(id), Some(disk)) = (id.clone(), disk) {
        let keep = ix.clone();
        // A cache that cannot be written only costs the next open its speed.
        let _ = tokio::task::spawn_blocking(move || disk.put(&id, &keep)).await;
    }
    Ok(Opened {
        index: ix,
        image_id: id,
        from_cache: false,
        waste,
    })
}

/// Keeps what an image's layers hid beside its index (a warm open composes nothing).
async fn keep_waste(image_id: &str, waste: &Arc<Waste>) {
    let (id, waste) = (image_id.to_string(), waste.clone());
    let _ = tokio::task::spawn_blocking(move || LayerCache::user().put_waste(&id, &waste)).await;
}

/// An image opened for its waste: the index, what its layers hid, and each layer's history
/// line (`RUN make`).
pub struct WasteOpened {
    pub index: Arc<FsIndex>,
    pub waste: Arc<Waste>,
    pub created_by: Vec<Option<String>>,
    pub image_id: Option<String>,
    pub from_cache: bool,
}

/// The filesystem of `image` with its waste. Warm (opened before by id), both come from
/// the caches and nothing is composed; else the layers are composed once, as
/// [`open_files`] does, and the waste is counted on the way.
pub async fn open_waste(
    engine: &Engine,
    image: &str,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<WasteOpened, SessionError> {
    let id = image_id(engine, image).await.ok();
    if let (Some(id), Some(disk)) = (id.clone(), DiskCache::user()) {
        let key = id.clone();
        let hit = tokio::task::spawn_blocking(move || {
            let cache = LayerCache::user();
            let waste = cache.waste(&key)?;
            let meta = cache.meta(&key)?;
            let ix = disk.get(&key)?;
            Some((ix, waste, meta.created_by))
        })
        .await
        .ok()
        .flatten();
        if let Some((ix, waste, created_by)) = hit {
            return Ok(WasteOpened {
                index: Arc::new(ix),
                waste: Arc::new(waste),
                created_by,
                image_id: Some(id),
                from_cache: true,
            });
        }
    }
    let opened = open_image_fs(engine, image, LayerCache::user(), true, observe).await?;
    let id = id.or(opened.image_id);
    let ix = Arc::new(opened.index);
    let created_by = opened
        .layers
        .layers
        .iter()
        .map(|l| l.created_by.clone())
        .collect();
    let waste = Arc::new(opened.waste);
    if let Some(id) = &id {
        keep_waste(id, &waste).await;
        remember_layers(id, Arc::new(opened.layers));
        if let Some(disk) = DiskCache::user() {
            let (id, keep) = (id.clone(), ix.clone());
            let _ = tokio::task::spawn_blocking(move || disk.put(&id, &keep)).await;
        }
    }
    Ok(WasteOpened {
        index: ix,
        waste,
        created_by,
        image_id: id,
        from_cache: false,
    })
}

/// An image the user named: an engine's (name, tag or id), or an archive read with no
/// engine (`docker-archive:FILE`, `oci-layout:DIR[:TAG]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Engine(String),
    Archive(Source),
}

impl ImageRef {
    pub fn parse(spec: &str) -> ImageRef {
        Source::parse(spec).map_or_else(|| ImageRef::Engine(spec.to_string()), ImageRef::Archive)
    }

    pub fn needs_engine(&self) -> bool {
        matches!(self, ImageRef::Engine(_))
    }
}

/// An archive's image with its waste, through the same caches as an engine's: layers by
/// diff id, the index and the waste by image id.
pub async fn open_archive(
    source: Source,
    platform: Option<Platform>,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<WasteOpened, SessionError> {
    let img = tokio::task::spawn_blocking(move || {
        let index = DiskCache::user();
        let caches = Caches {
            layers: Some(LayerCache::user()),
            index: index.as_ref(),
        };
        archive::open(&source, platform.as_ref(), caches, observe)
    })
    .await??;
    Ok(WasteOpened {
        index: Arc::new(img.index),
        waste: Arc::new(img.waste),
        created_by: img.created_by,
        image_id: img.image_id,
        from_cache: img.from_cache,
    })
}

/// [`open_waste`] of any image the user named: `engine` is needed for an engine's image
/// only.
pub async fn open_image_ref(
    engine: Option<&Engine>,
    image: &ImageRef,
    platform: Option<Platform>,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<WasteOpened, SessionError> {
    match (image, engine) {
        (ImageRef::Archive(s), _) => open_archive(s.clone(), platform, observe).await,
        (ImageRef::Engine(name), Some(e)) => open_waste(e, name, observe).await,
        (ImageRef::Engine(name), None) => Err(SessionError::Archive(archive::ArchiveError(
            format!("{name}: an image by name needs an engine"),
        ))),
    }
}

/// The layers' history lines of an opened image as an [`ImageLayers`] (what added-by
/// needs of an index composed from them).
pub fn labels_of(created_by: &[Option<String>]) -> ImageLayers {
    ImageLayers {
        layers: created_by
            .iter()
            .map(|c| stagescope_fs::layers::Layer {
                created_by: c.clone(),
                ..Default::default()
            })
            .collect(),
        light: true,
    }
}

/// [`open_files`] for a caller that wants the index itself, owned, and no progress.
pub async fn index(engine: &Engine, image: &str) -> Result<FsIndex, SessionError> {
    let opened = open_files(engine, image, |_| {}).await?;
    Ok(Arc::unwrap_or_clone(opened.index))
}

/// The layers of `image` and every path each wrote (what an instruction added, for the
/// teaching numbers and the changes list): those of an image opened before, else read back
/// from the layer cache, else from a stream.
pub async fn layers(engine: &Engine, image: &str) -> Result<Arc<ImageLayers>, SessionError> {
    layers_of(engine, image, false).await
}

/// The layers of `image`, at least their history lines: enough to say which instruction
/// wrote an entry of an index composed from them, without a list of every path.
pub async fn layer_labels(engine: &Engine, image: &str) -> Result<Arc<ImageLayers>, SessionError> {
    layers_of(engine, image, true).await
}

async fn layers_of(
    engine: &Engine,
    image: &str,
    light: bool,
) -> Result<Arc<ImageLayers>, SessionError> {
    if let Ok(id) = image_id(engine, image).await
        && let Some(l) = remembered_layers(&id).filter(|l| light || !l.light)
    {
        return Ok(l);
    }
    let opened = open_image_fs(engine, image, LayerCache::user(), false, |_| {}).await?;
    let layers = Arc::new(opened.layers);
    if let Some(id) = &opened.image_id {
        remember_layers(id, layers.clone());
    }
    Ok(layers)
}

impl Session {
    /// [`open_files`] on this session's engine; on a Control API BuildKit, the state's tar
    /// export indexed as it streams.
    pub async fn open_files(
        &self,
        image: &str,
        observe: impl FnMut(&IndexBuilder) + Send + 'static,
    ) -> Result<Opened, SessionError> {
        match &self.backend {
            Backend::Engine(e) => open_files(e, image, observe).await,
            Backend::Buildkit(b) => {
                let ix = index_state(
                    b,
                    &self.request,
                    &self.context,
                    self.export_of(image),
                    observe,
                )
                .await?;
                Ok(Opened {
                    index: Arc::new(ix),
                    image_id: None,
                    from_cache: false,
                    waste: None,
                })
            }
        }
    }

    /// Which instruction of this build wrote each entry of `ix`, the index of `image`, the
    /// state after `instruction` of `stage`.
    pub async fn layer_info(
        &self,
        image: &str,
        stage: usize,
        instruction: usize,
        ix: Arc<FsIndex>,
    ) -> Result<LayerInfo, SessionError> {
        // A tar export is one flattened filesystem: only an engine's layers say who wrote what.
        let layers = layers(self.engine()?, image).await?;
        let plan = self.plan.clone();
        let info = tokio::task::spawn_blocking(move || {
            layer_info(&plan, stage, instruction, &layers, &ix)
        })
        .await?;
        Ok(info)
    }

    /// The first [`PREVIEW_LIMIT`] bytes of one file of `image`.
    pub async fn fetch(&self, image: &str, path: &[u8]) -> Result<FetchedFile, SessionError> {
        let fetched = match &self.backend {
            Backend::Engine(e) => fetch_path(e, image, path, PREVIEW_LIMIT).await,
            Backend::Buildkit(b) => {
                let what = self.export_of(image);
                fetch_state_file(b, &self.request, &self.context, what, path, PREVIEW_LIMIT).await
            }
        }?;
        Ok(fetched)
    }

    /// What the files pane shows of one path of `image`.
    pub async fn preview(&self, image: &str, path: &[u8]) -> Result<Preview, SessionError> {
        let f = self.fetch(image, path).await?;
        Ok(match f.kind {
            Kind::File => Preview::of_file(path, f.size, &f.data),
            Kind::Symlink => Preview::note(
                path,
                format!(
                    "symbolic link to {}",
                    f.link.as_deref().map(escape).unwrap_or_default()
                ),
            ),
            k => Preview::note(path, format!("{}: nothing to show", k.as_str())),
        })
    }

    /// Writes the file at `path` of `image` into the host directory `dest`, as the user
    /// asked; never over an existing file.
    pub async fn extract(
        &self,
        image: &str,
        path: &[u8],
        dest: &str,
    ) -> Result<String, SessionError> {
        let dest = expand_home(dest.trim());
        extract_path(self.engine()?, image, path, dest)
            .await
            .map(|(p, n)| format!("wrote {} ({n} bytes)", p.display()))
            .map_err(SessionError::NotExtracted)
    }
}

fn expand_home(dest: &str) -> PathBuf {
    match (dest.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dest),
    }
}
