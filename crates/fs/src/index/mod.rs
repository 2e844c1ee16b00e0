//! `FsIndex`: every entry of a filesystem tar stream in one compact, sorted table.
//!
//! Paths live in one byte arena (no `String` per entry); entries are sorted depth-first by
//! path component, so a directory's subtree is the contiguous run right after it and
//! directory totals come from one reverse pass. Names are raw bytes: nothing is decoded;
//! paths are normalized lexically ([`push_normalized`]); [`escape`] makes them printable.

use std::io::Read;

use super::sniff::ContentFlags;

/// Index of an entry in an [`FsIndex`]; 0 is the root directory.
pub type EntryId = u32;

pub const ROOT: EntryId = 0;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Hardlink => "hardlink",
            Kind::Other => "other",
        }
    }

    /// The kind a tar entry type stands for (a GNU sparse file is a file).
    pub fn of(t: tar::EntryType) -> Kind {
        use tar::EntryType as T;
        match t {
            T::Regular | T::Continuous | T::GNUSparse => Kind::File,
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink,
            T::Link => Kind::Hardlink,
            _ => Kind::Other,
        }
    }
}

/// The file type bits of a mode, as `stat` gives them. An [`Kind::Other`] entry keeps its
/// type there ([`EntryRef::mode`]), so a device or a FIFO shows as what it is.
pub(crate) const S_IFMT: u32 = 0o170000;
pub(crate) const S_IFIFO: u32 = 0o010000;
pub(crate) const S_IFCHR: u32 = 0o020000;
pub(crate) const S_IFBLK: u32 = 0o060000;

/// The type bits a tar entry type stands for, for the kinds [`Kind`] calls `Other`.
pub(crate) fn special_type_bits(t: tar::EntryType) -> u32 {
    match t {
        tar::EntryType::Char => S_IFCHR,
        tar::EntryType::Block => S_IFBLK,
        tar::EntryType::Fifo => S_IFIFO,
        _ => 0,
    }
}

/// One entry's metadata. Path and link target are ranges into the index's arena.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Record {
    path_start: u32,
    path_len: u32,
    link_start: u32,
    link_len: u32,
    size: u64,
    mtime: u64,
    hash: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    kind: Kind,
    /// [`ContentFlags`] bits of a small file's content (fits in the padding after `kind`).
    flags: u8,
    /// The image layer (bottom = 0) that wrote the entry, [`NO_LAYER`] when not known (an
    /// export, a directory no layer named); fits in the padding too.
    layer: u16,
    /// The layer that made the entry: for a directory the one it first appeared in (a later
    /// layer writing it again, as every layer that adds below it does, keeps it), for the
    /// rest the same as `layer`.
    created: u16,
}

/// [`Record::layer`] of an entry no layer is known to have written.
const NO_LAYER: u16 = u16::MAX;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("reading the filesystem stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("the filesystem stream holds more path bytes than the index can address (4 GiB)")]
    TooLarge,
}

/// Counts for a progress line while a stream is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub entries: u64,
    pub bytes: u64,
}

impl Record {
    fn at(mut self, path_start: u32) -> Record {
        self.path_start = path_start;
        self
    }
}

/// What an entry's header says besides its path, kind and link target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
}

impl Meta {
    /// Owned by root, no time: what most made-up entries need.
    pub fn new(size: u64, mode: u32) -> Meta {
        Meta {
            size,
            mode,
            ..Meta::default()
        }
    }
}

/// Accumulates entries as the tar stream arrives; [`IndexBuilder::finish`] sorts and links.
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    arena: Vec<u8>,
    records: Vec<Record>,
    progress: Progress,
}

/// `a/./b//c/` -> `a/b/c`; leading `/` and `./` dropped; `..` takes the previous component
/// away and, at the root, stays there (`../../etc/x` -> `etc/x`), as the kernel resolves
/// `/..` and as the engine's archive API and BuildKit's `fs.RootPath` clamp a path to the
/// container's root. So no indexed path has a `..` in it, and each names the entry a
/// preview or an extraction of that path would fetch: a hostile `../` never escapes.
pub(crate) fn push_normalized(arena: &mut Vec<u8>, raw: &[u8]) -> (u32, u32) {
    let start = arena.len();
    for comp in raw.split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
            continue;
        }
        if comp == b".." {
            let cut = arena[start..]
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(start, |i| start + i);
            arena.truncate(cut);
            continue;
        }
        if arena.len() > start {
            arena.push(b'/');
        }
        arena.extend_from_slice(comp);
    }
    (start as u32, (arena.len() - start) as u32)
}

fn range(r: &Record) -> std::ops::Range<usize> {
    r.path_start as usize..r.path_start as usize + r.path_len as usize
}

/// Depth-first order: compare component by component, `/` sorting before every byte.
pub fn path_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return match (*x == b'/', *y == b'/') {
                (true, _) => Ordering::Less,
                (_, true) => Ordering::Greater,
                _ => x.cmp(y),
            };
        }
    }
    a.len().cmp(&b.len())
}

/// The finished index. Entries are in depth-first order; [`ROOT`] is the root directory.
#[derive(Debug, Clone, Default)]
pub struct FsIndex {
    arena: Vec<u8>,
    records: Vec<Record>,
    parent: Vec<u32>,
    child_start: Vec<u32>,
    children: Vec<u32>,
    total: Vec<u64>,
    count: Vec<u32>,
    progress: Progress,
}

/// A borrowed view of one entry.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: EntryId,
    index: &'a FsIndex,
    rec: &'a Record,
}

impl<'a> EntryRef<'a> {
    /// Full path from the root without a leading slash; empty for the root.
    pub fn path(&self) -> &'a [u8] {
        let s = self.rec.path_start as usize;
        &self.index.arena[s..s + self.rec.path_len as usize]
    }
    /// The last component.
    pub fn name(&self) -> &'a [u8] {
        let p = self.path();
        match p.iter().rposition(|&b| b == b'/') {
            Some(i) => &p[i + 1..],
            None => p,
        }
    }
    pub fn kind(&self) -> Kind {
        self.rec.kind
    }
    /// Size as the stream declared it (0 for directories, links and hard links).
    pub fn size(&self) -> u64 {
        self.rec.size
    }
    /// Size of the subtree: the entry's own size for non-directories.
    pub fn total(&self) -> u64 {
        self.index.total[self.id as usize]
    }
    /// Number of entries in the subtree, the entry included.
    pub fn count(&self) -> u32 {
        self.index.count[self.id as usize]
    }
    /// Permission and setuid/setgid/sticky bits (`0o7777`); for an `Other` entry also its
    /// file type ([`S_IFCHR`], [`S_IFBLK`], [`S_IFIFO`]) when the stream said it.
    pub fn mode(&self) -> u32 {
        self.rec.mode
    }
    pub fn uid(&self) -> u32 {
        self.rec.uid
    }
    pub fn gid(&self) -> u32 {
        self.rec.gid
    }
    pub fn mtime(&self) -> u64 {
        self.rec.mtime
    }
    /// xxh3 of the content (files; hard links get their target's). 0 otherwise.
    /// The image layer (bottom = 0) that last wrote this entry, when the index was composed
    /// from layers.
    pub fn layer(&self) -> Option<u16> {
        let l = self.rec.layer;
        (l != NO_LAYER).then_some(l)
    }

    /// An empty directory `dev`, `proc` or `sys` at the root: the mount point a container
    /// runtime makes for a RUN (BuildKit's leaves them in the first RUN's layer on a base that
    /// has none), not a file the Dockerfile put there. Diffs, leftovers and changes lists
    /// leave such entries out; the tree keeps them, marked.
    pub fn is_runtime_mount_point(&self) -> bool {
        self.rec.kind == Kind::Dir
            && self.count() == 1
            && matches!(self.path(), b"dev" | b"proc" | b"sys")
    }

    /// The image layer that made this entry, when the index was composed from layers: for a
    /// directory the layer where it first appeared (a directory is in every layer that adds
    /// something below it, so [`EntryRef::layer`] names the last of those), for anything else
    /// the layer that wrote it.
    pub(crate) fn created_layer(&self) -> Option<u16> {
        let l = self.rec.created;
        (l != NO_LAYER).then_some(l)
    }

    pub fn hash(&self) -> u64 {
        self.rec.hash
    }
    /// What sniffing a small file's content found (empty for everything else). Hard links
    /// get their target's.
    pub fn content_flags(&self) -> ContentFlags {
        ContentFlags::from_bits(self.rec.flags)
    }
    /// Symlink target as written, or hard link target path (normalized).
    pub fn link(&self) -> Option<&'a [u8]> {
        (self.rec.link_start != NONE).then(|| {
            let s = self.rec.link_start as usize;
            &self.index.arena[s..s + self.rec.link_len as usize]
        })
    }
    /// A hard link whose target is not in the index, is the link itself or a directory: a
    /// tar stream can say so, no filesystem holds it (the engine refuses such a layer). It
    /// stays a hard link with that target, flagged here, with no content hash.
    pub fn link_missing(&self) -> bool {
        self.rec.kind == Kind::Hardlink
            && self
                .link()
                .and_then(|l| self.index.lookup(l))
                .is_none_or(|t| t == self.id || self.index.records[t as usize].kind == Kind::Dir)
    }
    pub fn parent(&self) -> Option<EntryId> {
        let p = self.index.parent[self.id as usize];
        (p != NONE).then_some(p)
    }
    pub fn children(&self) -> &'a [EntryId] {
        self.index.children_of(self.id)
    }
    pub fn depth(&self) -> usize {
        let p = self.path();
        if p.is_empty() {
            0
        } else {
            1 + p.iter().filter(|&&b| b == b'/').count()
        }
    }
}

impl FsIndex {
    /// Reads a whole tar stream into a finished index.
    pub fn from_tar<R: Read>(reader: R) -> Result<FsIndex, IndexError> {
        let mut b = IndexBuilder::new();
        b.read_tar(reader, |_| {})?;
        Ok(b.finish())
    }

    /// Number of entries, the root included.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.len() <= 1
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Bytes the index holds on the heap (what its tables reserved), for the memory figures.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.arena.capacity()
            + self.records.capacity() * size_of::<Record>()
            + (self.parent.capacity()
                + self.child_start.capacity()
                + self.children.capacity()
                + self.count.capacity())
                * size_of::<u32>()
            + self.total.capacity() * size_of::<u64>()
    }

    /// Panics if `id` is out of range (ids come from this index).
    pub fn get(&self, id: EntryId) -> EntryRef<'_> {
        EntryRef {
            id,
            index: self,
            rec: &self.records[id as usize],
        }
    }

    pub fn root(&self) -> EntryRef<'_> {
        self.get(ROOT)
    }

    /// Every entry but the root, depth-first, children by name.
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        (1..self.records.len() as u32).map(|i| self.get(i))
    }

    pub(crate) fn children_of(&self, id: EntryId) -> &[EntryId] {
        let i = id as usize;
        match (self.child_start.get(i), self.child_start.get(i + 1)) {
            (Some(&s), Some(&e)) => &self.children[s as usize..e as usize],
            _ => &[],
        }
    }

    /// The entry at `path` (normalized like the stream's paths), if present.
    pub fn lookup(&self, path: &[u8]) -> Option<EntryId> {
        let mut norm = Vec::with_capacity(path.len());
        push_normalized(&mut norm, path);
        self.records
            .binary_search_by(|r| {
                let s = r.path_start as usize;
                path_cmp(&self.arena[s..s + r.path_len as usize], &norm)
            })
            .ok()
            .map(|i| i as EntryId)
    }

    /// Hard links carry no content in a tar; give them their target's hash so a diff can
    /// compare them.
    fn link_hashes(&mut self) {
        for i in 1..self.records.len() {
            if self.records[i].kind != Kind::Hardlink {
                continue;
            }
            let target = self.get(i as u32).link().and_then(|l| self.lookup(l));
            if let Some(t) = target {
                self.records[i].hash = self.records[t as usize].hash;
                self.records[i].flags = self.records[t as usize].flags;
            }
        }
    }
}

/// Printable form of raw name bytes: never interpreted by a terminal or a shell reader.
/// Bytes that are not UTF-8 and control characters become `\xNN`; a backslash becomes `\\`
/// so the escaping can be undone unambiguously. Other characters stay as they are.
pub fn escape(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if shown_escaped(c) => {
                    let mut b = [0u8; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Characters a name must not hand to a terminal: controls (C0, DEL, C1), and the
/// bidirectional overrides and isolates that reorder what follows them on screen
/// (`evil\u{202e}gpj.exe` shows as `evilexe.jpg`).
pub fn shown_escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
}

mod builder;
pub use builder::BaseView;
/// The on-disk form of an index (for the cache): a child module, so it sees the fields.
pub mod codec;
pub mod layer;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod layer_proptests;
#[cfg(test)]
mod layer_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;
