//! A state's filesystem: the index (from the disk cache when the image was opened before,
//! else streamed and observed as it grows), which instruction wrote each file, a file's
//! preview, and an extraction the user asked for.

use std::path::PathBuf;
use std::sync::Arc;

use super::Session;
use crate::build::added_by::{LayerInfo, layer_info};
use crate::engine::connect::Engine;
use crate::engine::export::{image_layers, index_image_observed};
use crate::engine::fetch::{extract_path, fetch_path, image_id};
use crate::fs::cache::DiskCache;
use crate::fs::layers::ImageLayers;
use crate::fs::preview::{FetchedFile, PREVIEW_LIMIT, Preview};
use crate::fs::{FsIndex, IndexBuilder, Kind, escape};

/// An opened filesystem.
pub struct Opened {
    pub index: Arc<FsIndex>,
    /// The image's id, the key of the caches; None when the engine would not say.
    pub image_id: Option<String>,
    pub from_cache: bool,
}

/// The filesystem of `image`: from the disk cache when this image was opened before (by
/// id), else streamed from the engine; `observe` sees the index grow while it streams. The
/// one way every front end reads a filesystem, with or without a build.
pub async fn open_files(
    engine: &Engine,
    image: &str,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<Opened, String> {
    let id = image_id(engine, image).await.ok();
    let disk = DiskCache::user();
    if let (Some(id), Some(disk)) = (id.clone(), disk.clone()) {
        let key = id.clone();
        let hit = tokio::task::spawn_blocking(move || disk.get(&key))
            .await
            .ok()
            .flatten();
        if let Some(ix) = hit {
            return Ok(Opened {
                index: Arc::new(ix),
                image_id: Some(id),
                from_cache: true,
            });
        }
    }
    let ix = index_image_observed(engine, image, observe)
        .await
        .map_err(|e| e.to_string())?;
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
    })
}

/// [`open_files`] for a caller that wants the index itself, owned, and no progress.
pub async fn index(engine: &Engine, image: &str) -> Result<FsIndex, String> {
    let opened = open_files(engine, image, |_| {}).await?;
    Ok(Arc::unwrap_or_clone(opened.index))
}

/// The layers of `image` and what each wrote: which instruction added a file.
pub async fn layers(engine: &Engine, image: &str) -> Result<ImageLayers, String> {
    image_layers(engine, image).await.map_err(|e| e.to_string())
}

impl Session {
    /// [`open_files`] on this session's engine.
    pub async fn open_files(
        &self,
        image: &str,
        observe: impl FnMut(&IndexBuilder) + Send + 'static,
    ) -> Result<Opened, String> {
        open_files(&self.engine, image, observe).await
    }

    /// Which instruction of this build wrote each entry of `ix`, the index of `image`, the
    /// state after `instruction` of `stage`.
    pub async fn layer_info(
        &self,
        image: &str,
        stage: usize,
        instruction: usize,
        ix: Arc<FsIndex>,
    ) -> Result<LayerInfo, String> {
        let layers = layers(&self.engine, image).await?;
        let plan = self.plan.clone();
        tokio::task::spawn_blocking(move || layer_info(&plan, stage, instruction, &layers, &ix))
            .await
            .map_err(|e| e.to_string())
    }

    /// The first [`PREVIEW_LIMIT`] bytes of one file of `image`.
    pub async fn fetch(&self, image: &str, path: &[u8]) -> Result<FetchedFile, String> {
        fetch_path(&self.engine, image, path, PREVIEW_LIMIT)
            .await
            .map_err(|e| e.to_string())
    }

    /// What the files pane shows of one path of `image`.
    pub async fn preview(&self, image: &str, path: &[u8]) -> Result<Preview, String> {
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
    pub async fn extract(&self, image: &str, path: &[u8], dest: &str) -> Result<String, String> {
        let dest = expand_home(dest.trim());
        extract_path(&self.engine, image, path, dest)
            .await
            .map(|(p, n)| format!("wrote {} ({n} bytes)", p.display()))
            .map_err(|e| format!("not extracted: {e}"))
    }
}

fn expand_home(dest: &str) -> PathBuf {
    match (dest.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(dest),
    }
}
