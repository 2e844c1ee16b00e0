//! The difference between two filesystems: one linear merge over two [`FsIndex`]es, which
//! are both sorted depth-first by [`path_cmp`], so every path is visited once and in the
//! order a tree shows it. Directory roll-ups come from the same pass: each entry counts into
//! its parent, and a directory folds into its own parent when the merge leaves its subtree.
//!
//! A [`Diff`] holds entry ids, not references: a model can keep it beside the two indexes.
//! Runtime mount points ([`EntryRef::is_runtime_mount_point`]) are left out: they are no
//! difference a Dockerfile made.

use std::cmp::Ordering;

use super::index::{EntryId, EntryRef, FsIndex, Kind, path_cmp};

/// What happened to one path between the left (`from`) and the right (`to`) index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
    Unchanged,
}

impl Status {
    /// The mark a unified tree shows: `+ - ~ =`.
    pub fn mark(self) -> char {
        match self {
            Status::Added => '+',
            Status::Removed => '-',
            Status::Changed => '~',
            Status::Unchanged => '=',
        }
    }
}

/// Which aspects of a path present on both sides differ (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Aspects(u8);

impl Aspects {
    pub const CONTENT: Aspects = Aspects(1);
    pub const SIZE: Aspects = Aspects(2);
    pub const MODE: Aspects = Aspects(4);
    pub const OWNER: Aspects = Aspects(8);
    pub(crate) const KIND: Aspects = Aspects(16);
    pub(crate) const LINK: Aspects = Aspects(32);
    const NAMES: [(Aspects, &'static str); 6] = [
        (Aspects::CONTENT, "content"),
        (Aspects::SIZE, "size"),
        (Aspects::MODE, "mode"),
        (Aspects::OWNER, "owner"),
        (Aspects::KIND, "type"),
        (Aspects::LINK, "link"),
    ];

    pub fn empty() -> Aspects {
        Aspects(0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, other: Aspects) -> bool {
        self.0 & other.0 == other.0
    }
    fn set(&mut self, other: Aspects, on: bool) {
        if on {
            self.0 |= other.0;
        }
    }
    /// `content`, `size`, `mode`, `owner`, `type`, `link`, in that order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Aspects::NAMES
            .into_iter()
            .filter(move |(a, _)| self.contains(*a))
            .map(|(_, n)| n)
    }

    /// The aspects in which `a` and `b` (the same path) differ.
    pub fn between(a: &EntryRef<'_>, b: &EntryRef<'_>) -> Aspects {
        let mut d = Aspects::empty();
        let kind_differs = a.kind() != b.kind();
        d.set(Aspects::KIND, kind_differs);
        d.set(Aspects::MODE, a.mode() != b.mode());
        d.set(Aspects::OWNER, a.uid() != b.uid() || a.gid() != b.gid());
        d.set(Aspects::LINK, a.link() != b.link());
        if !kind_differs && a.kind() != Kind::Dir {
            d.set(Aspects::SIZE, a.size() != b.size());
            // Hashes are of content: only files (and hard links, given their target's) have one.
            let has_content = matches!(a.kind(), Kind::File | Kind::Hardlink);
            d.set(Aspects::CONTENT, has_content && a.hash() != b.hash());
        }
        d
    }
}

impl serde::Serialize for Aspects {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// One path of the union of both indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffEntry {
    pub status: Status,
    /// Empty unless `status` is [`Status::Changed`].
    pub aspects: Aspects,
    pub left: Option<EntryId>,
    pub right: Option<EntryId>,
    /// Index into [`Diff::rollups`] when the path is a directory on either side.
    rollup: u32,
}

const NO_ROLLUP: u32 = u32::MAX;

impl DiffEntry {
    /// The entry on the side that has it (the right one when both do).
    pub fn entry<'a>(&self, left: &'a FsIndex, right: &'a FsIndex) -> EntryRef<'a> {
        match (self.right, self.left) {
            (Some(r), _) => right.get(r),
            (None, Some(l)) => left.get(l),
            (None, None) => right.root(),
        }
    }

    /// Full path without the leading slash.
    pub fn path<'a>(&self, left: &'a FsIndex, right: &'a FsIndex) -> &'a [u8] {
        self.entry(left, right).path()
    }

    /// Bytes on each side (directories weigh nothing: their subtree is in the roll-up).
    fn sizes(&self, left: &FsIndex, right: &FsIndex) -> (u64, u64) {
        let size = |ix: &FsIndex, id: Option<EntryId>| {
            id.map(|i| ix.get(i))
                .filter(|e| e.kind() != Kind::Dir)
                .map_or(0, |e| e.size())
        };
        (size(left, self.left), size(right, self.right))
    }
}

/// Counts and bytes of a subtree (the directory itself not included) or of the whole diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Rollup {
    pub added: u32,
    pub removed: u32,
    pub changed: u32,
    pub unchanged: u32,
    /// Bytes of added entries (right side).
    pub added_bytes: u64,
    /// Bytes of removed entries (left side).
    pub removed_bytes: u64,
    /// All bytes below, on each side.
    pub left_bytes: u64,
    pub right_bytes: u64,
}

impl Rollup {
    /// Right minus left, saturating at the `i64` range.
    pub fn byte_delta(&self) -> i64 {
        let d = i128::from(self.right_bytes) - i128::from(self.left_bytes);
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    /// Entries that differ.
    pub fn differences(&self) -> u32 {
        self.added + self.removed + self.changed
    }

    fn count(&mut self, status: Status, (l, r): (u64, u64)) {
        match status {
            Status::Added => {
                self.added += 1;
                self.added_bytes += r;
            }
            Status::Removed => {
                self.removed += 1;
                self.removed_bytes += l;
            }
            Status::Changed => self.changed += 1,
            Status::Unchanged => self.unchanged += 1,
        }
        self.left_bytes += l;
        self.right_bytes += r;
    }

    fn absorb(&mut self, o: &Rollup) {
        self.added += o.added;
        self.removed += o.removed;
        self.changed += o.changed;
        self.unchanged += o.unchanged;
        self.added_bytes += o.added_bytes;
        self.removed_bytes += o.removed_bytes;
        self.left_bytes += o.left_bytes;
        self.right_bytes += o.right_bytes;
    }
}

/// The whole comparison. Entries are the union of both indexes' paths (roots excluded), in
/// depth-first order.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    entries: Vec<DiffEntry>,
    rollups: Vec<Rollup>,
    totals: Rollup,
}

impl Diff {
    /// Compares `left` (e.g. the builder) with `right` (e.g. the release).
    pub fn compute(left: &FsIndex, right: &FsIndex) -> Diff {
        let (ln, rn) = (left.len() as EntryId, right.len() as EntryId);
        let mut entries = Vec::with_capacity(left.len().max(right.len()));
        let mut rollups: Vec<Rollup> = Vec::new();
        // Open directories: (path, its roll-up). The root is at the bottom.
        let mut open: Vec<(&[u8], usize)> = Vec::new();
        let mut root = Rollup::default();
        let (mut i, mut j) = (1, 1);
        while i < ln || j < rn {
            let ord = match (i < ln, j < rn) {
                (true, true) => path_cmp(left.get(i).path(), right.get(j).path()),
                (true, false) => Ordering::Less,
                _ => Ordering::Greater,
            };
            let (l, r) = match ord {
                Ordering::Less => (Some(i), None),
                Ordering::Greater => (None, Some(j)),
                Ordering::Equal => (Some(i), Some(j)),
            };
            i += u32::from(l.is_some());
            j += u32::from(r.is_some());
            // An empty /dev, /proc or /sys is where a RUN's runtime mounted its own: no change
            // anyone made, on whichever side it is.
            let runtime = [(left, l), (right, r)]
                .iter()
                .all(|(ix, id)| id.is_none_or(|id| ix.get(id).is_runtime_mount_point()));
            if runtime {
                continue;
            }
            let (status, aspects) = match (l, r) {
                (Some(a), Some(b)) => {
                    let d = Aspects::between(&left.get(a), &right.get(b));
                    let s = if d.is_empty() {
                        Status::Unchanged
                    } else {
                        Status::Changed
                    };
                    (s, d)
                }
                (Some(_), None) => (Status::Removed, Aspects::empty()),
                _ => (Status::Added, Aspects::empty()),
            };
            let mut e = DiffEntry {
                status,
                aspects,
                left: l,
                right: r,
                rollup: NO_ROLLUP,
            };
            let here = e.entry(left, right);
            let path = here.path();
            // Leave the directories this path is not inside, folding each into its parent.
            while let Some(&(dir, _)) = open.last() {
                if path.len() > dir.len() && path[dir.len()] == b'/' && path.starts_with(dir) {
                    break;
                }
                close(&mut open, &mut rollups, &mut root);
            }
            let parent = match open.last() {
                Some(&(_, k)) => &mut rollups[k],
                None => &mut root,
            };
            parent.count(status, e.sizes(left, right));
            let is_dir = [(left, l), (right, r)]
                .iter()
                .any(|(ix, id)| id.is_some_and(|id| ix.get(id).kind() == Kind::Dir));
            if is_dir {
                e.rollup = rollups.len() as u32;
                open.push((path, rollups.len()));
                rollups.push(Rollup::default());
            }
            entries.push(e);
        }
        while !open.is_empty() {
            close(&mut open, &mut rollups, &mut root);
        }
        Diff {
            entries,
            rollups,
            totals: root,
        }
    }

    /// Every path of either side, depth-first.
    pub fn entries(&self) -> &[DiffEntry] {
        &self.entries
    }

    /// Only the paths that differ.
    pub fn changes(&self) -> impl Iterator<Item = &DiffEntry> + '_ {
        self.entries
            .iter()
            .filter(|e| e.status != Status::Unchanged)
    }

    /// No path was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.totals.differences() == 0
    }

    /// The whole comparison's counts and bytes.
    pub fn totals(&self) -> &Rollup {
        &self.totals
    }

    /// The roll-up of a directory's subtree (None for other entries).
    pub fn rollup(&self, e: &DiffEntry) -> Option<&Rollup> {
        self.rollups.get(e.rollup as usize)
    }
}

fn close(open: &mut Vec<(&[u8], usize)>, rollups: &mut [Rollup], root: &mut Rollup) {
    if let Some((_, k)) = open.pop() {
        let done = rollups[k];
        match open.last() {
            Some(&(_, p)) => rollups[p].absorb(&done),
            None => root.absorb(&done),
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
