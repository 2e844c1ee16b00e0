//! The log of the selected instruction or stage. Only the rows on screen are touched, so a
//! frame costs the same with ten lines or a million.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::focused;
use crate::ansi;
use crate::model::{Focus, Model};
use crate::widgets::pane;
use stagescope_plan::LogStream;

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let Some(stage) = m.plan().stages.get(m.stage) else {
        frame.render_widget(pane(" Log ".into(), false), area);
        return;
    };
    let what = if m.log.whole_stage {
        format!("{} (whole stage)", stage.display_name())
    } else {
        format!("{}#{}", stage.display_name(), m.instruction)
    };
    let len = m.log_len();
    let mut flags = vec![];
    if m.log.follow {
        flags.push("follow".to_string());
    }
    if m.log.wrap {
        flags.push("wrap".to_string());
    }
    if let Some(q) = &m.log.search {
        flags.push(format!("/{q}"));
    }
    let title = format!(
        " Log {what} · {len} lines {} ",
        if flags.is_empty() {
            String::new()
        } else {
            format!("[{}]", flags.join(" "))
        }
    );
    let block = pane(title, focused(m, Focus::Log));
    let rows = usize::from(area.height.saturating_sub(2));
    let width = usize::from(area.width.saturating_sub(2)).max(1);
    let needle = m.log.search.as_ref().map(|q| q.to_lowercase());
    let line_at = |n: usize| -> Line<'static> {
        let Some((stream, text)) = m.log_line(n) else {
            return Line::default();
        };
        let base = match stream {
            LogStream::Stdout => Style::default(),
            LogStream::Stderr => Style::default().fg(Color::LightRed),
        };
        let mut line = ansi::to_line(text, base);
        if let Some(q) = &needle
            && !q.is_empty()
            && ansi::plain(text).to_lowercase().contains(q.as_str())
        {
            let hl = if m.log.current_match == Some(n) {
                Style::default().bg(Color::Yellow).fg(Color::Black)
            } else {
                Style::default().add_modifier(Modifier::UNDERLINED)
            };
            line = line.patch_style(hl);
        }
        line
    };
    let mut top = m.log_top();
    if m.log.wrap && m.log.follow {
        // Following with wrapping: walk back from the tail until the rows are full.
        let mut used = 0;
        top = len;
        while top > 0 {
            let h = m.log_line(top - 1).map_or(1, |(_, t)| {
                ansi::plain(t).chars().count().div_ceil(width).max(1)
            });
            if used + h > rows {
                break;
            }
            used += h;
            top -= 1;
        }
    }
    let lines: Vec<Line> = (top..len.min(top + rows)).map(line_at).collect();
    let body = if len == 0 {
        Paragraph::new(Line::styled(
            "(no output)",
            Style::default().fg(Color::DarkGray),
        ))
    } else {
        let mut p = Paragraph::new(lines);
        if m.log.wrap {
            p = p.wrap(Wrap { trim: false });
        }
        p
    };
    frame.render_widget(body.block(block), area);
    if let Some(d) = m.state.stages[m.stage]
        .instructions
        .get(m.instruction)
        .map(|i| i.log.dropped())
        .filter(|d| *d > 0 && !m.log.whole_stage)
    {
        let note = Span::styled(
            format!(" {d} older lines not kept "),
            Style::default().fg(Color::DarkGray),
        );
        let r = Rect {
            x: area.x + 2,
            y: area.bottom().saturating_sub(1),
            width: area.width.saturating_sub(4),
            height: 1,
        };
        if area.height > 2 {
            frame.render_widget(Paragraph::new(Line::from(note)), r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_with, state};
    use crate::update::{Action, Msg, update};

    #[test]
    fn log_keeps_colours_and_strips_the_rest() {
        let m = state("building");
        let s = render_with(50, 8, |f| super::render(f, f.area(), &m));
        assert!(s.contains("compiled 3 crates"), "{s}");
        assert!(s.contains("step two"), "{s}");
        assert!(!s.contains("title"), "{s}");
        insta::assert_snapshot!(s);
    }

    #[test]
    fn failed_log_and_search() {
        let mut m = state("failed");
        let s = render_with(50, 8, |f| super::render(f, f.area(), &m));
        assert!(s.contains("make: not found"), "{s}");
        insta::assert_snapshot!("log_failed", s);
        update(&mut m, Msg::Action(Action::SearchStart));
        for c in "crates".chars() {
            update(&mut m, Msg::Action(Action::SearchInput(c)));
        }
        update(&mut m, Msg::Action(Action::SearchSubmit));
        update(&mut m, Msg::Action(Action::ToggleWrap));
        let s = render_with(30, 8, |f| super::render(f, f.area(), &m));
        insta::assert_snapshot!("log_search_wrapped", s);
    }
}
