//! Small indexes written by hand, for the tests of the pure layers built on [`FsIndex`].

use super::index::{FsIndex, IndexBuilder, Kind, Meta};
use super::sniff::ContentFlags;

/// One entry: path, kind, size, content hash (files) or link target (links).
#[derive(Debug, Clone, Copy)]
pub struct E<'a> {
    pub path: &'a str,
    pub kind: Kind,
    pub size: u64,
    pub hash: u64,
    pub mode: u32,
    pub uid: u32,
    pub link: Option<&'a str>,
    pub flags: ContentFlags,
}

impl E<'_> {
    /// The same entry with what sniffing its content would have found.
    pub fn sniffed(mut self, flags: ContentFlags) -> Self {
        self.flags = flags;
        self
    }
}

pub fn file(path: &str, size: u64, hash: u64) -> E<'_> {
    E {
        path,
        kind: Kind::File,
        size,
        hash,
        mode: 0o644,
        uid: 0,
        link: None,
        flags: ContentFlags::empty(),
    }
}

pub fn dir(path: &str) -> E<'_> {
    E {
        path,
        kind: Kind::Dir,
        size: 0,
        hash: 0,
        mode: 0o755,
        uid: 0,
        link: None,
        flags: ContentFlags::empty(),
    }
}

pub fn symlink<'a>(path: &'a str, to: &'a str) -> E<'a> {
    E {
        path,
        kind: Kind::Symlink,
        size: 0,
        hash: 0,
        mode: 0o777,
        uid: 0,
        link: Some(to),
        flags: ContentFlags::empty(),
    }
}

pub fn index(entries: &[E<'_>]) -> FsIndex {
    let mut b = IndexBuilder::new();
    for e in entries {
        b.add_sniffed(
            e.path.as_bytes(),
            e.kind,
            Meta {
                size: e.size,
                mode: e.mode,
                uid: e.uid,
                gid: e.uid,
                mtime: 0,
            },
            e.link.map(str::as_bytes),
            e.hash,
            e.flags,
        )
        .expect("add");
    }
    b.finish()
}

/// A tar of one regular file `name` claiming `size` bytes, its content made as it is read (zeros),
/// so no test ever holds it.
pub struct LazyTar {
    head: Vec<u8>,
    at: usize,
    zeros: u64,
    tail: Vec<u8>,
    tail_at: usize,
}

impl LazyTar {
    pub fn new(name: &[u8], size: u64) -> LazyTar {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(size);
        h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        let pad = (512 - size % 512) % 512;
        LazyTar {
            head: h.as_bytes().to_vec(),
            at: 0,
            zeros: size + pad,
            tail: vec![0u8; 1024],
            tail_at: 0,
        }
    }
}

impl std::io::Read for LazyTar {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at < self.head.len() {
            let n = buf.len().min(self.head.len() - self.at);
            buf[..n].copy_from_slice(&self.head[self.at..self.at + n]);
            self.at += n;
            return Ok(n);
        }
        if self.zeros > 0 {
            let n = (buf.len() as u64).min(self.zeros) as usize;
            buf[..n].fill(0);
            self.zeros -= n as u64;
            return Ok(n);
        }
        let n = buf.len().min(self.tail.len() - self.tail_at);
        buf[..n].copy_from_slice(&self.tail[self.tail_at..self.tail_at + n]);
        self.tail_at += n;
        Ok(n)
    }
}

/// `f` on the first entry of the tar stream `r` (which must have one).
pub fn with_first_entry<R: std::io::Read, T>(r: R, f: impl FnOnce(tar::Entry<'_, R>) -> T) -> T {
    let mut ar = tar::Archive::new(r);
    let mut entries = ar.entries().expect("entries");
    f(entries.next().expect("one entry").expect("entry"))
}

/// A regular file as the engine's archive gives it back, whole.
pub fn fetched(data: &[u8]) -> Result<crate::preview::FetchedFile, String> {
    Ok(crate::preview::FetchedFile {
        kind: Kind::File,
        size: data.len() as u64,
        mode: 0o644,
        link: None,
        data: data.to_vec(),
    })
}

/// A tar with the given (path, kind, content-or-link, mode) entries, written raw so that
/// hostile names survive (the `tar` crate's `append_path` would refuse them).
pub fn tar_of(entries: &[(&[u8], Kind, &[u8], u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut b = tar::Builder::new(&mut out);
        for (path, kind, data, mode) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(*mode);
            h.set_uid(1000);
            h.set_gid(100);
            h.set_mtime(1_700_000_000);
            let body: &[u8] = match kind {
                Kind::File => data,
                _ => &[],
            };
            h.set_size(body.len() as u64);
            h.set_entry_type(match kind {
                Kind::File => tar::EntryType::Regular,
                Kind::Dir => tar::EntryType::Directory,
                Kind::Symlink => tar::EntryType::Symlink,
                Kind::Hardlink => tar::EntryType::Link,
                Kind::Other => tar::EntryType::Fifo,
            });
            if matches!(kind, Kind::Symlink | Kind::Hardlink) {
                h.set_link_name_literal(data).expect("link name");
            }
            append_raw(&mut b, &mut h, path, body);
        }
        b.finish().expect("finish");
    }
    out
}

/// Writes the name bytes as they are (a GNU long-name entry first when they do not fit),
/// bypassing the `tar` crate's refusal of `..` and absolute paths.
fn append_raw<W: std::io::Write>(
    b: &mut tar::Builder<W>,
    h: &mut tar::Header,
    path: &[u8],
    body: &[u8],
) {
    if path.len() > 100 {
        let mut long = tar::Header::new_gnu();
        long.as_gnu_mut().expect("gnu").name[..13].copy_from_slice(b"././@LongLink");
        long.set_entry_type(tar::EntryType::GNULongName);
        let mut data = path.to_vec();
        data.push(0);
        long.set_size(data.len() as u64);
        long.set_cksum();
        b.append(&long, data.as_slice()).expect("long name");
    }
    let name = &mut h.as_gnu_mut().expect("gnu").name;
    let n = path.len().min(100);
    name[..n].copy_from_slice(&path[..n]);
    h.set_cksum();
    b.append(h, body).expect("append");
}
