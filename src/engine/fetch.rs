//! One path of an image, on demand, without exporting the whole image again: a container is
//! created (never started), `GET /containers/{id}/archive?path=…` streams a tar of that
//! path, the first entry is read, and the container is removed on every path out.
//!
//! Preview keeps at most a prefix of the bytes in memory; extraction streams the file to the
//! one host path the user chose, never following a link and never overwriting.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bollard::query_parameters::DownloadFromContainerOptions;

use super::connect::Engine;
use super::error::EngineError;
use super::export::{create_export_container, pipe_to_blocking};
use crate::fs::preview::FetchedFile;
use crate::fs::{Kind, escape};

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
    consume: impl FnOnce(tar::Entry<'_, crate::engine::export::ChannelReader>) -> Result<T, String>
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

fn kind_of(t: tar::EntryType) -> Kind {
    match t {
        tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Symlink => Kind::Symlink,
        tar::EntryType::Link => Kind::Hardlink,
        _ => Kind::Other,
    }
}

/// The first `limit` bytes of `path` in `image`, with its kind, size and mode.
pub async fn fetch_path(
    engine: &Engine,
    image: &str,
    path: &[u8],
    limit: usize,
) -> Result<FetchedFile, EngineError> {
    with_archive(engine, image, path, move |mut e| {
        let h = e.header();
        let kind = kind_of(h.entry_type());
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
    })
    .await
}

/// Why an extraction wrote nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("{0} exists: not overwritten")]
    Exists(String),
    #[error("{0} is a symbolic link: not followed")]
    DestinationIsLink(String),
    #[error("/{0} is not a regular file ({1}): only files are extracted")]
    NotAFile(String, &'static str),
    #[error("the name {0} cannot be a file name on the host")]
    BadName(String),
    #[error("{0}")]
    Io(String),
}

/// Where a file named `name` goes when the user typed `dest`: inside `dest` when it is a
/// directory (a real one, not a link to one), else `dest` itself. Nothing is created.
pub fn extract_target(dest: &Path, name: &[u8]) -> Result<PathBuf, ExtractError> {
    let shown = || dest.display().to_string();
    match std::fs::symlink_metadata(dest) {
        Ok(md) if md.file_type().is_symlink() => Err(ExtractError::DestinationIsLink(shown())),
        Ok(md) if md.is_dir() => {
            if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
                return Err(ExtractError::BadName(escape(name)));
            }
            Ok(dest.join(std::ffi::OsStr::from_bytes(name)))
        }
        Ok(_) => Err(ExtractError::Exists(shown())),
        Err(_) => Ok(dest.to_path_buf()),
    }
}

/// Writes `content` to a new file at `target`: `create_new` refuses anything already there,
/// a dangling link included (`O_CREAT|O_EXCL` never follows a link). Setuid and setgid
/// bits are dropped; a half-written file is removed.
pub fn write_new_file(
    target: &Path,
    mode: u32,
    content: &mut impl Read,
) -> Result<u64, ExtractError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(mode & 0o777)
        .open(target)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => ExtractError::Exists(target.display().to_string()),
            _ => ExtractError::Io(format!("{}: {e}", target.display())),
        })?;
    let written = std::io::copy(content, &mut f).and_then(|n| f.flush().map(|()| n));
    written.map_err(|e| {
        let _ = std::fs::remove_file(target);
        ExtractError::Io(format!("{}: {e}", target.display()))
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
    let shown = escape(path);
    let target = extract_target(&dest, &name).map_err(|e| EngineError::Docker(e.to_string()))?;
    with_archive(engine, image, path, move |mut e| {
        let kind = kind_of(e.header().entry_type());
        if kind != Kind::File {
            return Err(ExtractError::NotAFile(shown, kind.as_str()).to_string());
        }
        let mode = e.header().mode().unwrap_or(0o644);
        let n = write_new_file(&target, mode, &mut e).map_err(|x| x.to_string())?;
        Ok((target, n))
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

    #[test]
    fn target_inside_a_directory_or_the_path_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        assert_eq!(extract_target(d, b"passwd"), Ok(d.join("passwd")));
        assert_eq!(extract_target(&d.join("new"), b"x"), Ok(d.join("new")));
        assert!(matches!(
            extract_target(d, b".."),
            Err(ExtractError::BadName(_))
        ));
        std::fs::write(d.join("taken"), b"keep").expect("write");
        assert!(matches!(
            extract_target(&d.join("taken"), b"x"),
            Err(ExtractError::Exists(_))
        ));
        std::os::unix::fs::symlink("/etc", d.join("link")).expect("symlink");
        assert!(matches!(
            extract_target(&d.join("link"), b"x"),
            Err(ExtractError::DestinationIsLink(_))
        ));
    }

    #[test]
    fn never_overwrites_nor_follows_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let outside = d.join("outside");
        std::os::unix::fs::symlink(&outside, d.join("dangling")).expect("symlink");
        let err = write_new_file(&d.join("dangling"), 0o644, &mut &b"evil"[..]);
        assert!(matches!(err, Err(ExtractError::Exists(_))));
        assert!(!outside.exists());
        let n = write_new_file(&d.join("ok"), 0o4755, &mut &b"data"[..]).expect("write");
        assert_eq!(n, 4);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("ok"))
            .expect("md")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755 & !umask());
        assert!(matches!(
            write_new_file(&d.join("ok"), 0o644, &mut &b"again"[..]),
            Err(ExtractError::Exists(_))
        ));
        assert_eq!(std::fs::read(d.join("ok")).expect("read"), b"data");
    }

    fn umask() -> u32 {
        // The process umask applies to the mode asked for; 022 is usual, read it back.
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("probe");
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o777)
            .open(&p)
            .expect("probe");
        !std::fs::metadata(&p).expect("md").permissions().mode() & 0o777
    }
}
