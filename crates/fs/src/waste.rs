//! Wasted space: the bytes of every copy of a file that a later layer hid. A layer is
//! immutable, so a file that a later instruction overwrites or deletes still ships in the
//! layer that wrote it; the image carries its bytes and nobody can see them.
//!
//! Counted exactly: each hidden copy once (the layer that hid it met it in the composition
//! below, where each path has one entry), the visible copy never, a copy whose bytes stay
//! visible through a hard link not at all until the link goes too. Collected by the
//! layer composer (`index::layer::Composer`) while it composes, so an open that composes pays nothing more.
//!
//! The efficiency is the share of the stored bytes still visible: `1 − wasted / stored`,
//! `stored` being the bytes of every file of every layer. (dive's score is another ratio: per
//! path, the smallest copy over the sum of all copies, summed over paths; and its wasted
//! bytes count every copy of a path written twice, the visible one too, which is dive#684.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FsIndex, escape};

/// How a later layer hid a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The later layer wrote the same path again.
    Overwritten,
    /// A whiteout (`rm`) deleted the path or a directory above it.
    Deleted,
    /// An opaque directory above it (a directory removed and made again in one layer).
    OpaqueDir,
    /// A non-directory took the place of a directory above it.
    ReplacedDir,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Overwritten => "overwritten",
            How::Deleted => "deleted",
            How::OpaqueDir => "opaque directory",
            How::ReplacedDir => "directory replaced",
        }
    }
}

/// One copy of a file that a later layer hid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenCopy {
    pub path: Vec<u8>,
    pub size: u64,
    /// The layer (bottom = 0) that wrote the copy.
    pub layer: u16,
    /// The layer that hid it.
    pub hidden_by: u16,
    pub how: How,
}

/// What an image's layers hid of each other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waste {
    /// Per layer, bottom first: the bytes of the files it stores.
    pub layer_bytes: Vec<u64>,
    /// Every hidden copy, in the order the layers hid them.
    pub hidden: Vec<HiddenCopy>,
}

/// A file with hidden copies: what the file lists of `waste` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WastedFile {
    pub path: Vec<u8>,
    pub wasted_bytes: u64,
    /// The hidden copies, lowest layer first.
    pub copies: Vec<HiddenCopy>,
    /// The copy the image shows (layer, size), when the path is still there.
    pub visible: Option<(Option<u16>, u64)>,
    /// Every copy was written and hidden by the base image's layers.
    pub base: bool,
}

/// The totals, with the layers below `base_layers` counted apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    pub stored_bytes: u64,
    pub wasted_bytes: u64,
    /// Wasted by the base image's layers alone (written and hidden there).
    pub base_wasted_bytes: u64,
    /// Wasted where an instruction above the base wrote or hid the copy.
    pub user_wasted_bytes: u64,
    /// Bytes the layers above the base store.
    pub user_bytes: u64,
    /// Share of the stored bytes still visible (1 when nothing is stored).
    pub efficiency: f64,
    /// `user_wasted_bytes / user_bytes` as a ratio 0..1 (0 when the user layers store none).
    pub user_wasted_ratio: f64,
}

impl Waste {
    pub fn stored_bytes(&self) -> u64 {
        self.layer_bytes.iter().sum()
    }

    pub fn wasted_bytes(&self) -> u64 {
        self.hidden.iter().map(|h| h.size).sum()
    }

    /// Whether copy `h` is the base image's own waste: written and hidden below `base`.
    fn is_base(h: &HiddenCopy, base_layers: usize) -> bool {
        usize::from(h.hidden_by) < base_layers
    }

    pub fn totals(&self, base_layers: usize) -> Totals {
        let stored_bytes = self.stored_bytes();
        let wasted_bytes = self.wasted_bytes();
        let base_wasted_bytes: u64 = self
            .hidden
            .iter()
            .filter(|h| Self::is_base(h, base_layers))
            .map(|h| h.size)
            .sum();
        let user_wasted_bytes = wasted_bytes - base_wasted_bytes;
        let user_bytes: u64 = self.layer_bytes.iter().skip(base_layers).sum();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Totals {
            stored_bytes,
            wasted_bytes,
            base_wasted_bytes,
            user_wasted_bytes,
            user_bytes,
            efficiency: if stored_bytes == 0 {
                1.0
            } else {
                1.0 - ratio(wasted_bytes, stored_bytes)
            },
            user_wasted_ratio: ratio(user_wasted_bytes, user_bytes),
        }
    }

    /// The files with hidden copies, the most wasted bytes first (then by path); `ix`, the
    /// composed image, says which copy is visible.
    pub fn files(&self, ix: Option<&FsIndex>, base_layers: usize) -> Vec<WastedFile> {
        let mut by_path: BTreeMap<&[u8], Vec<&HiddenCopy>> = BTreeMap::new();
        for h in &self.hidden {
            by_path.entry(&h.path).or_default().push(h);
        }
        let mut out: Vec<WastedFile> = by_path
            .into_iter()
            .map(|(path, mut copies)| {
                copies.sort_by_key(|h| (h.layer, h.hidden_by));
                let visible = ix
                    .and_then(|ix| ix.lookup(path))
                    .and_then(|id| ix.map(|ix| ix.get(id)))
                    .filter(|e| e.kind() != crate::Kind::Dir)
                    .map(|e| (e.layer(), e.size()));
                WastedFile {
                    path: path.to_vec(),
                    wasted_bytes: copies.iter().map(|h| h.size).sum(),
                    base: copies.iter().all(|h| Self::is_base(h, base_layers)),
                    copies: copies.into_iter().cloned().collect(),
                    visible,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.wasted_bytes
                .cmp(&a.wasted_bytes)
                .then(a.path.cmp(&b.path))
        });
        out
    }

    /// Per layer: the bytes of the copies it hid (what an instruction wasted).
    pub fn hidden_by_layer(&self) -> Vec<u64> {
        let mut out = vec![0u64; self.layer_bytes.len()];
        for h in &self.hidden {
            if let Some(v) = out.get_mut(usize::from(h.hidden_by)) {
                *v += h.size;
            }
        }
        out
    }

    /// Per layer: the bytes of its own copies that later layers hid.
    pub fn lost_by_layer(&self) -> Vec<u64> {
        let mut out = vec![0u64; self.layer_bytes.len()];
        for h in &self.hidden {
            if let Some(v) = out.get_mut(usize::from(h.layer)) {
                *v += h.size;
            }
        }
        out
    }
}

impl WastedFile {
    /// The path as the user sees it (escaped, leading `/`).
    pub fn shown_path(&self) -> String {
        format!("/{}", escape(&self.path))
    }
}

#[cfg(test)]
#[path = "waste_tests.rs"]
mod tests;
