//! `S`: the slowest instructions of the whole build; Enter jumps to one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::layout::first_visible;
use crate::model::Model;
use crate::widgets::{centered, duration, pane};

pub fn render(frame: &mut Frame, area: Rect, m: &Model, selected: usize) {
    let r = centered(area, 100, area.height.saturating_sub(4).max(5));
    let rows = usize::from(r.height.saturating_sub(2));
    let all = m.slowest();
    let first = first_visible(selected, rows);
    let lines: Vec<Line> = all
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(n, &(ms, s, k))| {
            let stage = &m.plan().stages[s];
            let ins = &stage.instructions[k];
            let st = &m.state.stages[s].instructions[k];
            let style = if n == selected {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            Line::from(vec![
                Span::styled(format!("{:>7} ", duration(ms)), style.fg(Color::Yellow)),
                Span::styled(
                    if st.cached { "CACHED " } else { "       " },
                    style.fg(Color::Blue),
                ),
                Span::styled(
                    format!("{}:{} ", stage.display_name(), ins.line),
                    style.fg(Color::Cyan),
                ),
                Span::styled(ins.text.clone(), style),
                match &st.miss {
                    Some(x) => Span::styled(
                        format!("  ← {}", stagescope_report::sanitize::name(&x.line())),
                        style.fg(Color::Magenta),
                    ),
                    None => Span::raw(""),
                },
            ])
        })
        .collect();
    frame.render_widget(Clear, r);
    let body = if lines.is_empty() {
        vec![Line::from("nothing has finished yet")]
    } else {
        lines
    };
    frame.render_widget(
        Paragraph::new(body).block(pane(
            " Slowest instructions · Enter to select · Esc ".into(),
            true,
        )),
        r,
    );
}
