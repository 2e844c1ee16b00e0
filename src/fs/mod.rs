//! Filesystems as data: a tar stream -> [`FsIndex`], and the lazy [`tree::TreeView`] over it.
//! Pure: no tokio, no bollard.

pub mod cache;
pub mod diff;
pub mod index;
pub mod layers;
pub mod provenance;
pub mod rules;
#[cfg(test)]
pub(crate) mod testutil;
pub mod tree;

pub use index::{EntryId, EntryRef, FsIndex, IndexBuilder, IndexError, Kind, Progress, escape};
