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
