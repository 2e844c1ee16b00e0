//! The files pane's keys: a key event to a [`FilesKey`], given what the pane shows.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{FilesKey, FilesPane};

/// The pane's key table, for `?`.
pub const HELP: &[(&str, &str)] = &[
    ("↑/↓, k/j", "move; PgUp/PgDn, g/G page and ends"),
    ("Enter", "open/close a directory, preview a file"),
    ("→/l, ←/h", "expand; collapse or go to the parent"),
    ("p", "preview the file (text, or hex with a type guess)"),
    ("s", "sort by name / by size"),
    ("/", "filter by name, or by glob (*.so, /usr/lib/*)"),
    ("E / C", "expand all / collapse all"),
    ("L", "largest files"),
    ("c", "only what the opened instruction changed"),
    ("e", "extract the file to a host path"),
    ("Esc, q", "back (closes the preview or list first)"),
];

pub fn on_key(pane: &FilesPane, k: &KeyEvent) -> Option<FilesKey> {
    use FilesKey as F;
    if pane.input.is_some() {
        return match k.code {
            KeyCode::Enter => Some(F::Submit),
            KeyCode::Esc => Some(F::Cancel),
            KeyCode::Backspace => Some(F::Backspace),
            KeyCode::Char(c) => Some(F::Input(c)),
            _ => None,
        };
    }
    let nav = match k.code {
        KeyCode::Up | KeyCode::Char('k') => Some(F::Up),
        KeyCode::Down | KeyCode::Char('j') => Some(F::Down),
        KeyCode::PageUp => Some(F::PageUp),
        KeyCode::PageDown => Some(F::PageDown),
        KeyCode::Home | KeyCode::Char('g') => Some(F::Top),
        KeyCode::End | KeyCode::Char('G') => Some(F::Bottom),
        KeyCode::Esc | KeyCode::Char('q') => Some(F::Close),
        _ => None,
    };
    if pane.preview.is_some() {
        return nav.or(match k.code {
            KeyCode::Enter | KeyCode::Char('p') => Some(F::Close),
            _ => None,
        });
    }
    nav.or(match k.code {
        KeyCode::Enter => Some(F::Activate),
        KeyCode::Right | KeyCode::Char('l') => Some(F::Expand),
        KeyCode::Left | KeyCode::Char('h') => Some(F::Collapse),
        KeyCode::Char('p') => Some(F::Preview),
        KeyCode::Char('s') => Some(F::ToggleSort),
        KeyCode::Char('E') => Some(F::ExpandAll),
        KeyCode::Char('C') => Some(F::CollapseAll),
        KeyCode::Char('L') => Some(F::Largest),
        KeyCode::Char('c') => Some(F::Changes),
        KeyCode::Char('/') => Some(F::StartFilter),
        KeyCode::Char('e') => Some(F::StartExtract),
        _ => None,
    })
}
