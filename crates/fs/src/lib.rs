//! Filesystems as data: a tar stream -> [`FsIndex`], and the lazy [`tree::TreeView`] over it.
//! Pure: no tokio, no bollard.

pub mod archive;
pub mod cache;
pub mod compare;
pub mod content_diff;
pub mod diff;
pub mod dirs;
pub mod format;
pub mod index;
pub mod layer_cache;
pub mod layers;
pub mod preview;
pub mod provenance;
pub mod rules;
pub mod save;
pub mod sides;
mod sniff;
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod testutil;
pub mod tree;
pub mod waste;

pub use index::{
    EntryId, EntryRef, FsIndex, IndexBuilder, IndexError, Kind, Meta, Progress, escape,
    shown_escaped,
};
pub use sniff::ContentFlags;
