//! `?`: every key, drawn from the keymap's own table so the two cannot drift apart.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::help::{HelpLine, lines};
use crate::model::Model;
use crate::widgets::{centered, pane};

/// Lines are not wrapped (descriptions are kept short) so one entry is one screen row and the
/// scroll range is exact.
pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let keys = Style::default()
        .fg(Color::Cyan)
        .add_modifier(Modifier::BOLD);
    let lines: Vec<Line> = lines(m)
        .into_iter()
        .map(|l| match l {
            HelpLine::Title(t) => Line::from(vec![
                Span::raw(format!("{:15} ", "")),
                Span::styled(t, Style::default().add_modifier(Modifier::BOLD)),
            ]),
            HelpLine::Keys { keys: k, help } => Line::from(vec![
                Span::styled(format!("{k:>15} "), keys),
                Span::raw(help),
            ]),
        })
        .collect();
    let total = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let h = total.saturating_add(2);
    let r = centered(area, 76, h);
    let shown = r.height.saturating_sub(2);
    let scroll = m.help_scroll.min(total.saturating_sub(shown));
    let title = if shown < total {
        let last = (scroll + shown).min(total);
        format!(
            " Keys {}-{last} of {total} · ↑/↓ scroll · Esc to close ",
            scroll + 1
        )
    } else {
        " Keys · Esc to close ".to_string()
    };
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(pane(title, true)),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_with, state};

    #[test]
    fn a_short_screen_scrolls_to_the_last_key() {
        let mut m = state("help");
        let top = render_with(80, 24, |f| super::render(f, f.area(), &m));
        assert!(top.contains("↑/↓ scroll"), "{top}");
        m.help_scroll = u16::MAX;
        let bottom = render_with(80, 24, |f| super::render(f, f.area(), &m));
        let Some(crate::help::HelpLine::Keys { keys: last_key, .. }) = crate::help::lines(&m).pop()
        else {
            panic!("the help ends with a title");
        };
        assert!(bottom.contains(last_key), "{bottom}");
    }

    #[test]
    fn the_files_pane_lists_its_own_keys() {
        let mut m = crate::files::tests::opened();
        crate::update::update(
            &mut m,
            crate::update::Msg::Action(crate::update::Action::Help),
        );
        let s = render_with(80, 24, |f| super::render(f, f.area(), &m));
        insta::assert_snapshot!(s);
    }

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
