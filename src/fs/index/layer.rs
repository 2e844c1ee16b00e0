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

    /// Bytes held on the heap, for the memory bound of the layer cache.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.records.capacity() * std::mem::size_of::<Record>()
            + (self.deleted.capacity() + self.opaque.capacity()) * 8
    }

    /// What the layer did, as [`crate::fs::layers::Layer`] says it (for "added by").
    pub fn summary(&self) -> crate::fs::layers::Layer {
        crate::fs::layers::Layer {
            added: self.records.iter().map(|r| self.path(r).to_vec()).collect(),
            sizes: self
                .records
                .iter()
                .map(|r| (r.kind != Kind::Dir).then_some(r.size))
                .collect(),
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
            created_by: None,
            unreadable: false,
        }
    }
}

/// An entry of the composition so far: a record and the layer whose arena it points into.
#[derive(Clone, Copy)]
struct Placed {
    layer: u16,
    rec: Record,
}

/// What a layer removes from those underneath: the path itself too (a whiteout), or only
/// what is below it (an opaque directory, or a non-directory replacing a directory).
struct Cut<'a> {
    path: &'a [u8],
    with_self: bool,
}

fn is_below(p: &[u8], dir: &[u8]) -> bool {
    p.len() > dir.len() && p[dir.len()] == b'/' && p.starts_with(dir)
}

/// The filesystem the layers make, bottom first: each layer's entries over those beneath,
/// whiteouts and opaque directories applied, a non-directory hiding what was below the
/// directory it replaced. A hard link whose target a later layer replaced or deleted keeps
/// the content it linked to, as the engine's export shows it: the first such link (in
/// walk order) becomes that file, the others link to it.
pub fn compose(layers: &[&LayerIndex]) -> FsIndex {
    let mut placed: Vec<Placed> = Vec::new();
    for (i, upper) in layers.iter().enumerate() {
        let li = u16::try_from(i).unwrap_or(u16::MAX);
        placed = overlay(layers, placed, upper, li);
    }
    // One arena for the result: every path and link copied once, in order.
    let mut arena = Vec::new();
    let mut records = Vec::with_capacity(placed.len());
    let mut progress = Progress::default();
    for l in layers {
        progress.bytes += l.progress.bytes;
    }
    for p in &placed {
        let l = layers[p.layer as usize];
        let mut r = p.rec;
        let start = arena.len();
        arena.extend_from_slice(l.path(&r));
        r.path_start = start as u32;
        if let Some(link) = l.link(&r) {
            r.link_start = arena.len() as u32;
            arena.extend_from_slice(link);
        }
        records.push(r);
        if arena.len() > (u32::MAX as usize) - (1 << 20) {
            break;
        }
    }
    progress.entries = records.len() as u64;
    IndexBuilder {
        arena,
        records,
        progress,
    }
    .finish()
}

/// `upper` (layer number `li`) over the composition `lower`.
fn overlay(layers: &[&LayerIndex], lower: Vec<Placed>, upper: &LayerIndex, li: u16) -> Vec<Placed> {
    let path_of = |p: &Placed| layers[p.layer as usize].path(&p.rec);
    let mut cuts: Vec<Cut> = upper
        .deleted
        .iter()
        .map(|&d| Cut {
            path: upper.bytes(d),
            with_self: true,
        })
        .chain(upper.opaque.iter().map(|&o| Cut {
            path: upper.bytes(o),
            with_self: false,
        }))
        .chain(
            upper
                .records
                .iter()
                .filter(|r| r.kind != Kind::Dir)
                .map(|r| Cut {
                    path: upper.path(r),
                    with_self: false,
                }),
        )
        .collect();
    cuts.sort_by(|a, b| path_cmp(a.path, b.path));
    // Targets of the hard links underneath: if one goes, its links keep its content.
    let targets: HashSet<&[u8]> = lower
        .iter()
        .filter(|p| p.rec.kind == Kind::Hardlink)
        .filter_map(|p| layers[p.layer as usize].link(&p.rec))
        .collect();
    let mut gone: HashMap<Vec<u8>, Record> = HashMap::new();

    let mut out = Vec::with_capacity(lower.len() + upper.records.len());
    let mut ups = upper.records.iter().peekable();
    let mut next_cut = 0;
    let mut active: Option<&Cut> = None;
    for low in &lower {
        let lp = path_of(low);
        while let Some(u) = ups.next_if(|u| path_cmp(upper.path(u), lp).is_lt()) {
            out.push(Placed { layer: li, rec: *u });
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
        let replaced = ups.peek().is_some_and(|u| upper.path(u) == lp);
        if cut || replaced {
            if targets.contains(lp) {
                gone.insert(lp.to_vec(), low.rec);
            }
            continue;
        }
        out.push(*low);
    }
    out.extend(ups.map(|u| Placed { layer: li, rec: *u }));
    if !gone.is_empty() {
        keep_linked_content(layers, &mut out, &gone, li);
    }
    out
}

/// Hard links (from layers underneath) whose target just went: the first becomes the file
/// it linked to, the others link to it.
fn keep_linked_content(
    layers: &[&LayerIndex],
    out: &mut [Placed],
    gone: &HashMap<Vec<u8>, Record>,
    upper: u16,
) {
    // Target path -> the link that took its place (same layer, so same arena).
    let mut heir: HashMap<Vec<u8>, Record> = HashMap::new();
    for p in out.iter_mut() {
        // A link of the new layer names the new layer's own entry.
        if p.rec.kind != Kind::Hardlink || p.layer == upper {
            continue;
        }
        let l = layers[p.layer as usize];
        let Some(target) = l.link(&p.rec) else {
            continue;
        };
        let Some(old) = gone.get(target) else {
            continue;
        };
        match heir.get(target) {
            Some(first) => {
                p.rec.link_start = first.path_start;
                p.rec.link_len = first.path_len;
            }
            None => {
                heir.insert(target.to_vec(), p.rec);
                p.rec.kind = old.kind;
                p.rec.size = old.size;
                p.rec.hash = old.hash;
                p.rec.flags = old.flags;
                p.rec.link_start = NONE;
                p.rec.link_len = 0;
            }
        }
    }
}

/// The on-disk form of a [`LayerIndex`] (for the layer cache): like the index's codec, the
/// tables as they are, behind a magic, followed by an xxh3 checksum; read without trust.
pub mod layer_codec {
    use xxhash_rust::xxh3::xxh3_64;

    use super::super::codec::{Cursor, put_record};
    use super::{LayerIndex, Progress};

    const MAGIC: &[u8; 8] = b"SSLX\x00\x00\x00\x01";

    pub fn encode(l: &LayerIndex) -> Vec<u8> {
        let mut out = Vec::with_capacity(l.arena.len() + l.records.len() * 58 + 64);
        out.extend_from_slice(MAGIC);
        for v in [
            l.arena.len(),
            l.records.len(),
            l.deleted.len(),
            l.opaque.len(),
        ] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for v in [l.progress.entries, l.progress.bytes, l.stream_size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&l.arena);
        for r in &l.records {
            put_record(&mut out, r);
        }
        for &(s, n) in l.deleted.iter().chain(&l.opaque) {
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
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
