//! A compact binary form of a finished [`FsIndex`], for the on-disk cache: the arrays as
//! they are in memory, little-endian, behind a magic and followed by an xxh3 checksum.
//!
//! Reading never trusts the bytes: a truncated, corrupt or foreign file is refused (`None`),
//! never a panic later, because every id and range is checked against the sizes once.

use std::io::Write;

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use super::{FsIndex, Kind, NONE, Progress, Record};

// Version 2 adds the content-sniffing flags byte to each record, 3 the layer that wrote it, 4
// the layer that made it.
const MAGIC: &[u8; 8] = b"SSIX\x00\x00\x00\x04";

fn kind_byte(k: Kind) -> u8 {
    match k {
        Kind::File => 0,
        Kind::Dir => 1,
        Kind::Symlink => 2,
        Kind::Hardlink => 3,
        Kind::Other => 4,
    }
}

fn byte_kind(b: u8) -> Option<Kind> {
    Some(match b {
        0 => Kind::File,
        1 => Kind::Dir,
        2 => Kind::Symlink,
        3 => Kind::Hardlink,
        4 => Kind::Other,
        _ => return None,
    })
}

/// The index as bytes (the tests' and small callers' form of [`encode_to`]).
pub fn encode(ix: &FsIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(ix.arena.len() + ix.records.len() * 90 + 64);
    // Writing into a Vec cannot fail.
    let _ = encode_to(ix, &mut out);
    out
}

/// Writes the index's bytes to `w` as they are made: the disk cache streams them to its
/// file, so storing an index never holds a second copy of it in memory.
pub(crate) fn encode_to(ix: &FsIndex, w: impl Write) -> std::io::Result<()> {
    let mut out = Summed::new(w);
    out.write_all(MAGIC)?;
    for v in [
        ix.arena.len() as u64,
        ix.records.len() as u64,
        ix.children.len() as u64,
        ix.progress.entries,
        ix.progress.bytes,
    ] {
        out.write_all(&v.to_le_bytes())?;
    }
    out.write_all(&ix.arena)?;
    for r in &ix.records {
        put_record(&mut out, r)?;
    }
    for arr in [&ix.parent, &ix.child_start, &ix.children, &ix.count] {
        for v in arr.iter() {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    for v in &ix.total {
        out.write_all(&v.to_le_bytes())?;
    }
    out.finish()
}

/// A writer that checksums what passes through it and, at the end, writes the checksum.
pub(super) struct Summed<W: Write> {
    inner: std::io::BufWriter<W>,
    hash: Xxh3,
}

impl<W: Write> Summed<W> {
    pub(super) fn new(w: W) -> Self {
        Summed {
            inner: std::io::BufWriter::with_capacity(64 << 10, w),
            hash: Xxh3::new(),
        }
    }

    /// Writes the checksum of everything written so far, and flushes.
    pub(super) fn finish(mut self) -> std::io::Result<()> {
        let sum = self.hash.digest();
        self.inner.write_all(&sum.to_le_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(super) fn put_record(out: &mut impl Write, r: &Record) -> std::io::Result<()> {
    let mut b = [0u8; RECORD_BYTES];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        b[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    for v in [r.path_start, r.path_len, r.link_start, r.link_len] {
        put(&v.to_le_bytes());
    }
    for v in [r.size, r.mtime, r.hash] {
        put(&v.to_le_bytes());
    }
    for v in [r.mode, r.uid, r.gid] {
        put(&v.to_le_bytes());
    }
    put(&[kind_byte(r.kind), r.flags]);
    put(&r.layer.to_le_bytes());
    put(&r.created.to_le_bytes());
    out.write_all(&b)
}

/// Bytes of one encoded record.
const RECORD_BYTES: usize = 4 * 4 + 3 * 8 + 3 * 4 + 2 + 2 + 2;

pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    /// `n` records whose paths and links lie within an arena of `arena_len` bytes.
    pub(super) fn records(&mut self, n: usize, arena_len: usize) -> Option<Vec<Record>> {
        if self.buf.len() < n.checked_mul(RECORD_BYTES)? {
            return None;
        }
        let in_arena = |s: u32, l: u32| {
            (s as usize)
                .checked_add(l as usize)
                .is_some_and(|e| e <= arena_len)
        };
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let path_start = self.u32()?;
            let path_len = self.u32()?;
            let link_start = self.u32()?;
            let link_len = self.u32()?;
            let size = self.u64()?;
            let mtime = self.u64()?;
            let hash = self.u64()?;
            let mode = self.u32()?;
            let uid = self.u32()?;
            let gid = self.u32()?;
            let kind = byte_kind(self.take(1)?[0])?;
            let flags = self.take(1)?[0];
            let layer = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
            let created = u16::from_le_bytes(self.take(2)?.try_into().ok()?);
            if !in_arena(path_start, path_len)
                || (link_start != NONE && !in_arena(link_start, link_len))
            {
                return None;
            }
            records.push(Record {
                path_start,
                path_len,
                link_start,
                link_len,
                size,
                mtime,
                hash,
                mode,
                uid,
                gid,
                kind,
                flags,
                layer,
                created,
            });
        }
        Some(records)
    }

    pub(super) fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        let bytes = self.take(n.checked_mul(4)?)?;
        Some(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }
}

/// The index back from [`encode`]'s bytes, or `None` when they are not a sound index.
pub fn decode(bytes: &[u8]) -> Option<FsIndex> {
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if u64::from_le_bytes(sum.try_into().ok()?) != xxh3_64(body) {
        return None;
    }
    let mut c = Cursor { buf: body };
    if c.take(8)? != MAGIC {
        return None;
    }
    let arena_len = usize::try_from(c.u64()?).ok()?;
    let n = usize::try_from(c.u64()?).ok()?;
    let n_children = usize::try_from(c.u64()?).ok()?;
    let progress = Progress {
        entries: c.u64()?,
        bytes: c.u64()?,
    };
    // Sizes must match what the rest of the bytes can hold before anything is allocated.
    if n == 0 || n_children != n - 1 || n > u32::MAX as usize || c.buf.len() < arena_len {
        return None;
    }
    let arena = c.take(arena_len)?.to_vec();
    let records = c.records(n, arena_len)?;
    let parent = c.u32s(n)?;
    let child_start = c.u32s(n + 1)?;
    let children = c.u32s(n_children)?;
    let count = c.u32s(n)?;
    let total_bytes = c.take(n.checked_mul(8)?)?;
    let total = total_bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    if !c.buf.is_empty() {
        return None;
    }
    let id_ok = |v: &u32| (*v as usize) < n;
    let sound = parent[0] == NONE
        && parent[1..].iter().all(id_ok)
        && children.iter().all(id_ok)
        && child_start.windows(2).all(|w| w[0] <= w[1])
        && child_start[n] as usize == n_children;
    if !sound {
        return None;
    }
    Some(FsIndex {
        arena,
        records,
        parent,
        child_start,
        children,
        total,
        count,
        progress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IndexBuilder, Meta};

    fn sample() -> FsIndex {
        let mut b = IndexBuilder::new();
        b.add(
            b"usr/bin/env",
            Kind::File,
            Meta {
                size: 10,
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: 7,
            },
            None,
            42,
        )
        .expect("add");
        b.add(
            b"bin/sh",
            Kind::Symlink,
            Meta::new(0, 0o777),
            Some(b"busybox"),
            0,
        )
        .expect("add");
        b.add(
            b"bad\xff\n",
            Kind::File,
            Meta {
                size: 3,
                mode: 0o4755,
                uid: 1,
                gid: 2,
                mtime: 3,
            },
            None,
            9,
        )
        .expect("add");
        b.finish()
    }

    #[test]
    fn round_trips() {
        let ix = sample();
        let back = decode(&encode(&ix)).expect("decode");
        assert_eq!(back.len(), ix.len());
        for (a, b) in ix.entries().zip(back.entries()) {
            assert_eq!(a.path(), b.path());
            assert_eq!(a.link(), b.link());
            assert_eq!(
                (a.kind(), a.size(), a.mode(), a.uid(), a.gid(), a.hash()),
                (b.kind(), b.size(), b.mode(), b.uid(), b.gid(), b.hash())
            );
            assert_eq!(a.children(), b.children());
            assert_eq!(a.total(), b.total());
        }
        assert_eq!(back.lookup(b"usr/bin/env"), ix.lookup(b"usr/bin/env"));
    }

    #[test]
    fn refuses_damaged_bytes() {
        let bytes = encode(&sample());
        assert!(decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode(&[]).is_none());
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x55;
            assert!(decode(&bad).is_none(), "flip at {i} accepted");
        }
    }
}
