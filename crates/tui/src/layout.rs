//! Where things sit on the screen: shared by the views, mouse hits and scrolling.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// Where each pane sits on a screen of a given size: shared by the views and by mouse hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Areas {
    pub graph: Rect,
    pub instructions: Rect,
    pub log: Rect,
    pub status: Rect,
}

pub(crate) fn areas(screen: Rect) -> Areas {
    let [body, status] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(1), Constraint::Length(1)])
        .areas(screen);
    let graph_w = if screen.width >= 120 { 44 } else { 30 };
    let [graph, right] = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(graph_w), Constraint::Min(10)])
        .areas(body);
    let [instructions, log] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Percentage(40), Constraint::Percentage(60)])
        .areas(right);
    Areas {
        graph,
        instructions,
        log,
        status,
    }
}

/// The first item of a list of `visible` rows drawn so that `selected` is on screen.
pub(crate) fn first_visible(selected: usize, visible: usize) -> usize {
    if visible == 0 {
        return selected;
    }
    (selected + 1).saturating_sub(visible)
}

/// Rows a stage node takes in the graph pane.
pub(crate) const NODE_ROWS: usize = 2;

/// Columns the Explain pane keeps free on each side, so words do not touch its border.
pub(crate) const EXPLAIN_PAD: u16 = 1;

/// Columns of text in an Explain pane drawn in `area`: the view wraps to it, scrolling
/// counts with it.
pub(crate) fn explain_text_width(area: Rect) -> usize {
    usize::from(area.width.saturating_sub(2 + 2 * EXPLAIN_PAD))
}
