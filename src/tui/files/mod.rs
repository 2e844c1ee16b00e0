//! `f`: the filesystem of a stage or of an instruction's state, as a full-screen pane.
//!
//! The pane's state, its keys and its messages live here, beside but apart from the main
//! `update`: the index streams in (snapshots replace the tree, keeping what was open), the
//! layer attribution arrives later, previews and extractions on demand. Every result carries
//! the request id of the pane that asked; a result for another request is dropped.

pub mod keys;
pub mod view;

use std::sync::Arc;

use crate::build::added_by::LayerInfo;
use crate::fs::preview::Preview;
use crate::fs::tree::{Filter, SortBy, TreeView, largest_files};
use crate::fs::{EntryId, FsIndex, Kind, Progress, escape};

/// A value shared by reference between a task and the model: compared by identity, so
/// messages and commands holding one stay `PartialEq`.
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Shared<T> {
    pub fn new(v: T) -> Self {
        Shared(Arc::new(v))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for Shared<T> {}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// One row of the "what this instruction changed" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub path: Vec<u8>,
    pub id: Option<EntryId>,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum List {
    /// The largest files, largest first.
    Largest(Vec<EntryId>),
    /// Only what the opened instruction changed (deleted files included, marked).
    Changes(Vec<ChangeRow>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Extract,
}

#[derive(Debug, Clone)]
pub struct FilesPane {
    pub req: u64,
    pub stage: usize,
    /// The state after this instruction (0 is the FROM).
    pub instruction: usize,
    pub title: String,
    pub image: Option<String>,
    pub index: Option<Shared<FsIndex>>,
    pub tree: TreeView,
    /// Selected row of the tree.
    pub selected: usize,
    pub progress: Progress,
    /// The export is still streaming (or the image is still being made).
    pub loading: bool,
    pub from_cache: bool,
    pub error: Option<String>,
    pub filter: Option<String>,
    pub input: Option<(InputKind, String)>,
    pub list: Option<List>,
    pub list_selected: usize,
    pub layers: Option<Shared<LayerInfo>>,
    pub layers_error: Option<String>,
    pub preview: Option<Preview>,
    /// A preview was asked for and has not come.
    pub preview_pending: bool,
    pub notice: Option<String>,
}

impl FilesPane {
    pub fn new(req: u64, stage: usize, instruction: usize, title: String) -> Self {
        FilesPane {
            req,
            stage,
            instruction,
            title,
            image: None,
            index: None,
            tree: TreeView::default(),
            selected: 0,
            progress: Progress::default(),
            loading: true,
            from_cache: false,
            error: None,
            filter: None,
            input: None,
            list: None,
            list_selected: 0,
            layers: None,
            layers_error: None,
            preview: None,
            preview_pending: false,
            notice: None,
        }
    }

    /// The entry under the cursor (tree row or list row).
    pub fn current(&self) -> Option<EntryId> {
        match &self.list {
            Some(List::Largest(ids)) => ids.get(self.list_selected).copied(),
            Some(List::Changes(rows)) => rows.get(self.list_selected).and_then(|r| r.id),
            None => self.tree.rows().get(self.selected).map(|r| r.id),
        }
    }

    fn rows_len(&self) -> usize {
        match &self.list {
            Some(List::Largest(ids)) => ids.len(),
            Some(List::Changes(rows)) => rows.len(),
            None => self.tree.rows().len(),
        }
    }

    /// `line 6 RUN make` for an entry, once the layers are known.
    pub fn added_by(&self, id: EntryId) -> Option<&str> {
        let l = self.layers.as_ref()?;
        let layer = (*l.attribution.get(id as usize)?)?;
        l.labels.get(usize::from(layer)).map(String::as_str)
    }

    /// A newer index of the same image: the tree follows, keeping what was open, the sort,
    /// the filter and the selected path.
    pub fn set_index(&mut self, ix: Shared<FsIndex>) {
        let (open, sel) = match &self.index {
            Some(old) => (
                self.tree.expanded_paths(old),
                self.current().map(|id| old.get(id).path().to_vec()),
            ),
            None => (Vec::new(), None),
        };
        self.tree = TreeView::reopen(&ix, self.tree.sort(), &open);
        if let Some(f) = self.filter.as_deref().and_then(|f| Filter::parse(f).ok()) {
            self.tree.set_filter(&ix, Some(&f));
        }
        self.selected = sel
            .and_then(|p| ix.lookup(&p))
            .and_then(|id| self.tree.row_of(id))
            .unwrap_or(self.selected)
            .min(self.tree.rows().len().saturating_sub(1));
        // Lists hold ids of the old index: rebuilt from the new one.
        self.list = match self.list.take() {
            Some(List::Largest(_)) => Some(List::Largest(largest_files(&ix, LARGEST))),
            other => other.map(|_| List::Changes(Vec::new())),
        };
        self.index = Some(ix);
        if matches!(self.list, Some(List::Changes(_))) {
            self.list = self.changes();
        }
    }

    fn changes(&self) -> Option<List> {
        let ix = self.index.as_ref()?;
        let l = self.layers.as_ref()?;
        l.target_layer?;
        let mut rows: Vec<ChangeRow> = l
            .added
            .iter()
            .map(|p| ChangeRow {
                path: p.clone(),
                id: ix.lookup(p),
                deleted: false,
            })
            // A later layer may have removed it again: then it is not in this state.
            .filter(|r| r.id.is_some())
            .chain(l.deleted.iter().map(|p| ChangeRow {
                path: p.clone(),
                id: None,
                deleted: true,
            }))
            .collect();
        rows.sort_by(|a, b| crate::fs::index::path_cmp(&a.path, &b.path));
        Some(List::Changes(rows))
    }
}

/// Files in the largest-files list.
pub const LARGEST: usize = 50;

/// Messages of the pane's background work, each with the request id it answers.
#[derive(Debug, Clone, PartialEq)]
pub enum FilesMsg {
    /// The image of the state was made (it had none).
    Image { req: u64, image: String },
    /// Counts so far and, at most every ~200 ms, a snapshot of what arrived.
    Progress {
        req: u64,
        progress: Progress,
        snapshot: Option<Shared<FsIndex>>,
    },
    Indexed {
        req: u64,
        result: Result<Shared<FsIndex>, String>,
        /// The image's id, the cache key.
        image_id: Option<String>,
        from_cache: bool,
    },
    Layers {
        req: u64,
        result: Result<Shared<LayerInfo>, String>,
    },
    Preview {
        req: u64,
        result: Result<Preview, String>,
    },
    Extracted {
        req: u64,
        result: Result<String, String>,
    },
}

/// What the pane asks the event loop to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesCmd {
    /// Index the state after `instruction` of `stage` (making its image when `None`).
    /// Replaces any export still running.
    Open {
        req: u64,
        stage: usize,
        instruction: usize,
        image: Option<String>,
    },
    /// Read the image's layers and map them to the instructions, for this index.
    Layers {
        req: u64,
        stage: usize,
        instruction: usize,
        image: String,
        index: Shared<FsIndex>,
    },
    Preview {
        req: u64,
        image: String,
        path: Vec<u8>,
    },
    Extract {
        req: u64,
        image: String,
        path: Vec<u8>,
        dest: String,
    },
    /// The pane closed: stop what it started.
    Cancel,
}

/// Keys of the pane, already decided by [`on_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesKey {
    Close,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: open or close a directory, preview a file.
    Activate,
    Expand,
    /// Collapse, or go to the parent directory.
    Collapse,
    Preview,
    ToggleSort,
    ExpandAll,
    CollapseAll,
    Largest,
    Changes,
    StartFilter,
    StartExtract,
    Input(char),
    Backspace,
    Submit,
    Cancel,
}

pub fn layers_cmd(p: &FilesPane) -> Vec<FilesCmd> {
    match (&p.image, &p.index) {
        (Some(image), Some(ix)) => vec![FilesCmd::Layers {
            req: p.req,
            stage: p.stage,
            instruction: p.instruction,
            image: image.clone(),
            index: ix.clone(),
        }],
        _ => vec![],
    }
}

pub fn req_of(msg: &FilesMsg) -> u64 {
    match msg {
        FilesMsg::Image { req, .. }
        | FilesMsg::Progress { req, .. }
        | FilesMsg::Indexed { req, .. }
        | FilesMsg::Layers { req, .. }
        | FilesMsg::Preview { req, .. }
        | FilesMsg::Extracted { req, .. } => *req,
    }
}

fn move_by(p: &mut FilesPane, delta: isize) {
    let n = p.rows_len();
    if let Some(pv) = &mut p.preview {
        let last = pv.len().saturating_sub(1);
        pv.top = pv.top.saturating_add_signed(delta).min(last);
        return;
    }
    let sel = if p.list.is_some() {
        &mut p.list_selected
    } else {
        &mut p.selected
    };
    *sel = sel.saturating_add_signed(delta).min(n.saturating_sub(1));
}

fn preview_cmd(p: &mut FilesPane) -> Vec<FilesCmd> {
    let (Some(ix), Some(id), Some(image)) = (&p.index, p.current(), &p.image) else {
        return vec![];
    };
    let e = ix.get(id);
    let path = e.path().to_vec();
    match e.kind() {
        Kind::File | Kind::Hardlink => {
            p.preview_pending = true;
            p.notice = Some(format!("fetching /{}…", escape(&path)));
            vec![FilesCmd::Preview {
                req: p.req,
                image: image.clone(),
                path,
            }]
        }
        Kind::Symlink => {
            let to = e.link().map(escape).unwrap_or_default();
            p.preview = Some(Preview::note(&path, format!("symbolic link to {to}")));
            vec![]
        }
        Kind::Dir => {
            let note = format!(
                "directory: {} entries, {} bytes in files",
                e.count().saturating_sub(1),
                e.total()
            );
            p.preview = Some(Preview::note(&path, note));
            vec![]
        }
        Kind::Other => {
            p.preview = Some(Preview::note(&path, "special file".into()));
            vec![]
        }
    }
}

fn submit(p: &mut FilesPane) -> Vec<FilesCmd> {
    let Some((kind, text)) = p.input.take() else {
        return vec![];
    };
    match kind {
        InputKind::Filter => {
            let Some(ix) = p.index.clone() else {
                return vec![];
            };
            if text.is_empty() {
                p.filter = None;
                p.tree.set_filter(&ix, None);
            } else {
                match Filter::parse(&text) {
                    Ok(f) => {
                        p.tree.set_filter(&ix, Some(&f));
                        p.filter = Some(text);
                        p.list = None;
                        if p.tree.rows().is_empty() {
                            p.notice = Some("no match".into());
                        }
                    }
                    Err(e) => p.notice = Some(format!("bad pattern: {e}")),
                }
            }
            p.selected = p.selected.min(p.tree.rows().len().saturating_sub(1));
            vec![]
        }
        InputKind::Extract => {
            let (Some(ix), Some(id), Some(image)) = (&p.index, p.current(), &p.image) else {
                return vec![];
            };
            if text.trim().is_empty() {
                return vec![];
            }
            let path = ix.get(id).path().to_vec();
            p.notice = Some(format!("extracting /{}…", escape(&path)));
            vec![FilesCmd::Extract {
                req: p.req,
                image: image.clone(),
                path,
                dest: text,
            }]
        }
    }
}

impl FilesPane {
    /// A background answer; one for another request (a closed pane, an earlier open) is
    /// stale and dropped.
    pub fn on_msg(&mut self, msg: FilesMsg) -> Vec<FilesCmd> {
        let p = self;
        if p.req != req_of(&msg) {
            return vec![];
        }
        match msg {
            FilesMsg::Image { image, .. } => p.image = Some(image),
            FilesMsg::Progress {
                progress, snapshot, ..
            } => {
                p.progress = progress;
                if let Some(ix) = snapshot.filter(|_| p.loading) {
                    p.set_index(ix);
                }
            }
            FilesMsg::Indexed {
                result, from_cache, ..
            } => {
                p.loading = false;
                p.from_cache = from_cache;
                match result {
                    Ok(ix) => {
                        p.progress = ix.progress();
                        p.set_index(ix);
                        return layers_cmd(p);
                    }
                    Err(e) => p.error = Some(e),
                }
            }
            FilesMsg::Layers { result, .. } => match result {
                Ok(l) => {
                    p.layers = Some(l);
                    if matches!(p.list, Some(List::Changes(_))) {
                        p.list = p.changes();
                    }
                }
                Err(e) => p.layers_error = Some(e),
            },
            FilesMsg::Preview { result, .. } => {
                p.preview_pending = false;
                match result {
                    Ok(pv) => p.preview = Some(pv),
                    Err(e) => p.notice = Some(e),
                }
            }
            FilesMsg::Extracted { result, .. } => {
                p.notice = Some(match result {
                    Ok(s) | Err(s) => s,
                })
            }
        }
        vec![]
    }

    /// A key of the pane; `page` rows make a page. [`FilesCmd::Cancel`]: the pane closed.
    pub fn on_key(&mut self, key: FilesKey, page: isize) -> Vec<FilesCmd> {
        use FilesKey as F;
        let p = self;
        p.notice = None;
        match key {
            F::Close => {
                if p.preview.take().is_some() {
                } else if p.list.take().is_some() {
                    p.list_selected = 0;
                } else if p.filter.is_some() {
                    p.filter = None;
                    if let Some(ix) = &p.index {
                        p.tree.set_filter(ix, None);
                        p.selected = p.selected.min(p.tree.rows().len().saturating_sub(1));
                    }
                } else {
                    return vec![FilesCmd::Cancel];
                }
            }
            F::Up => move_by(p, -1),
            F::Down => move_by(p, 1),
            F::PageUp => move_by(p, -page),
            F::PageDown => move_by(p, page),
            F::Top => move_by(p, isize::MIN / 2),
            F::Bottom => move_by(p, isize::MAX / 2),
            F::Activate | F::Expand | F::Collapse if p.list.is_some() => {
                if key == F::Activate {
                    return preview_cmd(p);
                }
            }
            F::Activate => {
                let row = p.tree.rows().get(p.selected).copied();
                match (row, &p.index) {
                    (Some(r), Some(ix)) if r.has_children => p.tree.toggle(ix, p.selected),
                    (Some(_), Some(_)) => return preview_cmd(p),
                    _ => {}
                }
            }
            F::Expand => {
                if let Some(ix) = &p.index {
                    p.tree.expand(ix, p.selected);
                }
            }
            F::Collapse => {
                let row = p.tree.rows().get(p.selected).copied();
                match (row, &p.index) {
                    (Some(r), _) if r.expanded => p.tree.collapse(p.selected),
                    (Some(r), Some(ix)) => {
                        if let Some(parent) = ix.get(r.id).parent()
                            && let Some(row) = p.tree.row_of(parent)
                        {
                            p.selected = row;
                        }
                    }
                    _ => {}
                }
            }
            F::Preview => return preview_cmd(p),
            F::ToggleSort => {
                if let Some(ix) = &p.index {
                    let sort = match p.tree.sort() {
                        SortBy::Name => SortBy::Size,
                        SortBy::Size => SortBy::Name,
                    };
                    let id = p.current();
                    p.tree.set_sort(ix, sort);
                    p.selected = id.and_then(|i| p.tree.row_of(i)).unwrap_or(0);
                }
            }
            F::ExpandAll => {
                if let Some(ix) = &p.index {
                    p.tree.expand_all(ix);
                }
            }
            F::CollapseAll => {
                if let Some(ix) = &p.index {
                    p.tree.collapse_all(ix);
                    p.selected = 0;
                }
            }
            F::Largest => {
                if matches!(p.list, Some(List::Largest(_))) {
                    p.list = None;
                } else if let Some(ix) = &p.index {
                    p.list = Some(List::Largest(largest_files(ix, LARGEST)));
                    p.list_selected = 0;
                }
            }
            F::Changes => {
                if matches!(p.list, Some(List::Changes(_))) {
                    p.list = None;
                } else if p.layers.is_none() {
                    p.notice = Some(match &p.layers_error {
                        Some(e) => format!("no layer attribution: {e}"),
                        None => "the layers are still being read…".into(),
                    });
                } else {
                    match p.changes() {
                        Some(list) => {
                            p.list = Some(list);
                            p.list_selected = 0;
                        }
                        None => p.notice = Some("that instruction made no layer".into()),
                    }
                }
            }
            F::StartFilter => {
                p.input = Some((InputKind::Filter, p.filter.clone().unwrap_or_default()));
            }
            F::StartExtract => match (p.current(), &p.index) {
                (Some(id), Some(ix))
                    if matches!(ix.get(id).kind(), Kind::File | Kind::Hardlink) =>
                {
                    p.input = Some((InputKind::Extract, String::new()));
                }
                _ => p.notice = Some("only a file can be extracted".into()),
            },
            F::Input(c) => {
                if let Some((_, s)) = &mut p.input {
                    s.push(c);
                }
            }
            F::Backspace => {
                if let Some((_, s)) = &mut p.input {
                    s.pop();
                }
            }
            F::Cancel => p.input = None,
            F::Submit => return submit(p),
        }
        vec![]
    }
}

#[cfg(test)]
pub(crate) mod tests;
