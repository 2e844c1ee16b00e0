//! The files pane's tree: an [`FsIndex`] as a [`TreeSource`] (sorted by name or size,
//! filtered by a glob or a substring) under the shared [`LazyTree`], so only the children of
//! expanded directories become rows and a 100k-entry image costs what is open, not what is in
//! the image. Rows carry the index's own ids ([`EntryId`]). The view owns no reference to the
//! index: a model can hold both, and every method takes the index it was made from.

mod lazy;

use globset::{Glob, GlobMatcher};

use super::index::{EntryId, FsIndex, Kind, ROOT};
pub use lazy::{LazyTree, Row, TreeSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Byte order of the names (the index order).
    #[default]
    Name,
    /// Largest subtree first; ties by name.
    Size,
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

/// The index as the lazy tree reads it, in the view's order and through its filter.
struct Source<'a> {
    ix: &'a FsIndex,
    sort: SortBy,
    /// With a filter: the entries that match or hold a match.
    keep: Option<&'a [bool]>,
}

impl TreeSource for Source<'_> {
    fn children(&self, node: Option<EntryId>, out: &mut Vec<EntryId>) {
        let start = out.len();
        out.extend_from_slice(self.ix.children_of(node.unwrap_or(ROOT)));
        if self.sort == SortBy::Size {
            // Index order is name order, and the sort is stable: ties stay by name.
            out[start..].sort_by_key(|&c| std::cmp::Reverse(self.ix.get(c).total()));
        }
    }

    fn has_children(&self, node: EntryId) -> bool {
        self.ix.children_of(node).iter().any(|&c| self.shown(c))
    }

    fn parent(&self, node: EntryId) -> Option<EntryId> {
        self.ix.get(node).parent().filter(|&p| p != ROOT)
    }

    fn shown(&self, node: EntryId) -> bool {
        self.keep
            .is_none_or(|k| k.get(node as usize).copied().unwrap_or(false))
    }
}

/// The files pane's tree: the shared lazy view plus what only an index has, its sort and its
/// glob or substring filter.
#[derive(Debug, Clone, Default)]
pub struct TreeView {
    sort: SortBy,
    /// With a filter: the entries that match or hold a match.
    keep: Option<Vec<bool>>,
    tree: LazyTree,
}

impl TreeView {
    /// The root's children, collapsed.
    pub fn new(ix: &FsIndex) -> TreeView {
        TreeView::reopen(ix, SortBy::Name, &[])
    }

    /// A view of `ix` sorted by `sort` with the directories at `expanded` (paths) open: how
    /// a view follows its index when a newer snapshot of the same stream replaces it.
    pub fn reopen(ix: &FsIndex, sort: SortBy, expanded: &[Vec<u8>]) -> TreeView {
        let mut v = TreeView {
            sort,
            keep: None,
            tree: LazyTree::with_nodes(ix.len()),
        };
        for p in expanded {
            if let Some(id) = ix.lookup(p) {
                v.tree.set_expanded(id, true);
            }
        }
        let (src, tree) = v.parts(ix);
        tree.rebuild(&src);
        v
    }

    fn source<'a>(&'a self, ix: &'a FsIndex) -> Source<'a> {
        Source {
            ix,
            sort: self.sort,
            keep: self.keep.as_deref(),
        }
    }

    /// The source and the lazy tree apart, so the tree can change while the source reads
    /// the sort and the filter.
    fn parts<'a>(&'a mut self, ix: &'a FsIndex) -> (Source<'a>, &'a mut LazyTree) {
        let src = Source {
            ix,
            sort: self.sort,
            keep: self.keep.as_deref(),
        };
        (src, &mut self.tree)
    }

    /// Paths of the expanded directories (for [`TreeView::reopen`]).
    pub fn expanded_paths(&self, ix: &FsIndex) -> Vec<Vec<u8>> {
        self.tree
            .expanded_ids()
            .filter(|&i| (i as usize) < ix.len())
            .map(|i| ix.get(i).path().to_vec())
            .collect()
    }

    pub fn rows(&self) -> &[Row] {
        self.tree.rows()
    }

    pub fn sort(&self) -> SortBy {
        self.sort
    }

    pub fn is_expanded(&self, id: EntryId) -> bool {
        self.tree.is_expanded(id)
    }

    /// The selected row's index.
    pub fn selected(&self) -> usize {
        self.tree.selected()
    }

    /// Selects row `row`, or the last row when there are fewer.
    pub fn select(&mut self, row: usize) {
        self.tree.select(row);
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.tree.selected_row()
    }

    /// The children of `id` that are shown, in the current order.
    pub fn visible_children(&self, ix: &FsIndex, id: EntryId) -> Vec<EntryId> {
        LazyTree::visible_children(&self.source(ix), Some(id))
    }

    /// Recomputes the rows; the selection stays on its row, as the pane always had it when
    /// the whole tree changes under it.
    fn rebuild(&mut self, ix: &FsIndex) {
        let at = self.tree.selected();
        let (src, tree) = self.parts(ix);
        tree.rebuild(&src);
        tree.select(at);
    }

    /// Expands the directory on row `row` (only its rows are computed). No-op elsewhere.
    pub fn expand(&mut self, ix: &FsIndex, row: usize) {
        let (src, tree) = self.parts(ix);
        tree.expand(&src, row);
    }

    /// Collapses row `row`: its descendants' rows go, their own expanded state stays.
    pub fn collapse(&mut self, row: usize) {
        self.tree.collapse(row);
    }

    pub fn toggle(&mut self, ix: &FsIndex, row: usize) {
        let (src, tree) = self.parts(ix);
        tree.toggle(&src, row);
    }

    /// Left on the selected row: closes it when open, else selects its directory's row.
    pub fn collapse_or_parent(&mut self, ix: &FsIndex) {
        let (src, tree) = self.parts(ix);
        tree.collapse_or_parent(&src);
    }

    /// The row showing `id`, if visible.
    pub fn row_of(&self, id: EntryId) -> Option<usize> {
        self.tree.row_of(id)
    }

    /// Opens the directories above `id` and selects it, when the filter shows it.
    pub fn reveal(&mut self, ix: &FsIndex, id: EntryId) {
        let (src, tree) = self.parts(ix);
        tree.reveal(&src, id);
    }

    pub fn expand_all(&mut self, ix: &FsIndex) {
        for e in ix.entries() {
            if !ix.children_of(e.id).is_empty() {
                self.tree.set_expanded(e.id, true);
            }
        }
        self.rebuild(ix);
    }

    pub fn collapse_all(&mut self, ix: &FsIndex) {
        self.tree.close_all();
        self.rebuild(ix);
    }

    /// Sorts the rows; the selection follows its entry.
    pub fn set_sort(&mut self, ix: &FsIndex, sort: SortBy) {
        if self.sort != sort {
            self.sort = sort;
            let (src, tree) = self.parts(ix);
            tree.rebuild(&src);
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
                        self.tree.set_expanded(p, true);
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
