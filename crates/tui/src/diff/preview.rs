//! Enter in the diff view: the messages that read both sides of one file in the
//! background (one request id per opening, stale answers dropped), and the rows they turn
//! into ([`stagescope_fs::sides`]).

use stagescope_core::session::SharedError;
use stagescope_fs::content_diff::Row;
use stagescope_fs::preview::FetchedFile;

/// `Cmd::FetchSides`: the image and path of each side to read (None: nothing to read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSides {
    pub request: u64,
    pub left: Option<(String, Vec<u8>)>,
    pub right: Option<(String, Vec<u8>)>,
}

/// What the fetch of [`FetchSides`] gave, side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    pub request: u64,
    pub left: Option<Result<FetchedFile, SharedError>>,
    pub right: Option<Result<FetchedFile, SharedError>>,
}

/// The content part of the open detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Answers carrying another id are stale.
    pub request: u64,
    /// None while the sides are being read.
    pub rows: Option<Vec<Row>>,
    /// First row shown.
    pub top: usize,
}
