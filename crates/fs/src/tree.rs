//! A lazy tree over an [`FsIndex`]: only the children of expanded directories become rows,
//! so a 100k-entry image costs what is on screen, not what is in the image. Rows carry small
//! integer ids ([`EntryId`]) for the tree widget. The view owns no reference to the index:
//! a model can hold both, and every method takes the index it was made from.

use globset::{Glob, GlobMatcher};

use super::index::{EntryId, FsIndex, Kind, ROOT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Byte order of the names (the index order).
    #[default]
    Name,
    /// Largest subtree first; ties by name.
    Size,
}

/// One visible line of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub id: EntryId,
    /// 0 for the children of the root.
    pub depth: u16,
    pub expanded: bool,
    pub has_children: bool,
}

/// What `/` typed: a glob (when the text holds `*?[{`), else a case-insensitive substring of
/// the name. A glob with a `/` matches the whole path, otherwise the name.
#[derive(Debug, Clone)]
pub enum Filter {
    Glob {
        matcher: GlobMatcher,
        whole_path: bool,
    },
    Substring(Vec<u8>),
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, globset::Error> {
        if text.contains(['*', '?', '[', '{']) {
            let whole_path = text.contains('/');
            let pat = text.trim_start_matches('/');
            let matcher = Glob::new(pat)?.compile_matcher();
            Ok(Filter::Glob {
                matcher,
                whole_path,
            })
        } else {
            Ok(Filter::Substring(text.to_ascii_lowercase().into_bytes()))
        }
    }

    pub fn matches(&self, ix: &FsIndex, id: EntryId) -> bool {
        let e = ix.get(id);
        match self {
            Filter::Glob {
                matcher,
                whole_path,
            } => {
                use std::os::unix::ffi::OsStrExt;
                let bytes = if *whole_path { e.path() } else { e.name() };
                matcher.is_match(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
            }
            Filter::Substring(needle) => {
                needle.is_empty()
                    || e.name()
                        .to_ascii_lowercase()
                        .windows(needle.len())
                        .any(|w| w == needle.as_slice())
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TreeView {
    sort: SortBy,
    expanded: Vec<bool>,
    /// With a filter: the entries that match or hold a match.
    keep: Option<Vec<bool>>,
    rows: Vec<Row>,
}

impl TreeView {
    /// The root's children, collapsed.
    pub fn new(ix: &FsIndex) -> TreeView {
        let mut v = TreeView {
            sort: SortBy::Name,
            expanded: vec![false; ix.len()],
            keep: None,
            rows: Vec::new(),
        };
        v.rebuild(ix);
        v
    }

    /// A view of `ix` sorted by `sort` with the directories at `expanded` (paths) open: how
    /// a view follows its index when a newer snapshot of the same stream replaces it.
    pub fn reopen(ix: &FsIndex, sort: SortBy, expanded: &[Vec<u8>]) -> TreeView {
        let mut v = TreeView {
            sort,
            expanded: vec![false; ix.len()],
            keep: None,
            rows: Vec::new(),
        };
        for p in expanded {
            if let Some(id) = ix.lookup(p) {
                v.expanded[id as usize] = true;
            }
        }
        v.rebuild(ix);
        v
    }

    /// Paths of the expanded directories (for [`TreeView::reopen`]).
    pub fn expanded_paths(&self, ix: &FsIndex) -> Vec<Vec<u8>> {
        self.expanded
            .iter()
            .enumerate()
            .filter(|&(i, &x)| x && i < ix.len())
            .map(|(i, _)| ix.get(i as EntryId).path().to_vec())
            .collect()
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn sort(&self) -> SortBy {
        self.sort
    }

    pub fn is_expanded(&self, id: EntryId) -> bool {
        self.expanded.get(id as usize).copied().unwrap_or(false)
    }

    fn shown(&self, id: EntryId) -> bool {
        self.keep
            .as_ref()
            .is_none_or(|k| k.get(id as usize).copied().unwrap_or(false))
    }

    /// The children of `id` that are shown, in the current order.
    pub fn visible_children(&self, ix: &FsIndex, id: EntryId) -> Vec<EntryId> {
        let mut kids: Vec<EntryId> = ix
            .children_of(id)
            .iter()
            .copied()
            .filter(|&c| self.shown(c))
            .collect();
        if self.sort == SortBy::Size {
            // Index order is name order, and the sort is stable: ties stay by name.
            kids.sort_by_key(|&c| std::cmp::Reverse(ix.get(c).total()));
        }
        kids
    }

    fn has_visible_children(&self, ix: &FsIndex, id: EntryId) -> bool {
        ix.children_of(id).iter().any(|&c| self.shown(c))
    }

    /// Rows of the expanded subtree under `id`, depth-first, without `id` itself.
    fn subtree_rows(&self, ix: &FsIndex, id: EntryId, depth: u16, out: &mut Vec<Row>) {
        // An explicit stack: a hostile image may nest far deeper than the call stack allows.
        let mut stack: Vec<(EntryId, u16)> = self
            .visible_children(ix, id)
            .into_iter()
            .rev()
            .map(|c| (c, depth))
            .collect();
        while let Some((c, d)) = stack.pop() {
            let expanded = self.is_expanded(c);
            out.push(Row {
                id: c,
                depth: d,
                expanded,
                has_children: self.has_visible_children(ix, c),
            });
            if expanded {
                let kids = self.visible_children(ix, c);
                stack.extend(kids.into_iter().rev().map(|k| (k, d.saturating_add(1))));
            }
        }
    }

    fn rebuild(&mut self, ix: &FsIndex) {
        let mut rows = Vec::new();
        self.subtree_rows(ix, ROOT, 0, &mut rows);
        self.rows = rows;
    }

    /// Expands the directory on row `row` (only its rows are computed). No-op elsewhere.
    pub fn expand(&mut self, ix: &FsIndex, row: usize) {
        let Some(r) = self.rows.get(row).copied() else {
            return;
        };
        if r.expanded || !r.has_children {
            return;
        }
        self.expanded[r.id as usize] = true;
        self.rows[row].expanded = true;
        let mut sub = Vec::new();
        self.subtree_rows(ix, r.id, r.depth.saturating_add(1), &mut sub);
        self.rows.splice(row + 1..row + 1, sub);
    }

    /// Collapses row `row`: its descendants' rows go, their own expanded state stays.
    pub fn collapse(&mut self, row: usize) {
        let Some(r) = self.rows.get(row).copied() else {
            return;
        };
        if !r.expanded {
            return;
        }
        self.expanded[r.id as usize] = false;
        self.rows[row].expanded = false;
        let end = self.rows[row + 1..]
            .iter()
            .position(|x| x.depth <= r.depth)
            .map_or(self.rows.len(), |p| row + 1 + p);
        self.rows.drain(row + 1..end);
    }

    pub fn toggle(&mut self, ix: &FsIndex, row: usize) {
        match self.rows.get(row) {
            Some(r) if r.expanded => self.collapse(row),
            Some(_) => self.expand(ix, row),
            None => {}
        }
    }

    /// The row showing `id`, if visible.
    pub fn row_of(&self, id: EntryId) -> Option<usize> {
        self.rows.iter().position(|r| r.id == id)
    }

    pub fn expand_all(&mut self, ix: &FsIndex) {
        for e in ix.entries() {
            if !ix.children_of(e.id).is_empty() {
                self.expanded[e.id as usize] = true;
            }
        }
        self.rebuild(ix);
    }

    pub fn collapse_all(&mut self, ix: &FsIndex) {
        self.expanded.iter_mut().for_each(|x| *x = false);
        self.rebuild(ix);
    }

    pub fn set_sort(&mut self, ix: &FsIndex, sort: SortBy) {
        if self.sort != sort {
            self.sort = sort;
            self.rebuild(ix);
        }
    }

    /// Shows only matches and the directories that lead to them (opened), or everything
    /// again with `None`.
    pub fn set_filter(&mut self, ix: &FsIndex, filter: Option<&Filter>) {
        self.keep = filter.map(|f| {
            let mut keep = vec![false; ix.len()];
            keep[ROOT as usize] = true;
            // Children come after their parents: one reverse pass marks the ancestors.
            for e in ix.entries().collect::<Vec<_>>().into_iter().rev() {
                let i = e.id as usize;
                if !keep[i] && f.matches(ix, e.id) {
                    keep[i] = true;
                }
                if keep[i]
                    && let Some(p) = e.parent()
                {
                    if p != ROOT && !keep[p as usize] {
                        self.expanded[p as usize] = true;
                    }
                    keep[p as usize] = true;
                }
            }
            keep
        });
        self.rebuild(ix);
    }
}

/// The `n` largest regular files, largest first (ties by path order).
pub fn largest_files(ix: &FsIndex, n: usize) -> Vec<EntryId> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    if n == 0 {
        return Vec::new();
    }
    // A min-heap of the best n so far: O(entries * log n), no full sort.
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<EntryId>)>> = BinaryHeap::with_capacity(n + 1);
    for e in ix.entries().filter(|e| e.kind() == Kind::File) {
        heap.push(Reverse((e.size(), Reverse(e.id))));
        if heap.len() > n {
            heap.pop();
        }
    }
    let mut out: Vec<_> = heap.into_iter().map(|Reverse(x)| x).collect();
    out.sort_by(|a, b| b.cmp(a));
    out.into_iter().map(|(_, Reverse(id))| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{IndexBuilder, Meta};

    fn index(files: &[(&str, u64)]) -> FsIndex {
        let mut b = IndexBuilder::new();
        for (p, size) in files {
            let kind = if p.ends_with('/') {
                Kind::Dir
            } else {
                Kind::File
            };
            b.add(p.as_bytes(), kind, Meta::new(*size, 0o644), None, 0)
                .expect("add");
        }
        b.finish()
    }

    fn shown(ix: &FsIndex, v: &TreeView) -> Vec<String> {
        v.rows()
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    "  ".repeat(r.depth as usize),
                    String::from_utf8_lossy(ix.get(r.id).name())
                )
            })
            .collect()
    }

    fn sample() -> FsIndex {
        index(&[
            ("usr/bin/big", 900),
            ("usr/bin/small", 10),
            ("usr/lib/libc.so", 500),
            ("etc/passwd", 20),
            ("empty/", 0),
            ("zz", 1000),
        ])
    }

    #[test]
    fn starts_collapsed_and_expands_lazily() {
        let ix = sample();
        let mut v = TreeView::new(&ix);
        assert_eq!(shown(&ix, &v), ["empty", "etc", "usr", "zz"]);
        assert!(!v.rows()[0].has_children);
        v.expand(&ix, 2);
        assert_eq!(
            shown(&ix, &v),
            ["empty", "etc", "usr", "  bin", "  lib", "zz"]
        );
        v.expand(&ix, 3);
        v.collapse(2);
        assert_eq!(shown(&ix, &v), ["empty", "etc", "usr", "zz"]);
        // Reopening usr restores bin as it was left: open.
        v.toggle(&ix, 2);
        assert_eq!(
            shown(&ix, &v),
            [
                "empty",
                "etc",
                "usr",
                "  bin",
                "    big",
                "    small",
                "  lib",
                "zz"
            ]
        );
    }

    #[test]
    fn sorts_by_size() {
        let ix = sample();
        let mut v = TreeView::new(&ix);
        v.set_sort(&ix, SortBy::Size);
        assert_eq!(shown(&ix, &v), ["usr", "zz", "etc", "empty"]);
        v.expand_all(&ix);
        assert_eq!(v.rows().len(), ix.len() - 1);
        v.collapse_all(&ix);
        assert_eq!(v.rows().len(), 4);
    }

    #[test]
    fn filters_by_name_and_glob() {
        let ix = sample();
        let mut v = TreeView::new(&ix);
        v.set_filter(&ix, Some(&Filter::parse("SMA").expect("filter")));
        assert_eq!(shown(&ix, &v), ["usr", "  bin", "    small"]);
        v.set_filter(&ix, Some(&Filter::parse("*.so").expect("filter")));
        assert_eq!(shown(&ix, &v), ["usr", "  lib", "    libc.so"]);
        v.set_filter(&ix, Some(&Filter::parse("/usr/bin/*").expect("filter")));
        assert_eq!(shown(&ix, &v), ["usr", "  bin", "    big", "    small"]);
        v.set_filter(&ix, None);
        assert_eq!(shown(&ix, &v)[0], "empty");
    }

    #[test]
    fn largest_files_first() {
        let ix = sample();
        let names: Vec<_> = largest_files(&ix, 3)
            .into_iter()
            .map(|id| String::from_utf8_lossy(ix.get(id).path()).into_owned())
            .collect();
        assert_eq!(names, ["zz", "usr/bin/big", "usr/lib/libc.so"]);
        assert!(largest_files(&ix, 0).is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let deep = "d/".repeat(50_000);
        let ix = index(&[(&format!("{deep}f"), 1)]);
        let mut v = TreeView::new(&ix);
        v.expand_all(&ix);
        assert_eq!(v.rows().len(), 50_001);
    }
}
