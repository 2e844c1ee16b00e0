//! The files pane's keys: a key event to a [`FilesKey`], given what the pane shows.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{FilesKey, FilesPane};
use crate::keys::{
    BOTTOM, DOWN, ENTER, KeyRow, LEFT, PAGE_DOWN, PAGE_UP, RIGHT, TOP, UP, ch, code, lookup,
};

use FilesKey as F;

fn browsing(p: &FilesPane) -> bool {
    p.preview.is_none()
}

fn previewing(p: &FilesPane) -> bool {
    p.preview.is_some()
}

/// The pane's keys; the rows for the tree do nothing while a preview covers it.
pub(crate) const FILES: &[KeyRow<FilesKey, FilesPane>] = &[
    KeyRow::new("↑/↓, k/j", &[(UP, F::Up), (DOWN, F::Down)], "move"),
    KeyRow::new(
        "PgUp/PgDn",
        &[(PAGE_UP, F::PageUp), (PAGE_DOWN, F::PageDown)],
        "page up / down",
    ),
    KeyRow::new(
        "g/G, Home/End",
        &[(TOP, F::Top), (BOTTOM, F::Bottom)],
        "first / last",
    ),
    KeyRow::new(
        "Enter",
        &[(ENTER, F::Activate)],
        "open/close a directory, preview a file",
    )
    .when(browsing),
    KeyRow::new(
        "→/l, ←/h",
        &[(RIGHT, F::Expand), (LEFT, F::Collapse)],
        "expand; collapse or go to the parent",
    )
    .when(browsing),
    KeyRow::new(
        "p",
        &[(&[ch('p')], F::Preview)],
        "preview the file (text, or hex with a type guess)",
    )
    .when(browsing),
    KeyRow::new(
        "s",
        &[(&[ch('s')], F::ToggleSort)],
        "sort by name / by size",
    )
    .when(browsing),
    KeyRow::new(
        "/",
        &[(&[ch('/')], F::StartFilter)],
        "filter by name, or by glob (*.so, /usr/lib/*)",
    )
    .when(browsing),
    KeyRow::new(
        "E / C",
        &[(&[ch('E')], F::ExpandAll), (&[ch('C')], F::CollapseAll)],
        "expand all / collapse all",
    )
    .when(browsing),
    KeyRow::new("L", &[(&[ch('L')], F::Largest)], "largest files").when(browsing),
    KeyRow::new(
        "c",
        &[(&[ch('c')], F::Changes)],
        "only what the opened instruction changed",
    )
    .when(browsing),
    KeyRow::new(
        "W",
        &[(&[ch('W')], F::Waste)],
        "the copies later layers hid (wasted), largest first",
    )
    .when(browsing),
    KeyRow::new(
        "e",
        &[(&[ch('e')], F::StartExtract)],
        "extract the file to a host path",
    )
    .when(browsing),
    KeyRow::new(
        "Enter, p",
        &[(&[code(KeyCode::Enter), ch('p')], F::Close)],
        "in a preview: close it",
    )
    .when(previewing),
    KeyRow::new(
        "Esc, q",
        &[(&[code(KeyCode::Esc), ch('q')], F::Close)],
        "back (closes the preview or list first)",
    ),
];

pub(crate) fn on_key(pane: &FilesPane, k: &KeyEvent) -> Option<FilesKey> {
    // A filter or a path being typed takes every key as text.
    if pane.input.is_some() {
        return match k.code {
            KeyCode::Enter => Some(F::Submit),
            KeyCode::Esc => Some(F::Cancel),
            KeyCode::Backspace => Some(F::Backspace),
            KeyCode::Char(c) => Some(F::Input(c)),
            _ => None,
        };
    }
    lookup(FILES, pane, k)
}
