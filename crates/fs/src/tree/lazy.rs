//! The one lazy tree both full-screen panes scroll: the files pane over an [`FsIndex`]
//! and the diff pane over a comparison's entries. What a tree holds (its children, their
//! order, the filter) is the [`TreeSource`]'s; which nodes are open, the rows they make and
//! the selected row are the [`LazyTree`]'s. Only the children of expanded nodes become rows,
//! so a 100k-entry tree costs what is open, not what it holds.
//!
//! [`FsIndex`]: crate::FsIndex

/// A tree as the view reads it. Nodes are small integer ids, dense from 0, so the view's
/// open flags can be a flat vector.
pub trait TreeSource {
    /// Appends the children of `node` (`None`: the top level) in display order, shown or
    /// not: the view asks [`TreeSource::shown`] of each.
    fn children(&self, node: Option<u32>, out: &mut Vec<u32>);
    /// Whether `node` can be opened (draws a fold mark).
    fn has_children(&self, node: u32) -> bool;
    /// The node `node` is a child of; `None` at the top level.
    fn parent(&self, node: u32) -> Option<u32>;
    /// Whether the current filter keeps `node`. A node it drops hides its subtree too.
    fn shown(&self, node: u32) -> bool;
}

/// One visible line of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub id: u32,
    /// 0 at the top level.
    pub depth: u16,
    pub expanded: bool,
    pub has_children: bool,
}

/// The open nodes, the rows they make and the selected row. It holds no reference to its
/// source: a model owns both, and every method that reads the tree takes the source.
#[derive(Debug, Clone, Default)]
pub struct LazyTree {
    /// Indexed by node id; grown on demand, a missing flag is closed.
    expanded: Vec<bool>,
    rows: Vec<Row>,
    selected: usize,
}

impl LazyTree {
    /// A tree of up to `nodes` nodes, all closed, with no rows until [`LazyTree::rebuild`].
    pub(crate) fn with_nodes(nodes: usize) -> LazyTree {
        LazyTree {
            expanded: vec![false; nodes],
            rows: Vec::new(),
            selected: 0,
        }
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The selected row's index (0 when there are no rows).
    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.selected).copied()
    }

    /// Selects row `row`, or the last row when there are fewer.
    pub fn select(&mut self, row: usize) {
        self.selected = row.min(self.rows.len().saturating_sub(1));
    }

    pub fn is_expanded(&self, id: u32) -> bool {
        self.expanded.get(id as usize).copied().unwrap_or(false)
    }

    /// Marks `id` open or closed without touching the rows: several at once, then one
    /// [`LazyTree::rebuild`].
    pub(crate) fn set_expanded(&mut self, id: u32, open: bool) {
        let i = id as usize;
        if i >= self.expanded.len() {
            if !open {
                return;
            }
            self.expanded.resize(i + 1, false);
        }
        self.expanded[i] = open;
    }

    /// The open nodes, in id order.
    pub(crate) fn expanded_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.expanded
            .iter()
            .enumerate()
            .filter(|&(_, &x)| x)
            .map(|(i, _)| i as u32)
    }

    /// Closes every node (rows follow at the next rebuild).
    pub(crate) fn close_all(&mut self) {
        self.expanded.fill(false);
    }

    /// No rows and no selection, what is open kept: for a source not there yet.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.selected = 0;
    }

    /// The shown children of `node`, in display order.
    pub fn visible_children<S: TreeSource + ?Sized>(src: &S, node: Option<u32>) -> Vec<u32> {
        let mut kids = Vec::new();
        src.children(node, &mut kids);
        kids.retain(|&c| src.shown(c));
        kids
    }

    /// Rows of the open subtree under `node`, depth-first, without `node` itself.
    fn subtree_rows<S: TreeSource + ?Sized>(
        &self,
        src: &S,
        node: Option<u32>,
        depth: u16,
        out: &mut Vec<Row>,
    ) {
        // An explicit stack: a hostile image may nest far deeper than the call stack allows.
        let mut stack: Vec<(u32, u16)> = Self::visible_children(src, node)
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
                has_children: src.has_children(c),
            });
            if expanded {
                let kids = Self::visible_children(src, Some(c));
                stack.extend(kids.into_iter().rev().map(|k| (k, d.saturating_add(1))));
            }
        }
    }

    /// Recomputes every row from what is open (after a filter, a sort or several
    /// [`LazyTree::set_expanded`]). The selection stays on its node while that is shown,
    /// else on the same row.
    pub fn rebuild<S: TreeSource + ?Sized>(&mut self, src: &S) {
        let keep = self.selected_row().map(|r| r.id);
        let mut rows = Vec::new();
        self.subtree_rows(src, None, 0, &mut rows);
        self.rows = rows;
        let at = keep.and_then(|id| self.row_of(id)).unwrap_or(self.selected);
        self.select(at);
    }

    /// Opens the node on row `row`; only its rows are computed. No-op on a leaf or an open
    /// node.
    pub fn expand<S: TreeSource + ?Sized>(&mut self, src: &S, row: usize) {
        let Some(r) = self.rows.get(row).copied() else {
            return;
        };
        if r.expanded || !r.has_children {
            return;
        }
        self.set_expanded(r.id, true);
        self.rows[row].expanded = true;
        let mut sub = Vec::new();
        self.subtree_rows(src, Some(r.id), r.depth.saturating_add(1), &mut sub);
        if self.selected > row {
            self.selected += sub.len();
        }
        self.rows.splice(row + 1..row + 1, sub);
    }

    /// Closes row `row`: its descendants' rows go, their own open state stays.
    pub fn collapse(&mut self, row: usize) {
        let Some(r) = self.rows.get(row).copied() else {
            return;
        };
        if !r.expanded {
            return;
        }
        self.set_expanded(r.id, false);
        self.rows[row].expanded = false;
        let end = self.rows[row + 1..]
            .iter()
            .position(|x| x.depth <= r.depth)
            .map_or(self.rows.len(), |p| row + 1 + p);
        self.rows.drain(row + 1..end);
        if self.selected >= end {
            self.selected -= end - row - 1;
        } else if self.selected > row {
            self.selected = row;
        }
    }

    pub fn toggle<S: TreeSource + ?Sized>(&mut self, src: &S, row: usize) {
        match self.rows.get(row) {
            Some(r) if r.expanded => self.collapse(row),
            Some(_) => self.expand(src, row),
            None => {}
        }
    }

    /// Left on the selected row: closes it when open, else selects its parent's row.
    pub fn collapse_or_parent<S: TreeSource + ?Sized>(&mut self, src: &S) {
        let Some(r) = self.selected_row() else {
            return;
        };
        if r.expanded {
            self.collapse(self.selected);
        } else if let Some(row) = src.parent(r.id).and_then(|p| self.row_of(p)) {
            self.selected = row;
        }
    }

    /// Opens the ancestors of `id` and selects it, when the filter shows it.
    pub fn reveal<S: TreeSource + ?Sized>(&mut self, src: &S, id: u32) {
        let mut p = src.parent(id);
        while let Some(x) = p {
            self.set_expanded(x, true);
            p = src.parent(x);
        }
        self.rebuild(src);
        if let Some(row) = self.row_of(id) {
            self.selected = row;
        }
    }

    /// The row showing `id`, if visible.
    pub fn row_of(&self, id: u32) -> Option<usize> {
        self.rows.iter().position(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree as parent links, children in id order; `hidden` fails the filter.
    struct Links {
        parent: Vec<Option<u32>>,
        hidden: Vec<u32>,
    }

    impl TreeSource for Links {
        fn children(&self, node: Option<u32>, out: &mut Vec<u32>) {
            out.extend((0..self.parent.len() as u32).filter(|&i| self.parent[i as usize] == node));
        }
        fn has_children(&self, node: u32) -> bool {
            self.parent.contains(&Some(node))
        }
        fn parent(&self, node: u32) -> Option<u32> {
            self.parent[node as usize]
        }
        fn shown(&self, node: u32) -> bool {
            !self.hidden.contains(&node)
        }
    }

    /// 0 { 1 { 2, 3 }, 4 }, 5
    fn sample() -> Links {
        Links {
            parent: vec![None, Some(0), Some(1), Some(1), Some(0), None],
            hidden: vec![],
        }
    }

    fn ids(t: &LazyTree) -> Vec<u32> {
        t.rows().iter().map(|r| r.id).collect()
    }

    #[test]
    fn the_selection_follows_its_node_through_expand_and_collapse() {
        let s = sample();
        let mut t = LazyTree::default();
        t.rebuild(&s);
        assert_eq!(ids(&t), [0, 5]);
        t.select(1);
        t.expand(&s, 0);
        assert_eq!(ids(&t), [0, 1, 4, 5]);
        assert_eq!(t.selected_row().map(|r| r.id), Some(5));
        t.expand(&s, 1);
        t.select(3);
        t.collapse(0);
        assert_eq!(t.selected_row().map(|r| r.id), Some(0));
        // Reopening 0 brings 1 back as it was left: open.
        t.toggle(&s, 0);
        assert_eq!(ids(&t), [0, 1, 2, 3, 4, 5]);
        assert_eq!(t.rows()[2].depth, 2);
    }

    #[test]
    fn reveal_opens_the_ancestors_and_left_goes_up() {
        let mut s = sample();
        let mut t = LazyTree::default();
        t.reveal(&s, 3);
        assert_eq!(ids(&t), [0, 1, 2, 3, 4, 5]);
        assert_eq!(t.selected(), 3);
        t.collapse_or_parent(&s);
        assert_eq!(t.selected(), 1);
        t.collapse_or_parent(&s);
        assert_eq!(ids(&t), [0, 1, 4, 5]);
        // A filter that drops the selected node: the selection stays on its row.
        s.hidden = vec![1];
        t.rebuild(&s);
        assert_eq!(ids(&t), [0, 4, 5]);
        assert_eq!(t.selected(), 1);
    }
}
