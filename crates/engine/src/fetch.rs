//! One path of an image, on demand, without exporting the whole image again: a container is
//! created (never started), `GET /containers/{id}/archive?path=…` streams a tar of that
//! path, the first entry is read, and the container is removed on every path out.
//!
//! Preview keeps at most a prefix of the bytes in memory; extraction streams the file to the
//! one host path the user chose, never following a link and never overwriting.

use std::io::Read;
use std::path::PathBuf;

use bollard::query_parameters::DownloadFromContainerOptions;

use super::connect::Engine;
use super::error::EngineError;
use super::export::{create_export_container, pipe_to_blocking};
use super::extract::{extract_entry, extract_target};
use stagescope_fs::preview::FetchedFile;
use stagescope_fs::{Kind, escape};

/// The id (`sha256:…`) of an image reference.
pub async fn image_id(engine: &Engine, reference: &str) -> Result<String, EngineError> {
    let info = engine.docker.inspect_image(reference).await?;
    info.id
        .ok_or_else(|| EngineError::Docker(format!("image {reference} has no id")))
}

fn api_path(path: &[u8]) -> Result<String, EngineError> {
    let p = std::str::from_utf8(path).map_err(|_| {
        EngineError::Docker(format!(
            "/{}: the engine's archive API cannot name a path that is not UTF-8",
            escape(path)
        ))
    })?;
    Ok(format!("/{}", p.trim_start_matches('/')))
}

/// Runs `consume` on the archive stream of `path` in a fresh container of `image`.
async fn with_archive<T: Send + 'static>(
    engine: &Engine,
    image: &str,
    path: &[u8],
    consume: impl FnOnce(tar::Entry<'_, crate::export::ChannelReader>) -> Result<T, String>
    + Send
    + 'static,
) -> Result<T, EngineError> {
    let api = api_path(path)?;
    let guard = create_export_container(engine, image).await?;
    let stream = engine.docker.download_from_container(
        guard.id(),
        Some(DownloadFromContainerOptions { path: api.clone() }),
    );
    let got = pipe_to_blocking(stream, move |reader| {
        let mut ar = tar::Archive::new(reader);
        let mut entries = ar.entries().map_err(|e| e.to_string())?;
        let entry = entries
            .next()
            .ok_or_else(|| "the archive is empty".to_string())?
            .map_err(|e| e.to_string())?;
        consume(entry)
    })
    .await;
    let removed = guard.remove().await;
    let out = got?.map_err(|e| EngineError::Docker(format!("{api} in {image}: {e}")))?;
    removed?;
    Ok(out)
}

/// The first `limit` bytes of `path` in `image`, with its kind, size and mode.
pub async fn fetch_path(
    engine: &Engine,
    image: &str,
    path: &[u8],
    limit: usize,
) -> Result<FetchedFile, EngineError> {
    with_archive(engine, image, path, move |e| head_of(e, limit)).await
}

/// Kind, size, mode and the first `limit` bytes of an archive entry; the rest is never read
/// (the stream is dropped), so an 8 GiB file costs a preview `limit` bytes.
pub(crate) fn head_of<R: Read>(
    mut e: tar::Entry<'_, R>,
    limit: usize,
) -> Result<FetchedFile, String> {
    let h = e.header();
    let kind = Kind::of(h.entry_type());
    let mode = h.mode().unwrap_or(0) & 0o7777;
    let link = e.link_name_bytes().map(|l| l.into_owned());
    let size = e.size();
    let mut data = Vec::new();
    if kind == Kind::File {
        (&mut e)
            .take(limit as u64)
            .read_to_end(&mut data)
            .map_err(|x| x.to_string())?;
    }
    Ok(FetchedFile {
        kind,
        size,
        mode,
        link,
        data,
    })
}

/// Extracts the file at `path` of `image` to `dest` (see [`extract_target`]); returns the
/// host path written and its size.
pub async fn extract_path(
    engine: &Engine,
    image: &str,
    path: &[u8],
    dest: PathBuf,
) -> Result<(PathBuf, u64), EngineError> {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path).to_vec();
    let shown = path.to_vec();
    let target = extract_target(&dest, &name).map_err(|e| EngineError::Docker(e.to_string()))?;
    with_archive(engine, image, path, move |e| {
        let n = extract_entry(e, &shown, &target).map_err(|x| x.to_string())?;
        Ok((target.path().to_path_buf(), n))
    })
    .await
}

/// What the build checks read of a base image the engine already has: its platform
/// (`os/arch[/variant]`) and its environment (`KEY=value`). Nothing is pulled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    pub platform: Option<String>,
    pub env: Vec<String>,
}

pub async fn image_facts(engine: &Engine, reference: &str) -> Option<ImageFacts> {
    let i = engine.docker.inspect_image(reference).await.ok()?;
    let platform = match (i.os, i.architecture) {
        (Some(os), Some(arch)) => Some(match i.variant.filter(|v| !v.is_empty()) {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        }),
        _ => None,
    };
    let env = i.config.and_then(|c| c.env).unwrap_or_default();
    Some(ImageFacts { platform, env })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_fs::preview::{PREVIEW_LIMIT, Preview};
    use stagescope_fs::testutil::{LazyTar, with_first_entry};

    #[test]
    fn a_preview_of_8_gib_reads_its_head_only() {
        let mut read = 0u64;
        let counted = LazyTar::new(b"big", 8 << 30);
        let f = with_first_entry(Counting(counted, &mut read), |e| head_of(e, PREVIEW_LIMIT))
            .expect("head");
        assert_eq!(
            (f.kind, f.size, f.data.len()),
            (Kind::File, 8 << 30, PREVIEW_LIMIT)
        );
        assert!(read < 2 * PREVIEW_LIMIT as u64, "{read} bytes read");
        let p = Preview::of_file(b"big", f.size, &f.data);
        assert!(p.truncated);
    }

    struct Counting<'a, R>(R, &'a mut u64);

    impl<R: Read> Read for Counting<'_, R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            *self.1 += n as u64;
            Ok(n)
        }
    }
}
