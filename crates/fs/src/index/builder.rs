//! Building an [`FsIndex`] from a tar stream: entries as they arrive, then one sort and
//! one pass that links parents and sums directory totals.

use xxhash_rust::xxh3::Xxh3;

use super::*;
use crate::sniff::SNIFF_LIMIT;

impl IndexBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Bytes the builder holds on the heap so far (what its tables reserved).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.records.capacity() * std::mem::size_of::<Record>()
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
    pub fn add(
        &mut self,
        path: &[u8],
        kind: Kind,
        meta: Meta,
        link: Option<&[u8]>,
        hash: u64,
    ) -> Result<(), IndexError> {
        self.add_sniffed(path, kind, meta, link, hash, ContentFlags::empty())
    }

    /// Adds one entry with what sniffing its content found.
    pub(crate) fn add_sniffed(
        &mut self,
        path: &[u8],
        kind: Kind,
        meta: Meta,
        link: Option<&[u8]>,
        hash: u64,
        flags: ContentFlags,
    ) -> Result<(), IndexError> {
        let Meta {
            size,
            mode,
            uid,
            gid,
            mtime,
        } = meta;
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
            mode: mode
                & if kind == Kind::Other {
                    0o7777 | S_IFMT
                } else {
                    0o7777
                },
            uid,
            gid,
            kind,
            flags: flags.bits(),
            layer: NO_LAYER,
            created: NO_LAYER,
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
        observe: impl FnMut(&IndexBuilder),
    ) -> Result<(), IndexError> {
        self.read_tar_diverting(reader, observe, |_| false)
    }

    /// [`IndexBuilder::read_tar_observed`], handing each entry's raw path to `divert` first:
    /// an entry it takes (returns true for, e.g. a layer's whiteout) is not indexed.
    pub(crate) fn read_tar_diverting<R: Read>(
        &mut self,
        reader: R,
        mut observe: impl FnMut(&IndexBuilder),
        mut divert: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), IndexError> {
        let mut archive = tar::Archive::new(reader);
        // As large as the sniffing limit, so a small file arrives whole in one fill.
        let mut buf = vec![0u8; SNIFF_LIMIT as usize];
        for entry in archive.entries()? {
            let mut entry = entry?;
            let kind = Kind::of(entry.header().entry_type());
            let type_bits = special_type_bits(entry.header().entry_type());
            let path = entry.path_bytes().into_owned();
            if divert(&path) {
                continue;
            }
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
                Meta {
                    size,
                    mode: (mode & 0o7777) | type_bits,
                    uid: u32::try_from(uid).unwrap_or(u32::MAX),
                    gid: u32::try_from(gid).unwrap_or(u32::MAX),
                    mtime,
                },
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

    /// This builder's entries as a base for [`IndexBuilder::over`].
    pub fn base(self) -> BaseView {
        let mark = (self.arena.len(), self.records.len(), self.progress);
        BaseView { view: self, mark }
    }

    /// The records as they arrived, and the arena they point into (for a layer's index).
    pub(super) fn into_parts(self) -> (Vec<u8>, Vec<Record>, Progress) {
        (self.arena, self.records, self.progress)
    }

    /// Sorts, drops duplicates (the last entry for a path wins, as on extraction), adds the
    /// missing parent directories, links parents and children, and computes totals.
    pub fn finish(self) -> FsIndex {
        let IndexBuilder {
            arena,
            records,
            progress,
        } = self;
        let deduped = sorted_deduped(&arena, records);
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
            layer: NO_LAYER,
            created: NO_LAYER,
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

        // The arena grew by doubling, and the implied directories pushed `records` and
        // `parent` past what was reserved: give the slack back (1M entries: 174 -> ~120 MB).
        let (mut arena, mut records, mut parent) = (arena, records, parent);
        arena.shrink_to_fit();
        records.shrink_to_fit();
        parent.shrink_to_fit();
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

/// Records in depth-first order, one per path: the last to arrive wins, as on extraction.
pub(super) fn sorted_deduped(arena: &[u8], mut records: Vec<Record>) -> Vec<Record> {
    // A composition arrives sorted: checking costs one pass, a stable sort a copy.
    if !records.is_sorted_by(|a, b| path_cmp(&arena[range(a)], &arena[range(b)]).is_le()) {
        records.sort_by(|a, b| path_cmp(&arena[range(a)], &arena[range(b)]));
    }
    // Stable sort: within a run of equal paths arrival order is kept; keep the last.
    let mut kept = 0;
    for i in 0..records.len() {
        if kept > 0 && arena[range(&records[kept - 1])] == arena[range(&records[i])] {
            records[kept - 1] = records[i];
        } else {
            records[kept] = records[i];
            kept += 1;
        }
    }
    records.truncate(kept);
    records
}

/// A composed base with a layer arriving over it, for a streaming view: the base's entries
/// are kept once, the top's replaced at each [`BaseView::over`] (whiteouts not applied; a
/// later entry of a path wins when finished).
#[derive(Debug, Clone)]
pub struct BaseView {
    view: IndexBuilder,
    mark: (usize, usize, Progress),
}

impl BaseView {
    /// The base alone.
    pub fn view(&self) -> &IndexBuilder {
        &self.view
    }

    /// `top`'s entries over the base.
    pub fn over(&mut self, top: &IndexBuilder) -> &IndexBuilder {
        let (arena, records, progress) = self.mark;
        let v = &mut self.view;
        v.arena.truncate(arena);
        v.records.truncate(records);
        v.progress = progress;
        if arena + top.arena.len() > (u32::MAX as usize) - (1 << 20) {
            return v;
        }
        let shift = arena as u32;
        v.arena.extend_from_slice(&top.arena);
        v.records.extend(top.records.iter().map(|r| {
            let mut r = *r;
            r.path_start += shift;
            if r.link_start != NONE {
                r.link_start += shift;
            }
            r
        }));
        v.progress.entries += top.progress.entries;
        v.progress.bytes += top.progress.bytes;
        v
    }
}
