//! Small drawing helpers every pane uses: a pane's box, a centred overlay, status glyphs,
//! durations.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType, Borders};

use stagescope_plan::Status;

pub(crate) fn pane(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default().fg(Color::Cyan)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(style)
        .title(title)
        .title_style(Style::default().add_modifier(Modifier::BOLD))
}

pub(crate) fn glyph(s: Status) -> (&'static str, Style) {
    match s {
        Status::Waiting => ("○", Style::default().fg(Color::DarkGray)),
        Status::Running => ("◐", Style::default().fg(Color::Yellow)),
        Status::Done => ("✓", Style::default().fg(Color::Green)),
        Status::Cached => ("≡", Style::default().fg(Color::Blue)),
        Status::Failed => ("✗", Style::default().fg(Color::Red)),
        Status::NotNeeded => ("-", Style::default().fg(Color::DarkGray)),
    }
}

pub(crate) fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

/// A box of at most `w` x `h` centred in `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(r);
    r
}

/// `s` in exactly `w` columns: padded, or cut with `…`.
pub(crate) fn clip(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        format!("{s:<w$}")
    } else {
        let mut out: String = s.chars().take(w.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A list row's style: reversed when selected.
pub(crate) fn selected_style(on: bool) -> Style {
    if on {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    }
}
