//! One image layer on its own ([`LayerIndex`]: its entries, whiteouts and opaque
//! directories, as its tar says them), and the image's filesystem composed from its layers
//! bottom first ([`compose`]) the way the engine's overlay shows it to `docker export`.
//!
//! Layers are indexed one at a time as the `docker save` stream passes them (before the
//! manifest says their order), then merged: memory is bounded by the indexes, not the bytes.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use super::builder::sorted_deduped;
use super::*;
use crate::waste::{HiddenCopy, How, Waste};

/// What one layer's tar holds: entries sorted depth-first, one per path, no implied parent
/// (a directory the tar never named is not this layer's to set), and the paths it deletes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerIndex {
    arena: Vec<u8>,
    records: Vec<Record>,
    /// Whiteouts (`dir/.wh.name`): `dir/name` and all below it, from the layers underneath.
    deleted: Vec<(u32, u32)>,
    /// Opaque directories (`dir/.wh..wh..opq`): what the layers underneath had in them.
    opaque: Vec<(u32, u32)>,
    progress: Progress,
    /// Bytes of the layer's entry in the save stream (compressed or not), which tells a
    /// known layer apart before its bytes are read; 0 when not known.
    pub stream_size: u64,
}

/// What one layer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    /// Paths written by the layer (normalized, no leading slash).
    pub added: Vec<Vec<u8>>,
    /// Per `added` path: its size in the layer, `None` for a directory (what a teaching view
    /// counts as the instruction's files and bytes). May be shorter than `added` when the
    /// layer was made by hand (tests).
    pub sizes: Vec<Option<u64>>,
    /// Paths a whiteout deleted (`.wh.name`).
    pub deleted: Vec<Vec<u8>>,
    /// Directories made opaque (`.wh..wh..opq`): what lower layers had in them is gone.
    pub opaque: Vec<Vec<u8>>,
    /// The history line that made the layer (`/bin/sh -c …`, `COPY …`), when known.
    pub created_by: Option<String>,
    /// The layer could not be decompressed: nothing is known of it.
    pub unreadable: bool,
}

/// The name a whiteout hides, or `Opaque` for the directory marker.
enum Whiteout<'a> {
    Name(&'a [u8]),
    Opaque,
}

fn whiteout(name: &[u8]) -> Option<Whiteout<'_>> {
    if name == b".wh..wh..opq" {
        return Some(Whiteout::Opaque);
    }
    name.strip_prefix(b".wh.").map(Whiteout::Name)
}

impl LayerIndex {
    /// Reads one layer's (uncompressed) tar; `observe` sees the builder every ~1k entries.
    pub fn from_tar<R: Read>(
        reader: R,
        observe: impl FnMut(&IndexBuilder),
    ) -> Result<LayerIndex, IndexError> {
        let mut b = IndexBuilder::new();
        let mut deleted: Vec<Vec<u8>> = Vec::new();
        let mut opaque: Vec<Vec<u8>> = Vec::new();
        b.read_tar_diverting(reader, observe, |raw| {
            let mut norm = Vec::new();
            push_normalized(&mut norm, raw);
            let (dir, name) = match norm.iter().rposition(|&b| b == b'/') {
                Some(i) => (&norm[..i], &norm[i + 1..]),
                None => (&norm[..0], &norm[..]),
            };
            match whiteout(name) {
                Some(Whiteout::Opaque) => opaque.push(dir.to_vec()),
                Some(Whiteout::Name(gone)) => {
                    // `.wh..` names `.`: normalized like any path; the root is never deleted.
                    let mut raw = dir.to_vec();
                    raw.push(b'/');
                    raw.extend_from_slice(gone);
                    let mut p = Vec::new();
                    push_normalized(&mut p, &raw);
                    if !p.is_empty() {
                        deleted.push(p);
                    }
                }
                None => return false,
            }
            true
        })?;
        let (mut arena, records, progress) = b.into_parts();
        let records = sorted_deduped(&arena, records);
        let mut push = |paths: Vec<Vec<u8>>| -> Result<Vec<(u32, u32)>, IndexError> {
            let mut out = Vec::with_capacity(paths.len());
            for p in paths {
                if arena.len() + p.len() > (u32::MAX as usize) - (1 << 20) {
                    return Err(IndexError::TooLarge);
                }
                out.push((arena.len() as u32, p.len() as u32));
                arena.extend_from_slice(&p);
            }
            Ok(out)
        };
        let deleted = push(deleted)?;
        let opaque = push(opaque)?;
        arena.shrink_to_fit();
        Ok(LayerIndex {
            arena,
            records,
            deleted,
            opaque,
            progress,
            stream_size: 0,
        })
    }

    fn bytes(&self, (s, l): (u32, u32)) -> &[u8] {
        &self.arena[s as usize..s as usize + l as usize]
    }

    fn path(&self, r: &Record) -> &[u8] {
        &self.arena[range(r)]
    }

    fn link(&self, r: &Record) -> Option<&[u8]> {
        (r.link_start != NONE).then(|| self.bytes((r.link_start, r.link_len)))
    }

    /// Entries this layer writes (whiteouts and opaque markers apart).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Entries and content bytes read from the layer's tar.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Bytes of the files this layer stores (one entry per path: what the layer adds to
    /// the image's size, and what a later layer can hide).
    pub fn stored_bytes(&self) -> u64 {
        self.records
            .iter()
            .filter(|r| r.kind != Kind::Dir)
            .map(|r| r.size)
            .sum()
    }

    /// [`LayerIndex::summary`] without the paths written (whiteouts are few).
    pub fn light_summary(&self) -> Layer {
        Layer {
            deleted: self
                .deleted
                .iter()
                .map(|&d| self.bytes(d).to_vec())
                .collect(),
            opaque: self
                .opaque
                .iter()
                .map(|&o| self.bytes(o).to_vec())
                .collect(),
            ..Layer::default()
        }
    }

    /// What the layer did, as [`Layer`] says it (for "added by").
    pub fn summary(&self) -> Layer {
        Layer {
            added: self.records.iter().map(|r| self.path(r).to_vec()).collect(),
            sizes: self
                .records
                .iter()
                .map(|r| (r.kind != Kind::Dir).then_some(r.size))
                .collect(),
            ..self.light_summary()
        }
    }
}

/// What a layer removes from those underneath: the path itself too (a whiteout), or only
/// what is below it (an opaque directory, or a non-directory replacing a directory).
struct Cut<'a> {
    path: &'a [u8],
    with_self: bool,
    how: How,
}

fn is_below(p: &[u8], dir: &[u8]) -> bool {
    p.len() > dir.len() && p[dir.len()] == b'/' && p.starts_with(dir)
}

/// The filesystem the layers make, bottom first: each layer's entries over those beneath,
/// whiteouts and opaque directories applied, a non-directory hiding what was below the
/// directory it replaced. A hard link whose target a later layer replaced or deleted keeps
/// the content it linked to, as the engine's export shows it: the first such link (in
/// walk order) becomes that file, the others link to it. Each entry keeps the number of
/// the layer that wrote it ([`EntryRef::layer`]).
pub fn compose(layers: &[&LayerIndex]) -> FsIndex {
    let mut c = Composer::default();
    for l in layers {
        c.push(l);
    }
    c.finish()
}

/// [`compose`] one layer at a time, so a caller can read each from disk and let it go:
/// memory holds the composition so far, one layer and the next composition, never all the
/// layers.
///
/// The copies each layer hides on the way are the image's waste ([`Composer::waste`]): they
/// are met anyway while composing, so counting them costs no second pass.
#[derive(Default)]
pub struct Composer {
    /// The composition so far, as one layer with no whiteouts of its own.
    acc: LayerIndex,
    layers: u16,
    bytes: u64,
    waste: Waste,
}

impl Composer {
    /// Puts `upper` over what is composed so far.
    pub fn push(&mut self, upper: &LayerIndex) {
        let no = self.layers.min(NO_LAYER - 1);
        self.acc = overlay(&self.acc, upper, no, &mut self.waste.hidden);
        self.layers = self.layers.saturating_add(1);
        self.bytes += upper.progress.bytes;
        self.waste.layer_bytes.push(upper.stored_bytes());
    }

    /// What the layers pushed so far hid of each other.
    pub fn waste(&self) -> &Waste {
        &self.waste
    }

    /// [`Composer::finish`], with the waste.
    pub fn finish_with_waste(mut self) -> (FsIndex, Waste) {
        let waste = std::mem::take(&mut self.waste);
        (self.finish(), waste)
    }

    /// What is composed so far, as a builder (for a view while more layers arrive).
    pub fn builder(&self) -> IndexBuilder {
        IndexBuilder {
            arena: self.acc.arena.clone(),
            records: self.acc.records.clone(),
            progress: Progress {
                entries: self.acc.records.len() as u64,
                bytes: self.bytes,
            },
        }
    }

    /// The composed filesystem.
    pub fn finish(self) -> FsIndex {
        let LayerIndex { arena, records, .. } = self.acc;
        let progress = Progress {
            entries: records.len() as u64,
            bytes: self.bytes,
        };
        IndexBuilder {
            arena,
            records,
            progress,
        }
        .finish()
    }
}

/// `upper` (layer number `no`) over the composition `lower`, as a new composition with its
/// own arena (each path and link copied once). Every copy of a file with bytes that `upper`
/// hides goes to `hidden`, unless a hard link underneath keeps its content visible.
fn overlay(
    lower: &LayerIndex,
    upper: &LayerIndex,
    no: u16,
    hidden: &mut Vec<HiddenCopy>,
) -> LayerIndex {
    let mut cuts: Vec<Cut> = upper
        .deleted
        .iter()
        .map(|&d| Cut {
            path: upper.bytes(d),
            with_self: true,
            how: How::Deleted,
        })
        .chain(upper.opaque.iter().map(|&o| Cut {
            path: upper.bytes(o),
            with_self: false,
            how: How::OpaqueDir,
        }))
        .chain(
            upper
                .records
                .iter()
                .filter(|r| r.kind != Kind::Dir)
                .map(|r| Cut {
                    path: upper.path(r),
                    with_self: false,
                    how: How::ReplacedDir,
                }),
        )
        .collect();
    cuts.sort_by(|a, b| path_cmp(a.path, b.path));
    // Targets of the hard links underneath: if one goes, its links keep its content.
    let targets: HashSet<&[u8]> = lower
        .records
        .iter()
        .filter(|r| r.kind == Kind::Hardlink)
        .filter_map(|r| lower.link(r))
        .collect();
    let mut gone: HashMap<Vec<u8>, Record> = HashMap::new();

    let mut out = LayerIndex {
        arena: Vec::with_capacity(lower.arena.len() + upper.arena.len()),
        records: Vec::with_capacity(lower.records.len() + upper.records.len()),
        ..LayerIndex::default()
    };
    let mut take = |from: &LayerIndex, r: &Record, layer: u16, created: u16| {
        let mut r = *r;
        let start = out.arena.len();
        out.arena.extend_from_slice(from.path(&r));
        r.path_start = start as u32;
        if let Some(link) = from.link(&r) {
            r.link_start = out.arena.len() as u32;
            out.arena.extend_from_slice(link);
        }
        r.layer = layer;
        r.created = created;
        // Past the index's 4 GiB of path bytes the rest is dropped, as a tar past it is.
        if out.arena.len() <= (u32::MAX as usize) - (1 << 20) {
            out.records.push(r);
        }
    };
    let mut ups = upper.records.iter().peekable();
    let mut next_cut = 0;
    let mut active: Option<&Cut> = None;
    // A directory the upper layer writes again keeps the layer that made it; set when the
    // lower one is met, used by the upper entry of that path (the next one taken).
    let mut made: Option<u16> = None;
    for low in &lower.records {
        let lp = lower.path(low);
        while let Some(u) = ups.next_if(|u| path_cmp(upper.path(u), lp).is_lt()) {
            take(upper, u, no, made.take().unwrap_or(no));
        }
        // Cuts are in the same depth-first order: a cut's subtree is the run right after it,
        // so the outermost cut covering this path is the one still active.
        if active.is_some_and(|c| c.path != lp && !is_below(lp, c.path)) {
            active = None;
        }
        while next_cut < cuts.len() && path_cmp(cuts[next_cut].path, lp).is_le() {
            let c = &cuts[next_cut];
            if active.is_none() && (c.path == lp || is_below(lp, c.path)) {
                active = Some(c);
            }
            next_cut += 1;
        }
        let cut = active.is_some_and(|c| is_below(lp, c.path) || (c.with_self && c.path == lp));
        let replaced = ups.peek().filter(|u| upper.path(u) == lp);
        if cut || replaced.is_some() {
            if low.kind != Kind::Dir && low.size > 0 {
                hidden.push(HiddenCopy {
                    path: lp.to_vec(),
                    size: low.size,
                    layer: low.layer,
                    hidden_by: no,
                    how: match active {
                        Some(c) if cut => c.how,
                        _ => How::Overwritten,
                    },
                });
            }
            if !cut
                && low.kind == Kind::Dir
                && replaced.is_some_and(|u| u.kind == Kind::Dir)
                && low.created != NO_LAYER
            {
                made = Some(low.created);
            }
            if targets.contains(lp) {
                gone.insert(lp.to_vec(), *low);
            }
            continue;
        }
        take(lower, low, low.layer, low.created);
    }
    for u in ups {
        take(upper, u, no, made.take().unwrap_or(no));
    }
    if !gone.is_empty() {
        let heirs = keep_linked_content(&mut out, &gone, no);
        // Its bytes live on under a link's name: hidden only when that one is.
        if !heirs.is_empty() {
            hidden.retain(|h| h.hidden_by != no || !heirs.contains(h.path.as_slice()));
        }
    }
    out
}

/// Hard links (from layers underneath) whose target just went: the first becomes the file
/// it linked to, the others link to it. Returns the targets whose content a link kept.
fn keep_linked_content(
    out: &mut LayerIndex,
    gone: &HashMap<Vec<u8>, Record>,
    upper: u16,
) -> HashSet<Vec<u8>> {
    // Target path -> the path of the link that took its place.
    let mut heir: HashMap<Vec<u8>, (u32, u32)> = HashMap::new();
    let LayerIndex { arena, records, .. } = out;
    for r in records.iter_mut() {
        // A link of the new layer names the new layer's own entry.
        if r.kind != Kind::Hardlink || r.layer == upper || r.link_start == NONE {
            continue;
        }
        let target = &arena[r.link_start as usize..(r.link_start + r.link_len) as usize];
        let Some(old) = gone.get(target) else {
            continue;
        };
        match heir.get(target) {
            Some(&(s, l)) => {
                r.link_start = s;
                r.link_len = l;
            }
            None => {
                heir.insert(target.to_vec(), (r.path_start, r.path_len));
                r.kind = old.kind;
                r.size = old.size;
                r.hash = old.hash;
                r.flags = old.flags;
                r.link_start = NONE;
                r.link_len = 0;
            }
        }
    }
    heir.into_keys().collect()
}

/// The on-disk form of a [`LayerIndex`] (for the layer cache): like the index's codec, the
/// tables as they are, behind a magic, followed by an xxh3 checksum; read without trust.
pub mod layer_codec {
    use std::io::Write;

    use xxhash_rust::xxh3::xxh3_64;

    use super::super::codec::{Cursor, Summed, put_record};
    use super::{LayerIndex, Progress};

    // Version 3: each record also says the layer that made it.
    const MAGIC: &[u8; 8] = b"SSLX\x00\x00\x00\x03";

    pub fn encode(l: &LayerIndex) -> Vec<u8> {
        let mut out = Vec::with_capacity(l.arena.len() + l.records.len() * 60 + 64);
        // Writing into a Vec cannot fail.
        let _ = encode_to(l, &mut out);
        out
    }

    /// Writes the layer's bytes to `w` as they are made (see [`super::super::codec::encode_to`]).
    pub(crate) fn encode_to(l: &LayerIndex, w: impl Write) -> std::io::Result<()> {
        let mut out = Summed::new(w);
        out.write_all(MAGIC)?;
        for v in [
            l.arena.len(),
            l.records.len(),
            l.deleted.len(),
            l.opaque.len(),
        ] {
            out.write_all(&(v as u64).to_le_bytes())?;
        }
        for v in [l.progress.entries, l.progress.bytes, l.stream_size] {
            out.write_all(&v.to_le_bytes())?;
        }
        out.write_all(&l.arena)?;
        for r in &l.records {
            put_record(&mut out, r)?;
        }
        for &(s, n) in l.deleted.iter().chain(&l.opaque) {
            out.write_all(&s.to_le_bytes())?;
            out.write_all(&n.to_le_bytes())?;
        }
        out.finish()
    }

    /// Bytes of a file's head that [`stream_size`] reads.
    pub const HEAD: usize = 8 + 7 * 8;

    /// The layer's size in a save stream, from the head of its encoded form (unchecked: the
    /// whole file is checked when read).
    pub(crate) fn stream_size(head: &[u8]) -> Option<u64> {
        if head.get(..8)? != MAGIC {
            return None;
        }
        Some(u64::from_le_bytes(head.get(56..64)?.try_into().ok()?))
    }

    pub fn decode(bytes: &[u8]) -> Option<LayerIndex> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        if u64::from_le_bytes(sum.try_into().ok()?) != xxh3_64(body) {
            return None;
        }
        let mut c = Cursor { buf: body };
        if c.take(8)? != MAGIC {
            return None;
        }
        let mut len = || c.u64().and_then(|v| usize::try_from(v).ok());
        let (arena_len, n, n_deleted, n_opaque) = (len()?, len()?, len()?, len()?);
        let progress = Progress {
            entries: c.u64()?,
            bytes: c.u64()?,
        };
        let stream_size = c.u64()?;
        if arena_len > u32::MAX as usize || c.buf.len() < arena_len {
            return None;
        }
        let arena = c.take(arena_len)?.to_vec();
        let records = c.records(n, arena_len)?;
        let pairs = |c: &mut Cursor, k: usize| -> Option<Vec<(u32, u32)>> {
            let v = c.u32s(k.checked_mul(2)?)?;
            let out: Vec<(u32, u32)> = v.chunks_exact(2).map(|p| (p[0], p[1])).collect();
            out.iter()
                .all(|&(s, l)| (s as usize).saturating_add(l as usize) <= arena_len)
                .then_some(out)
        };
        let deleted = pairs(&mut c, n_deleted)?;
        let opaque = pairs(&mut c, n_opaque)?;
        if !c.buf.is_empty() {
            return None;
        }
        Some(LayerIndex {
            arena,
            records,
            deleted,
            opaque,
            progress,
            stream_size,
        })
    }
}
