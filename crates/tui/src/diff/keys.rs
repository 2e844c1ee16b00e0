//! The diff view's keys: a key event to a [`DiffKey`]. `q` goes back rather than quitting.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::keys::{
    BOTTOM, DOWN, ENTER, KeyRow, LEFT, PAGE_DOWN, PAGE_UP, RIGHT, TOP, UP, ch, code, lookup,
};

/// What a key does in the diff view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKey {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Open or close a directory; both sides of a file or finding.
    Enter,
    /// Close the detail, then the view.
    Close,
    /// Tree <-> findings.
    SwitchPane,
    Expand,
    /// Collapse, or go to the parent directory.
    Collapse,
    CycleFilter,
}

use DiffKey as D;

/// The view's keys.
pub(crate) const DIFF: &[KeyRow<DiffKey>] = &[
    KeyRow::new(
        "v",
        &[(&[ch('v')], D::CycleFilter)],
        "tree filter: all / release / leftovers / changed",
    ),
    KeyRow::new(
        "Tab, Shift-Tab",
        &[(&[code(KeyCode::Tab), code(KeyCode::BackTab)], D::SwitchPane)],
        "tree / findings (reason, instruction that brought it)",
    ),
    KeyRow::new(
        "Enter",
        &[(ENTER, D::Enter)],
        "open a directory; both sides of a file or finding",
    ),
    KeyRow::new(
        "↑/↓, k/j",
        &[(UP, D::Up), (DOWN, D::Down)],
        "move; in both sides, scroll the line diff or hex dump",
    ),
    KeyRow::new(
        "PgUp/PgDn",
        &[(PAGE_UP, D::PageUp), (PAGE_DOWN, D::PageDown)],
        "page up / down",
    ),
    KeyRow::new(
        "g/G, Home/End",
        &[(TOP, D::Top), (BOTTOM, D::Bottom)],
        "first / last",
    ),
    KeyRow::new(
        "←/→, h/l",
        &[(LEFT, D::Collapse), (RIGHT, D::Expand)],
        "collapse (or go up) / expand a directory",
    ),
    KeyRow::new(
        "Esc, q",
        &[(&[code(KeyCode::Esc), ch('q')], D::Close)],
        "close the detail, then back to the build",
    ),
];

pub(crate) fn on_key(k: &KeyEvent) -> Option<DiffKey> {
    lookup(DIFF, &(), k)
}
