//! The host side of an extraction the user asked for: where the file goes, and writing it
//! there without ever leaving that place.
//!
//! The destination is opened one component at a time from `/` (or the working directory)
//! with `O_NOFOLLOW`, and the file is created in the opened directory with
//! `O_CREAT|O_EXCL|O_NOFOLLOW`: a symbolic link anywhere in the path is refused, never
//! followed, and nothing swapped in after the check can redirect the write, which goes
//! through the directory's descriptor. The archive's own entry name is never used (the
//! engine's `../` or absolute names cannot steer it); only the image path's last component,
//! checked to be a plain name. Links, devices and directories are not extracted.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

use stagescope_fs::{Kind, escape};

/// Why an extraction wrote nothing.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ExtractError {
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

/// Where an extracted file goes: a name in a directory opened without following links.
#[derive(Debug)]
pub(crate) struct Target {
    dir: OwnedFd,
    name: OsString,
    shown: PathBuf,
}

impl Target {
    /// The host path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.shown
    }
}

fn io_err(p: &Path, e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Io(format!("{}: {e}", p.display()))
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// What stands at `name` in `dir`, not following a link.
fn file_type_at(dir: &OwnedFd, name: &OsStr) -> Option<FileType> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| FileType::from_raw_mode(st.st_mode))
}

/// Opens the directory `name` in `dir`. `Ok(None)` when nothing is there.
fn open_sub(dir: &OwnedFd, name: &OsStr, so_far: &Path) -> Result<Option<OwnedFd>, ExtractError> {
    match rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(match file_type_at(dir, name) {
            Some(FileType::Symlink) => {
                ExtractError::DestinationIsLink(so_far.display().to_string())
            }
            Some(_) if e == Errno::NOTDIR => ExtractError::Exists(so_far.display().to_string()),
            _ => io_err(so_far, e),
        }),
    }
}

/// Where a file named `name` goes when the user typed `dest`: inside `dest` when it is a
/// directory, else `dest` itself, a new name in an existing directory. A symbolic link
/// anywhere in `dest` is refused. Nothing is created.
pub(crate) fn extract_target(dest: &Path, name: &[u8]) -> Result<Target, ExtractError> {
    let start = if dest.is_absolute() { "/" } else { "." };
    let mut dir = rustix::fs::openat(CWD, start, DIR_FLAGS, Mode::empty())
        .map_err(|e| io_err(Path::new(start), e))?;
    let comps: Vec<Component<'_>> = dest.components().collect();
    let mut so_far = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        so_far.push(c);
        let part: &OsStr = match c {
            Component::RootDir | Component::CurDir => continue,
            Component::Prefix(_) => return Err(io_err(dest, "not a Unix path")),
            Component::ParentDir => OsStr::new(".."),
            Component::Normal(n) => n,
        };
        match open_sub(&dir, part, &so_far)? {
            Some(sub) => dir = sub,
            None if i + 1 == comps.len() && matches!(c, Component::Normal(_)) => {
                // The last component is new: the file itself, in the directory above.
                return Ok(Target {
                    dir,
                    name: part.to_os_string(),
                    shown: dest.to_path_buf(),
                });
            }
            None => return Err(io_err(&so_far, "no such directory")),
        }
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(ExtractError::BadName(escape(name)));
    }
    let name = OsStr::from_bytes(name);
    Ok(Target {
        dir,
        name: name.to_os_string(),
        shown: dest.join(name),
    })
}

/// Zero blocks of this size are left as holes, so a sparse 8 GiB file costs no 8 GiB.
const BLOCK: usize = 64 << 10;

/// Writes `content` to the new file `target`: `O_EXCL|O_NOFOLLOW` refuse anything already
/// there, a dangling link included. Setuid and setgid bits are dropped; runs of zero
/// blocks become holes; a half-written file is removed.
pub(crate) fn write_new_file(
    target: &Target,
    mode: u32,
    content: &mut impl Read,
) -> Result<u64, ExtractError> {
    let flags = OFlags::WRONLY
        .union(OFlags::CREATE)
        .union(OFlags::EXCL)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);
    let fd = rustix::fs::openat(
        &target.dir,
        target.name.as_os_str(),
        flags,
        Mode::from_bits_truncate(mode & 0o777),
    )
    .map_err(|e| match e {
        Errno::EXIST => ExtractError::Exists(target.shown.display().to_string()),
        e => io_err(&target.shown, e),
    })?;
    let mut f = std::fs::File::from(fd);
    copy_sparse(content, &mut f).map_err(|e| {
        let _ = rustix::fs::unlinkat(&target.dir, target.name.as_os_str(), AtFlags::empty());
        io_err(&target.shown, e)
    })
}

fn copy_sparse(from: &mut impl Read, to: &mut std::fs::File) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BLOCK];
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < BLOCK {
            match from.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        if buf[..filled].iter().all(|&b| b == 0) {
            to.seek(SeekFrom::Current(filled as i64))?;
        } else {
            to.write_all(&buf[..filled])?;
        }
        total += filled as u64;
    }
    // A file ending in a hole gets its length here.
    to.set_len(total)?;
    to.flush()?;
    Ok(total)
}

/// Writes the archive entry `e` (the first of the engine's archive of one path, shown as
/// `shown`) to `target`: regular files only, whatever the entry's name says.
pub(crate) fn extract_entry<R: Read>(
    mut e: tar::Entry<'_, R>,
    shown: &[u8],
    target: &Target,
) -> Result<u64, ExtractError> {
    let kind = Kind::of(e.header().entry_type());
    if kind != Kind::File {
        return Err(ExtractError::NotAFile(escape(shown), kind.as_str()));
    }
    let mode = e.header().mode().unwrap_or(0o644);
    write_new_file(target, mode, &mut e)
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
