//! Keys that move: an open overlay's own selection, scroll or zoom first, then the focus and
//! the selection of the build screen's panes.

use super::log::scroll_log;
use super::{Action, explain, select};
use crate::model::{Focus, Model, Overlay};

/// `a` is one of the keys that move; any other does nothing here.
pub(super) fn on_action(m: &mut Model, a: &Action) {
    use Action as A;
    match (&m.overlay, a) {
        (Some(Overlay::Help), A::Up | A::Down | A::PageUp | A::PageDown) => scroll_help(m, a),
        (
            Some(Overlay::Timeline(_)),
            A::Up | A::Down | A::Left | A::Right | A::ZoomIn | A::ZoomOut,
        ) => timeline(m, a),
        (Some(Overlay::Slowest(_)), A::Up | A::Down) => move_in_slowest(m, a == &A::Up),
        (Some(Overlay::Slowest(_)), A::Enter) => pick_slowest(m),
        // Only the timeline pans and zooms.
        (_, A::Left | A::Right | A::ZoomIn | A::ZoomOut) => {}
        (None, A::FocusNext | A::Enter) => focus_next(m, a == &A::Enter),
        (Some(_), A::FocusNext | A::Enter) => {}
        (_, A::FocusPrev) => focus_prev(m),
        (_, A::Up) => move_selection(m, -1),
        (_, A::Down) => move_selection(m, 1),
        (_, A::PageUp) => move_selection(m, -page(m)),
        (_, A::PageDown) => move_selection(m, page(m)),
        (_, A::Top) => top(m),
        (_, A::Bottom) => bottom(m),
        _ => {}
    }
}

fn scroll_help(m: &mut Model, a: &Action) {
    // Clamped when drawn: the view knows how many lines fit.
    let step: i32 = match a {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -10,
        _ => 10,
    };
    let max = i32::try_from(crate::help::lines(m).len()).unwrap_or(i32::MAX);
    m.help_scroll = u16::try_from((i32::from(m.help_scroll) + step).clamp(0, max)).unwrap_or(0);
}

fn timeline(m: &mut Model, a: &Action) {
    let span = m.timeline().length_ms();
    if let Some(Overlay::Timeline(v)) = &mut m.overlay {
        match a {
            Action::Up => v.top = v.top.saturating_sub(1),
            Action::Down => v.top += 1,
            Action::Left => v.pan(-1, span),
            Action::Right => v.pan(1, span),
            Action::ZoomIn => v.zoom_by(1, span),
            _ => v.zoom_by(-1, span),
        }
    }
}

fn move_in_slowest(m: &mut Model, up: bool) {
    let n = m.slowest().len();
    if let Some(Overlay::Slowest(i)) = &mut m.overlay {
        *i = if up {
            i.saturating_sub(1)
        } else {
            (*i + 1).min(n.saturating_sub(1))
        };
    }
}

/// Enter in the slowest list: that instruction selected, its own log shown.
fn pick_slowest(m: &mut Model) {
    if let Some(Overlay::Slowest(i)) = m.overlay {
        if let Some(&(_, s, k)) = m.slowest().get(i) {
            m.track_build = false;
            select(m, s, k);
            m.log.whole_stage = false;
            m.focus = Focus::Instructions;
        }
        m.overlay = None;
    }
}

/// Tab cycles the panes; Enter goes the same way but stays in the last one.
fn focus_next(m: &mut Model, enter: bool) {
    m.focus = match m.focus {
        Focus::Graph => Focus::Instructions,
        Focus::Instructions if m.explain.open => Focus::Explain,
        Focus::Instructions => Focus::Log,
        f @ (Focus::Log | Focus::Explain) if enter => f,
        Focus::Log | Focus::Explain => Focus::Graph,
    };
}

fn focus_prev(m: &mut Model) {
    m.focus = match m.focus {
        Focus::Graph if m.explain.open => Focus::Explain,
        Focus::Graph => Focus::Log,
        Focus::Instructions => Focus::Graph,
        Focus::Log | Focus::Explain => Focus::Instructions,
    };
}

fn top(m: &mut Model) {
    match m.focus {
        Focus::Log => {
            m.log.follow = false;
            m.log.top = 0;
        }
        Focus::Explain => m.explain.scroll = 0,
        _ => move_selection(m, isize::MIN / 2),
    }
}

fn bottom(m: &mut Model) {
    match m.focus {
        Focus::Log => m.log.follow = true,
        Focus::Explain => explain::scroll(m, isize::MAX / 2),
        _ => move_selection(m, isize::MAX / 2),
    }
}

fn move_selection(m: &mut Model, delta: isize) {
    match m.focus {
        Focus::Graph => {
            let n = m.stage_count();
            if n > 0 {
                m.track_build = false;
                let s = m.stage.saturating_add_signed(delta).min(n - 1);
                select(m, s, 0);
            }
        }
        Focus::Instructions => {
            let n = m.instruction_count();
            if n > 0 {
                m.track_build = false;
                let k = m.instruction.saturating_add_signed(delta).min(n - 1);
                select(m, m.stage, k);
            }
        }
        Focus::Log => scroll_log(m, delta),
        Focus::Explain => explain::scroll(m, delta),
    }
}

fn page(m: &Model) -> isize {
    let a = m.areas();
    let rows = match m.focus {
        Focus::Graph => a.graph.height.saturating_sub(2) / 2,
        Focus::Instructions => a.instructions.height.saturating_sub(2),
        Focus::Log | Focus::Explain => a.log.height.saturating_sub(3),
    };
    isize::from(rows.max(1) as i16)
}
