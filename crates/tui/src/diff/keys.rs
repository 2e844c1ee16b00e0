//! The diff view's keys: a key event to a [`DiffKey`]. `q` goes back rather than quitting.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

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

pub(crate) fn on_key(k: &KeyEvent) -> Option<DiffKey> {
    use DiffKey as D;
    Some(match k.code {
        KeyCode::Up | KeyCode::Char('k') => D::Up,
        KeyCode::Down | KeyCode::Char('j') => D::Down,
        KeyCode::PageUp => D::PageUp,
        KeyCode::PageDown => D::PageDown,
        KeyCode::Home | KeyCode::Char('g') => D::Top,
        KeyCode::End | KeyCode::Char('G') => D::Bottom,
        KeyCode::Enter => D::Enter,
        KeyCode::Char('q') | KeyCode::Esc => D::Close,
        KeyCode::Tab | KeyCode::BackTab => D::SwitchPane,
        KeyCode::Right | KeyCode::Char('l') => D::Expand,
        KeyCode::Left | KeyCode::Char('h') => D::Collapse,
        KeyCode::Char('v') => D::CycleFilter,
        _ => return None,
    })
}
