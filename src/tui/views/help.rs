//! `?`: every key, drawn from the keymap's own table so the two cannot drift apart.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::{centered, pane};
use crate::tui::keymap::HELP;
use crate::tui::model::Model;

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let table = if m.files.is_some() {
        crate::tui::fsview::HELP
    } else {
        HELP
    };
    let lines: Vec<Line> = table
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:>15} "),
                    Style::default()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let r = centered(area, 76, h);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(pane(" Keys · Esc to close ".into(), true)),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_with, state};

    #[test]
    fn help_lists_every_key() {
        let m = state("help");
        let s = render_with(80, 24, |f| super::render(f, f.area(), &m));
        for key in [
            "q, Ctrl-C",
            "Tab",
            "PgUp",
            "Enter",
            "/",
            "n / N",
            "b",
            "s",
            "w",
            "S",
            "Esc",
        ] {
            assert!(s.contains(key), "{key} missing:\n{s}");
        }
        insta::assert_snapshot!(s);
    }
}
