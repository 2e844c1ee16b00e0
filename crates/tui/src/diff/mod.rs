//! `d`: the diff view's data and its pure update. Two stage images are indexed in the
//! background (one request id per opening, stale answers dropped); the comparison itself
//! is [`DiffData::compute`], and the tree over it is the [`LazyTree`] the files pane uses
//! too, reading the diff's entries: only the rows of expanded directories are materialised,
//! as small integer ids into [`Diff::entries`].
//!
//! The summary and the findings rows come from [`DiffReport`], so the view and
//! `stagescope diff` cannot disagree about what counts as a leftover or who brought it.

pub(crate) mod keys;
pub(crate) mod preview;
pub(crate) mod view;

use stagescope_core::session::SharedError;
use stagescope_fs::compare::Comparison;
use stagescope_fs::diff::{Diff, Status as DiffStatus};
use stagescope_fs::provenance::{Inputs, Provenance, ReleaseModel};
use stagescope_fs::rules::{Finding, RuleSet};
use stagescope_fs::tree::{LazyTree, TreeSource};
use stagescope_fs::{EntryId, FsIndex, Kind};
use stagescope_report::diff::{DiffReport, FindingRow, Summary};

use crate::layout::first_visible;
use keys::DiffKey;
use preview::{Contents, FetchSides, Sides};
use stagescope_fs::sides::{self, Side};

/// Which rows the tree shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    /// Paths present in the release (`to`) side.
    Release,
    /// Paths a leftover or secret finding covers.
    Leftovers,
    /// Added, removed or changed paths.
    Changed,
}

impl Filter {
    pub fn next(self) -> Filter {
        match self {
            Filter::All => Filter::Release,
            Filter::Release => Filter::Leftovers,
            Filter::Leftovers => Filter::Changed,
            Filter::Changed => Filter::All,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Release => "only release",
            Filter::Leftovers => "only leftovers",
            Filter::Changed => "only changed",
        }
    }
    /// The flag bit an entry (or, shifted, its subtree) must carry; None: every entry.
    fn bit(self) -> Option<u8> {
        match self {
            Filter::All => None,
            Filter::Release => Some(IN_RELEASE),
            Filter::Leftovers => Some(LEFTOVER),
            Filter::Changed => Some(CHANGED),
        }
    }
}

const IN_RELEASE: u8 = 1;
const LEFTOVER: u8 = 2;
const CHANGED: u8 = 4;
/// The same bits, set on a directory when some entry below it has them.
const BELOW: u32 = 4;

/// Everything the view shows once both sides are indexed; built off the UI thread.
#[derive(Debug, Clone)]
pub struct DiffData {
    pub from_label: String,
    pub to_label: String,
    pub left: FsIndex,
    pub right: FsIndex,
    pub diff: Diff,
    pub summary: Summary,
    /// One row per finding, with the rule's reason and the instruction that brought it.
    pub findings: Vec<FindingRow>,
    /// The release entry of each finding (same order as `findings`).
    pub finding_entries: Vec<EntryId>,
    pub origins: Option<(ReleaseModel, Provenance)>,
    /// The images of the two sides (from, to), where they are known: what Enter reads
    /// a file's content from.
    pub images: Option<(String, String)>,
    /// Per diff entry: the index just past its subtree.
    end: Vec<u32>,
    /// Per diff entry: its directory's diff entry, `u32::MAX` at the top.
    parent: Vec<u32>,
    /// Per diff entry: filter bits of its own, and `<< BELOW` of its subtree.
    flags: Vec<u8>,
    /// Release entry id -> diff entry.
    of_right: Vec<u32>,
}

/// What [`DiffData::compute`] reads besides the two sides.
pub struct Attribution<'a> {
    pub model: ReleaseModel,
    pub inputs: Inputs<'a>,
}

const TOP: u32 = u32::MAX;

impl DiffData {
    /// Compares `left` (from) with `right` (to), scans `right` for findings and, when the
    /// Dockerfile is known, attributes them. Linear in the entries, plus the rules.
    pub fn compute(
        from: (&str, FsIndex),
        to: (&str, FsIndex),
        rules: &RuleSet,
        attribution: Option<Attribution<'_>>,
    ) -> DiffData {
        let c = Comparison::compute(from, to, rules, attribution.map(|a| (a.model, a.inputs)));
        DiffData::from_comparison(c, rules)
    }

    /// The view's data over one comparison: its report rows and the lazy tree's links.
    pub(crate) fn from_comparison(c: Comparison, rules: &RuleSet) -> DiffData {
        let report = DiffReport::of(&c, rules);
        let Comparison {
            from_label,
            to_label,
            left,
            right,
            diff,
            findings,
            origins,
        } = c;
        let leftover = leftover_entries(rules, &right, &findings);
        let n = diff.entries().len();
        let mut end = vec![0u32; n];
        let mut parent = vec![TOP; n];
        let mut flags = vec![0u8; n];
        let mut of_right = vec![TOP; right.len()];
        let mut open: Vec<u32> = Vec::new();
        for (i, d) in diff.entries().iter().enumerate() {
            let path = d.path(&left, &right);
            while let Some(&top) = open.last() {
                let dir = diff.entries()[top as usize].path(&left, &right);
                if path.len() > dir.len() && path[dir.len()] == b'/' && path.starts_with(dir) {
                    break;
                }
                end[top as usize] = i as u32;
                open.pop();
            }
            parent[i] = open.last().copied().unwrap_or(TOP);
            if let Some(r) = d.right {
                of_right[r as usize] = i as u32;
                flags[i] |= IN_RELEASE;
                if leftover[r as usize] {
                    flags[i] |= LEFTOVER;
                }
            }
            if d.status != DiffStatus::Unchanged {
                flags[i] |= CHANGED;
            }
            end[i] = i as u32 + 1;
            if diff.rollup(d).is_some() {
                open.push(i as u32);
            }
        }
        for top in open {
            end[top as usize] = n as u32;
        }
        // Children come after their directory: one reverse pass carries bits upwards.
        for i in (0..n).rev() {
            let p = parent[i];
            if p != TOP {
                let own = flags[i] & 0x0f;
                let below = flags[i] >> BELOW;
                flags[p as usize] |= (own | below) << BELOW;
            }
        }
        DiffData {
            from_label,
            to_label,
            finding_entries: findings.iter().map(|f| f.entry).collect(),
            summary: report.summary,
            findings: report.findings,
            left,
            right,
            diff,
            origins,
            images: None,
            end,
            parent,
            flags,
            of_right,
        }
    }

    pub fn len(&self) -> usize {
        self.end.len()
    }

    pub fn is_empty(&self) -> bool {
        self.end.is_empty()
    }

    fn shown(&self, i: usize, filter: Filter) -> bool {
        match filter.bit() {
            None => true,
            Some(b) => self.flags[i] & (b | b << BELOW) != 0,
        }
    }

    pub fn is_dir(&self, i: u32) -> bool {
        self.diff.rollup(&self.diff.entries()[i as usize]).is_some()
    }

    /// The diff entry of a release entry.
    pub(crate) fn of_right(&self, id: EntryId) -> Option<u32> {
        self.of_right
            .get(id as usize)
            .copied()
            .filter(|&i| i != TOP)
    }

    /// Whether the entry itself is covered by a finding.
    pub(crate) fn is_leftover(&self, i: u32) -> bool {
        self.flags[i as usize] & LEFTOVER != 0
    }
}

/// The diff's entries through a filter, as the lazy tree reads them.
struct DiffTree<'a> {
    data: &'a DiffData,
    filter: Filter,
}

impl TreeSource for DiffTree<'_> {
    fn children(&self, node: Option<u32>, out: &mut Vec<u32>) {
        let d = self.data;
        let (mut i, end) = match node {
            Some(n) => (n as usize + 1, d.end[n as usize] as usize),
            None => (0, d.len()),
        };
        // Entries are in path order with each subtree contiguous: a child's `end` is its
        // next sibling, so a directory's children cost one jump each, whatever lies below.
        while i < end {
            out.push(i as u32);
            i = d.end[i] as usize;
        }
    }

    /// A directory can be opened even when the filter leaves it nothing to show.
    fn has_children(&self, node: u32) -> bool {
        self.data.is_dir(node)
    }

    fn parent(&self, node: u32) -> Option<u32> {
        self.data
            .parent
            .get(node as usize)
            .copied()
            .filter(|&p| p != TOP)
    }

    fn shown(&self, node: u32) -> bool {
        self.data.shown(node as usize, self.filter)
    }
}

/// Release entries some finding covers: a directory finding its whole subtree, a grouped
/// one the files in its directory that its rule matches, any other its own entry.
fn leftover_entries(rules: &RuleSet, ix: &FsIndex, findings: &[Finding]) -> Vec<bool> {
    let mut out = vec![false; ix.len()];
    for f in findings {
        let e = ix.get(f.entry);
        if f.grouped {
            for &c in e.children() {
                if ix.get(c).kind() != Kind::Dir && rules.rule_of(ix, c) == Some(f.rule) {
                    out[c as usize] = true;
                }
            }
        } else {
            let end = (f.entry + e.count()) as usize;
            out[f.entry as usize..end.min(ix.len())].fill(true);
        }
    }
    out
}

/// Which list has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Tree,
    Findings,
}

#[derive(Debug, Clone)]
pub enum Phase {
    /// Both sides are being indexed.
    Loading,
    Failed(String),
    Ready(Box<DiffData>),
}

/// The open diff view.
#[derive(Debug, Clone)]
pub struct DiffView {
    pub from: usize,
    pub to: usize,
    /// Answers carrying another id are stale.
    pub request: u64,
    pub phase: Phase,
    pub filter: Filter,
    pub pane: Pane,
    /// The open directories, the rows they make (diff entry ids) and the selected row.
    pub tree: LazyTree,
    pub finding: usize,
    /// Both sides of one diff entry, drawn over the view.
    pub detail: Option<u32>,
    /// The content of both sides of `detail`, when it is a file.
    pub contents: Option<Contents>,
}

impl DiffView {
    pub fn data(&self) -> Option<&DiffData> {
        match &self.phase {
            Phase::Ready(d) => Some(d),
            _ => None,
        }
    }

    /// The tree's source and the tree apart, so the tree can change while the source reads
    /// the data; `None` until both sides are indexed.
    fn parts(&mut self) -> (Option<DiffTree<'_>>, &mut LazyTree) {
        let src = match &self.phase {
            Phase::Ready(d) => Some(DiffTree {
                data: d,
                filter: self.filter,
            }),
            _ => None,
        };
        (src, &mut self.tree)
    }

    fn refresh(&mut self) {
        match self.parts() {
            (Some(src), tree) => tree.rebuild(&src),
            (None, tree) => tree.clear(),
        }
    }

    /// Expands the ancestors of `i` and selects it (when the filter shows it).
    fn reveal(&mut self, i: u32) {
        if let (Some(src), tree) = self.parts() {
            tree.reveal(&src, i);
        }
    }
}

/// The diff part of the model: the default pair and the open view, if any.
#[derive(Debug, Clone, Default)]
pub struct DiffState {
    /// What `d` compares the final stage with; set from the stage graph at start.
    pub default_from: Option<usize>,
    /// Last request id handed out.
    pub seq: u64,
    pub view: Option<DiffView>,
}

/// A finished background indexing, sent back by value.
#[derive(Debug, Clone)]
pub struct Indexed {
    pub request: u64,
    pub result: Result<Box<DiffData>, SharedError>,
}

/// Messages carry indexes, which have no meaningful equality: two answers are the same
/// message when they answer the same request.
impl PartialEq for Indexed {
    fn eq(&self, o: &Indexed) -> bool {
        self.request == o.request && self.result.is_ok() == o.result.is_ok()
    }
}

/// Opens the detail of diff entry `i`; a file (on either side) also has its content read
/// from both images, under a new request id that makes any pending answer stale.
fn show(v: &mut DiffView, seq: &mut u64, i: u32) -> Vec<FetchSides> {
    v.detail = Some(i);
    v.contents = None;
    let Some(d) = v.data() else { return vec![] };
    let Some((from, to)) = &d.images else {
        return vec![];
    };
    let e = &d.diff.entries()[i as usize];
    let file = |ix: &FsIndex, id: Option<EntryId>, image: &str| {
        id.map(|id| ix.get(id))
            .filter(|x| matches!(x.kind(), Kind::File | Kind::Hardlink))
            .map(|x| (image.to_string(), x.path().to_vec()))
    };
    let left = file(&d.left, e.left, from);
    let right = file(&d.right, e.right, to);
    if left.is_none() && right.is_none() {
        return vec![];
    }
    *seq += 1;
    v.contents = Some(Contents {
        request: *seq,
        rows: None,
        top: 0,
    });
    vec![FetchSides {
        request: *seq,
        left,
        right,
    }]
}

impl DiffState {
    /// A background answer: kept only when it answers the view's current request.
    pub(crate) fn on_indexed(&mut self, msg: Indexed) {
        let Some(v) = self.view.as_mut() else {
            return;
        };
        if v.request != msg.request {
            return;
        }
        v.phase = match msg.result {
            Ok(d) => Phase::Ready(d),
            Err(e) => Phase::Failed(e.to_string()),
        };
        v.refresh();
    }

    /// Both sides' bytes arrived: kept only for the detail that asked for them.
    pub(crate) fn on_sides(&mut self, msg: Sides) {
        let Some(v) = self.view.as_mut() else {
            return;
        };
        let (Some(i), Phase::Ready(d)) = (v.detail, &v.phase) else {
            return;
        };
        let Some(c) = v.contents.as_mut().filter(|c| c.request == msg.request) else {
            return;
        };
        let e = &d.diff.entries()[i as usize];
        let side = |ix: &FsIndex, id: Option<EntryId>, label, fetched| {
            Some(Side {
                label,
                hash: ix.get(id?).hash(),
                fetched: fetched?,
            })
        };
        let path = e.path(&d.left, &d.right);
        c.rows = Some(sides::rows(
            path,
            side(&d.left, e.left, &d.from_label, msg.left.as_ref()),
            side(&d.right, e.right, &d.to_label, msg.right.as_ref()),
        ));
    }

    /// A key while the view is open; `page` rows make a page.
    pub(crate) fn on_key(&mut self, a: DiffKey, page: usize) -> Vec<FetchSides> {
        use DiffKey as A;
        let seq = &mut self.seq;
        let Some(v) = self.view.as_mut() else {
            return vec![];
        };
        if v.detail.is_some() {
            match a {
                A::Close | A::Enter => {
                    v.detail = None;
                    v.contents = None;
                }
                A::Up | A::Down | A::PageUp | A::PageDown | A::Top | A::Bottom => {
                    if let Some(c) = v.contents.as_mut() {
                        let n = c.rows.as_ref().map_or(0, Vec::len);
                        c.top = scrolled(c.top, a, page).min(n.saturating_sub(1));
                    }
                }
                _ => {}
            }
            return vec![];
        }
        match a {
            A::Close => self.view = None,
            A::CycleFilter => {
                v.filter = v.filter.next();
                v.refresh();
            }
            A::SwitchPane => {
                v.pane = match v.pane {
                    Pane::Tree => Pane::Findings,
                    Pane::Findings => Pane::Tree,
                }
            }
            A::Up | A::Down | A::PageUp | A::PageDown | A::Top | A::Bottom => {
                let findings = v.data().map_or(0, |d| d.findings.len());
                match v.pane {
                    Pane::Tree => v.tree.select(scrolled(v.tree.selected(), a, page)),
                    Pane::Findings => {
                        v.finding = scrolled(v.finding, a, page).min(findings.saturating_sub(1));
                    }
                }
            }
            A::Expand | A::Collapse | A::Enter if v.pane == Pane::Tree => {
                let (Some(src), tree) = v.parts() else {
                    return vec![];
                };
                let Some(row) = tree.selected_row() else {
                    return vec![];
                };
                let at = tree.selected();
                match a {
                    A::Expand => tree.expand(&src, at),
                    A::Collapse => tree.collapse_or_parent(&src),
                    A::Enter if row.has_children => tree.toggle(&src, at),
                    A::Enter => return show(v, seq, row.id),
                    _ => {}
                }
            }
            A::Enter => {
                // A finding: show it in the tree and both sides of it.
                let target = v.data().and_then(|d| {
                    d.finding_entries
                        .get(v.finding)
                        .and_then(|&e| d.of_right(e))
                });
                if let Some(i) = target {
                    v.reveal(i);
                    return show(v, seq, i);
                }
            }
            _ => {}
        }
        vec![]
    }
}

/// A list position moved by one of the movement keys (not clamped at the end).
fn scrolled(cur: usize, a: DiffKey, page: usize) -> usize {
    let delta: isize = match a {
        DiffKey::Up => -1,
        DiffKey::Down => 1,
        DiffKey::PageUp => -(page as isize),
        DiffKey::PageDown => page as isize,
        DiffKey::Top => isize::MIN / 2,
        _ => isize::MAX / 2,
    };
    cur.saturating_add_signed(delta)
}

/// First tree row drawn so that the selection is on screen.
pub(crate) fn first_row(v: &DiffView, rows: usize) -> usize {
    first_visible(v.tree.selected(), rows)
}

#[cfg(test)]
pub(crate) mod tests;
