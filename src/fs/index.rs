//! `FsIndex`: every entry of a filesystem tar stream in one compact, sorted table.
//!
//! Paths live in one byte arena (no `String` per entry); entries are sorted depth-first by
//! path component, so a directory's subtree is the contiguous run right after it and
//! directory totals come from one reverse pass. Names are raw bytes: nothing is decoded or
//! interpreted (a component `..` is just a name); [`escape`] makes them printable.

use std::io::Read;

use xxhash_rust::xxh3::Xxh3;

use super::sniff::{ContentFlags, SNIFF_LIMIT};

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

    fn of(t: tar::EntryType) -> Kind {
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

/// One entry's metadata. Path and link target are ranges into the index's arena.
#[derive(Debug, Clone, Copy)]
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
}

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

/// Accumulates entries as the tar stream arrives; [`IndexBuilder::finish`] sorts and links.
#[derive(Debug, Clone, Default)]
pub struct IndexBuilder {
    arena: Vec<u8>,
    records: Vec<Record>,
    progress: Progress,
}

/// `a/./b//c/` -> `a/b/c`; leading `/` and `./` dropped. `..` stays a name.
pub(crate) fn push_normalized(arena: &mut Vec<u8>, raw: &[u8]) -> (u32, u32) {
    let start = arena.len();
    for comp in raw.split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
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

impl IndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    fn arena_ok(&self) -> Result<(), IndexError> {
        // Ranges are u32: refuse before they could wrap.
        if self.arena.len() > (u32::MAX as usize) - (1 << 20) {
            Err(IndexError::TooLarge)
        } else {
            Ok(())
        }
    }

    /// Adds one entry whose content was not sniffed.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        path: &[u8],
        kind: Kind,
        size: u64,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: u64,
        link: Option<&[u8]>,
        hash: u64,
    ) -> Result<(), IndexError> {
        self.add_sniffed(
            path,
            kind,
            size,
            mode,
            uid,
            gid,
            mtime,
            link,
            hash,
            ContentFlags::empty(),
        )
    }

    /// Adds one entry with what sniffing its content found.
    #[allow(clippy::too_many_arguments)]
    pub fn add_sniffed(
        &mut self,
        path: &[u8],
        kind: Kind,
        size: u64,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: u64,
        link: Option<&[u8]>,
        hash: u64,
        flags: ContentFlags,
    ) -> Result<(), IndexError> {
        self.arena_ok()?;
        let (path_start, path_len) = push_normalized(&mut self.arena, path);
        if path_len == 0 {
            // The root itself: always present, implicitly.
            self.arena.truncate(path_start as usize);
            return Ok(());
        }
        let (link_start, link_len) = match (kind, link) {
            // A hard link names another entry of the same archive: same normal form.
            (Kind::Hardlink, Some(l)) => push_normalized(&mut self.arena, l),
            (_, Some(l)) => {
                let s = self.arena.len();
                self.arena.extend_from_slice(l);
                (s as u32, l.len() as u32)
            }
            (_, None) => (NONE, 0),
        };
        self.records.push(Record {
            path_start,
            path_len,
            link_start,
            link_len,
            size,
            mtime,
            hash,
            mode: mode & 0o7777,
            uid,
            gid,
            kind,
            flags: flags.bits(),
        });
        self.progress.entries += 1;
        Ok(())
    }

    /// Reads a whole tar stream (e.g. `docker export`). On a broken stream the entries read
    /// so far stay in the builder and the error is returned.
    pub fn read_tar<R: Read>(
        &mut self,
        reader: R,
        mut on_progress: impl FnMut(Progress),
    ) -> Result<(), IndexError> {
        self.read_tar_observed(reader, |b| on_progress(b.progress()))
    }

    /// [`IndexBuilder::read_tar`], handing the builder itself to `observe` every ~1k entries
    /// and at the end, so a viewer can take a [`IndexBuilder::snapshot`] while it streams.
    pub fn read_tar_observed<R: Read>(
        &mut self,
        reader: R,
        mut observe: impl FnMut(&IndexBuilder),
    ) -> Result<(), IndexError> {
        let mut archive = tar::Archive::new(reader);
        // As large as the sniffing limit, so a small file arrives whole in one fill.
        let mut buf = vec![0u8; SNIFF_LIMIT as usize];
        for entry in archive.entries()? {
            let mut entry = entry?;
            let kind = Kind::of(entry.header().entry_type());
            let path = entry.path_bytes().into_owned();
            let link = entry.link_name_bytes().map(|l| l.into_owned());
            let h = entry.header();
            let mode = h.mode().unwrap_or(0);
            let mut uid = h.uid().unwrap_or(0);
            let mut gid = h.gid().unwrap_or(0);
            let mut mtime = h.mtime().unwrap_or(0);
            // Ids past the header's octal fields (user namespaces) and times arrive as PAX
            // records, which the `tar` crate applies to the path and size only.
            if let Ok(Some(pax)) = entry.pax_extensions() {
                for ext in pax.flatten() {
                    let num = || {
                        let v = ext.value_bytes();
                        let whole = v.split(|&b| b == b'.').next().unwrap_or(v);
                        std::str::from_utf8(whole).ok()?.parse::<u64>().ok()
                    };
                    match ext.key_bytes() {
                        b"uid" => uid = num().unwrap_or(uid),
                        b"gid" => gid = num().unwrap_or(gid),
                        b"mtime" => mtime = num().unwrap_or(mtime),
                        _ => {}
                    }
                }
            }
            let size = entry.size();
            let mut hash = 0;
            let mut flags = ContentFlags::empty();
            if kind == Kind::File && size <= SNIFF_LIMIT {
                // Small: the whole content fits the buffer, so hash and sniff it at once
                // (a header split across two reads is still seen).
                let mut filled = 0;
                loop {
                    let n = entry.read(&mut buf[filled..])?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                    self.progress.bytes += n as u64;
                    if filled == buf.len() {
                        break;
                    }
                }
                hash = xxhash_rust::xxh3::xxh3_64(&buf[..filled]);
                flags = ContentFlags::sniff(&buf[..filled]);
            } else if kind == Kind::File {
                let mut hasher = Xxh3::new();
                loop {
                    let n = entry.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    self.progress.bytes += n as u64;
                }
                hash = hasher.digest();
            }
            self.add_sniffed(
                &path,
                kind,
                size,
                mode,
                u32::try_from(uid).unwrap_or(u32::MAX),
                u32::try_from(gid).unwrap_or(u32::MAX),
                mtime,
                link.as_deref().filter(|_| kind != Kind::File),
                hash,
                flags,
            )?;
            if self.progress.entries.is_multiple_of(1024) {
                observe(self);
            }
        }
        observe(self);
        Ok(())
    }

    /// A finished index of what has arrived so far, leaving the builder to go on.
    pub fn snapshot(&self) -> FsIndex {
        self.clone().finish()
    }

    /// Sorts, drops duplicates (the last entry for a path wins, as on extraction), adds the
    /// missing parent directories, links parents and children, and computes totals.
    pub fn finish(self) -> FsIndex {
        let IndexBuilder {
            arena,
            mut records,
            progress,
        } = self;
        records.sort_by(|a, b| path_cmp(&arena[range(a)], &arena[range(b)]));
        // Stable sort: within a run of equal paths arrival order is kept; keep the last.
        let mut deduped: Vec<Record> = Vec::with_capacity(records.len() + 1);
        for r in records {
            if let Some(last) = deduped.last_mut()
                && arena[range(last)] == arena[range(&r)]
            {
                *last = r;
                continue;
            }
            deduped.push(r);
        }
        let root = Record {
            path_start: 0,
            path_len: 0,
            link_start: NONE,
            link_len: 0,
            size: 0,
            mtime: 0,
            hash: 0,
            mode: 0o755,
            uid: 0,
            gid: 0,
            kind: Kind::Dir,
            flags: 0,
        };

        // Depth-first order: an entry's parent is the top of the stack of open ancestors
        // once those that are not a `/`-prefix of it are popped. Ancestors the stream never
        // named are made here, just before their first descendant (which keeps the order),
        // their paths being prefixes of that descendant's bytes in the arena. Linear in the
        // path bytes, so a 50k-deep hostile path costs no more than it weighs.
        let mut records: Vec<Record> = Vec::with_capacity(deduped.len() + 1);
        let mut parent: Vec<u32> = Vec::with_capacity(deduped.len() + 1);
        records.push(root);
        parent.push(NONE);
        let mut stack: Vec<u32> = vec![ROOT];
        for r in deduped {
            let p = &arena[range(&r)];
            while let Some(&top) = stack.last() {
                let tr = &records[top as usize];
                let tlen = tr.path_len as usize;
                let is_ancestor = top == ROOT
                    || (p.len() > tlen && p[tlen] == b'/' && p.starts_with(&arena[range(tr)]));
                if is_ancestor {
                    break;
                }
                stack.pop();
            }
            let mut from = stack
                .last()
                .map_or(0, |&t| records[t as usize].path_len as usize);
            if from > 0 {
                from += 1; // past the `/`
            }
            // Every `/` after the nearest existing ancestor ends a missing directory.
            let slashes: Vec<usize> = p[from..]
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'/')
                .map(|(i, _)| from + i)
                .collect();
            for end in slashes {
                parent.push(stack.last().copied().unwrap_or(ROOT));
                stack.push(records.len() as u32);
                records.push(
                    Record {
                        path_len: end as u32,
                        ..root
                    }
                    .at(r.path_start),
                );
            }
            parent.push(stack.last().copied().unwrap_or(ROOT));
            stack.push(records.len() as u32);
            records.push(r);
        }
        let n = records.len();

        // Children, in order (= sorted by name), as one flat array.
        let mut child_start = vec![0u32; n + 1];
        for &p in &parent[1..] {
            child_start[p as usize + 1] += 1;
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; n.saturating_sub(1)];
        for (i, &p) in parent.iter().enumerate().skip(1) {
            children[fill[p as usize] as usize] = i as u32;
            fill[p as usize] += 1;
        }

        // Totals: children come after their parent, so one reverse pass sums subtrees.
        let mut total: Vec<u64> = records
            .iter()
            .map(|r| if r.kind == Kind::Dir { 0 } else { r.size })
            .collect();
        let mut count = vec![1u32; n];
        for i in (1..n).rev() {
            let p = parent[i] as usize;
            total[p] = total[p].saturating_add(total[i]);
            count[p] = count[p].saturating_add(count[i]);
        }

        let mut index = FsIndex {
            arena,
            records,
            parent,
            child_start,
            children,
            total,
            count,
            progress,
        };
        index.link_hashes();
        index
    }
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
    /// Permission and setuid/setgid/sticky bits (`0o7777`).
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

    pub fn children_of(&self, id: EntryId) -> &[EntryId] {
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
                c if c.is_control() => {
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

/// The on-disk form of an index (for the cache): a child module, so it sees the fields.
#[path = "index_codec.rs"]
pub mod codec;

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
