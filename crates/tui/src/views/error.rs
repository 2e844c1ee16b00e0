//! The last overlay: the build could not go on (daemon gone, context unreadable).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::widgets::centered;

pub fn render(frame: &mut Frame, area: Rect, message: &str) {
    let r = centered(area, 70, 8);
    frame.render_widget(Clear, r);
    let text = vec![
        Line::from(message.to_string()),
        Line::from(""),
        Line::styled(
            "Esc to look at what was built · q to quit",
            Style::default().fg(Color::Gray),
        ),
    ];
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_type(BorderType::Double)
                .border_style(Style::default().fg(Color::Red))
                .title(" Error "),
        ),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::super::tests::render_with;

    #[test]
    fn error_box() {
        let s = render_with(60, 10, |f| {
            super::render(f, f.area(), "the daemon went away mid-build")
        });
        insta::assert_snapshot!(s);
    }
}
