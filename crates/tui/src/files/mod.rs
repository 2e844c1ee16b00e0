//! `f`: the filesystem of a stage or of an instruction's state, as a full-screen pane.
//!
//! The pane's state, its keys and its messages live here, beside but apart from the main
//! `update`: the index streams in (snapshots replace the tree, keeping what was open), the
//! layer attribution arrives later, previews and extractions on demand. Every result carries
//! the request id of the pane that asked; a result for another request is dropped.

pub mod keys;
mod update;
pub mod view;
pub mod waste;

use stagescope_core::session::SharedError;
use std::sync::Arc;

use stagescope_fs::preview::Preview;
use stagescope_fs::tree::{Filter, SortBy, TreeView, largest_files};
use stagescope_fs::waste::Waste;
use stagescope_fs::{EntryId, FsIndex, Kind, Progress, escape};
use stagescope_plan::added_by::LayerInfo;

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
    /// The copies of files that later layers hid, largest first.
    Waste(waste::WasteList),
}

/// What the memory cache keeps of an opened image: its index and its waste.
#[derive(Debug, Clone)]
pub struct Kept {
    pub index: Arc<FsIndex>,
    pub waste: Option<Arc<Waste>>,
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
    /// The tree and its selected row.
    pub tree: TreeView,
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
    /// What the image's layers hid, from the same open as the index (`None` until it is
    /// indexed, or when the open could not count it).
    pub waste: Option<Shared<Waste>>,
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
            waste: None,
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
            Some(List::Waste(w)) => {
                let ix = self.index.as_ref()?;
                ix.lookup(w.raw_path(self.list_selected)?)
            }
            None => self.tree.selected_row().map(|r| r.id),
        }
    }

    fn rows_len(&self) -> usize {
        match &self.list {
            Some(List::Largest(ids)) => ids.len(),
            Some(List::Changes(rows)) => rows.len(),
            Some(List::Waste(w)) => w.rows.len(),
            None => self.tree.rows().len(),
        }
    }

    /// `line 6 RUN make` for an entry, once the layers are known: the instruction that made
    /// it (for a directory, the one it first appeared in).
    pub fn added_by(&self, id: EntryId) -> Option<&str> {
        let l = self.layers.as_ref()?;
        let layer = (*l.created.get(id as usize)?)?;
        l.labels.get(usize::from(layer)).map(String::as_str)
    }

    /// The instruction that last wrote a directory, when it is not the one that made it.
    pub fn last_changed_by(&self, id: EntryId) -> Option<&str> {
        let l = self.layers.as_ref()?;
        let last = (*l.attribution.get(id as usize)?)?;
        if l.created.get(id as usize).copied().flatten() == Some(last) {
            return None;
        }
        l.labels.get(usize::from(last)).map(String::as_str)
    }

    /// A newer index of the same image: the tree follows, keeping what was open, the sort,
    /// the filter and the selected path.
    pub(crate) fn set_index(&mut self, ix: Shared<FsIndex>) {
        let (open, sel) = match &self.index {
            Some(old) => (
                self.tree.expanded_paths(old),
                self.current().map(|id| old.get(id).path().to_vec()),
            ),
            None => (Vec::new(), None),
        };
        let at = self.tree.selected();
        self.tree = TreeView::reopen(&ix, self.tree.sort(), &open);
        if let Some(f) = self.filter.as_deref().and_then(|f| Filter::parse(f).ok()) {
            self.tree.set_filter(&ix, Some(&f));
        }
        let row = sel
            .and_then(|p| ix.lookup(&p))
            .and_then(|id| self.tree.row_of(id))
            .unwrap_or(at);
        self.tree.select(row);
        // Lists hold ids of the old index: rebuilt from the new one.
        self.list = match self.list.take() {
            Some(List::Largest(_)) => Some(List::Largest(largest_files(&ix, LARGEST))),
            other => other,
        };
        self.index = Some(ix);
        match self.list {
            Some(List::Changes(_)) => self.list = self.changes(),
            Some(List::Waste(_)) => self.list = self.waste_list().map(List::Waste),
            _ => {}
        }
    }

    /// The wasted copies of the opened image, through the report `stagescope waste` prints
    /// (its numbers and words); named by the instructions once the layers are read.
    fn waste_list(&self) -> Option<waste::WasteList> {
        let (ix, w) = (self.index.as_ref()?, self.waste.as_ref()?);
        Some(waste::WasteList::new(
            &self.title,
            w,
            ix,
            self.layers.as_deref(),
        ))
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
            // A later layer may have removed it again: then it is not in this state. An empty
            // /dev, /proc or /sys is the RUN's runtime's, not a change the instruction made.
            .filter(|r| r.id.is_some_and(|id| !ix.get(id).is_runtime_mount_point()))
            .chain(l.deleted.iter().map(|p| ChangeRow {
                path: p.clone(),
                id: None,
                deleted: true,
            }))
            .collect();
        rows.sort_by(|a, b| stagescope_fs::index::path_cmp(&a.path, &b.path));
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
        result: Result<Shared<FsIndex>, SharedError>,
        /// The image's id, the cache key.
        image_id: Option<String>,
        from_cache: bool,
        /// What its layers hid, counted by the same open.
        waste: Option<Shared<Waste>>,
    },
    Layers {
        req: u64,
        result: Result<Shared<LayerInfo>, SharedError>,
    },
    Preview {
        req: u64,
        result: Result<Preview, SharedError>,
    },
    Extracted {
        req: u64,
        result: Result<String, SharedError>,
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
    /// `W`: the wasted copies.
    Waste,
    StartFilter,
    StartExtract,
    Input(char),
    Backspace,
    Submit,
    Cancel,
}

pub(crate) fn layers_cmd(p: &FilesPane) -> Vec<FilesCmd> {
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

pub(crate) fn req_of(msg: &FilesMsg) -> u64 {
    match msg {
        FilesMsg::Image { req, .. }
        | FilesMsg::Progress { req, .. }
        | FilesMsg::Indexed { req, .. }
        | FilesMsg::Layers { req, .. }
        | FilesMsg::Preview { req, .. }
        | FilesMsg::Extracted { req, .. } => *req,
    }
}

#[cfg(test)]
pub(crate) mod tests;
