//! `t`: the run along wall-clock time — a waterfall of stages and their instructions,
//! parallel stages side by side in time, cached work light, the critical path marked; zoom
//! with `+`/`-`, pan with `←`/`→`, scroll with `↑`/`↓`.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::model::{Model, TimelineView};
use crate::widgets::{duration, pane};
use stagescope_core::history::timeline::bar_text;
use stagescope_plan::text::one_line;

/// Columns of the row labels and of the durations.
const LABEL: usize = 24;
const TIME: usize = 7;

/// One line of `width` columns, padded.
fn clip(text: &str, width: usize) -> String {
    format!("{:<width$}", one_line(text, width))
}

pub fn render(frame: &mut Frame, area: Rect, m: &Model, v: &TimelineView) {
    frame.render_widget(Clear, area);
    let tl = m.timeline();
    let now = m.timeline_now().max(tl.span_ms);
    let length = tl.length_ms();
    let w = v.window(length);
    // Times are shown from the first instruction's start.
    let from = v.left_ms.min(length.saturating_sub(w));
    let left = tl.start_ms + from;
    let inner = usize::from(area.width.saturating_sub(2));
    let bar_w = inner.saturating_sub(LABEL + TIME + 2).max(1);
    let title = format!(
        " Timeline · {} – {} of {} · +/- zoom · ←/→ · t/Esc ",
        duration(from),
        duration(from + w),
        duration(length)
    );
    let block = pane(title, true);
    let mut rows: Vec<Line> = Vec::new();
    let dim = Style::default().fg(Color::DarkGray);
    for lane in &tl.lanes {
        let Some(stage) = m.plan().stages.get(lane.stage) else {
            continue;
        };
        let took = lane.end_ms.unwrap_or(now).saturating_sub(lane.start_ms);
        let mark = if lane.critical { "*" } else { " " };
        let stage_style = if lane.critical {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        rows.push(Line::from(vec![
            Span::styled(
                clip(&format!("{mark}{}", stage.display_name()), LABEL),
                stage_style,
            ),
            Span::raw(" "),
            Span::styled(
                bar_text(&lane.bars, now, left, w, bar_w),
                stage_style.remove_modifier(Modifier::BOLD),
            ),
            Span::raw(format!(" {:>TIME$}", duration(took))),
        ]));
        for b in &lane.bars {
            let Some(ins) = stage.instructions.get(b.instruction) else {
                continue;
            };
            let took = b.end_ms.unwrap_or(now).saturating_sub(b.start_ms);
            let style = if b.cached {
                Style::default().fg(Color::Blue)
            } else {
                Style::default().fg(Color::Green)
            };
            rows.push(Line::from(vec![
                Span::styled(format!(" {:>4} ", ins.line), dim),
                Span::raw(clip(&ins.text, LABEL - 6)),
                Span::raw(" "),
                Span::styled(
                    bar_text(std::slice::from_ref(b), now, left, w, bar_w),
                    style,
                ),
                Span::styled(
                    format!(
                        " {:>TIME$}",
                        if b.cached {
                            "cached".to_string()
                        } else {
                            duration(took)
                        }
                    ),
                    dim,
                ),
            ]));
        }
    }
    let height = usize::from(area.height.saturating_sub(3));
    let body: Vec<Line> = if rows.is_empty() {
        vec![Line::from("nothing has run yet")]
    } else {
        let top = v.top.min(rows.len().saturating_sub(height));
        rows.into_iter().skip(top).take(height).collect()
    };
    let mut lines = body;
    lines.resize(height, Line::default());
    lines.push(Line::styled(
        "█ ran  ░ cached  * critical path  ↑/↓ scroll",
        dim,
    ));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::Action;
    use crate::update::{Msg, update};
    use crate::views::tests::{render_with, state};
    use stagescope_core::history::Timed;
    use stagescope_plan::BuildEvent;

    fn timed(m: &mut Model, at_ms: u64, event: BuildEvent) {
        m.timeline.push(Timed { at_ms, event });
    }

    /// The "cached" state with a timeline: deps and builder in parallel, the release after.
    fn run() -> Model {
        let mut m = state("cached");
        let steps = [
            (0, 0, 0, 50, true),
            (0, 1, 50, 1200, false),
            (1, 0, 0, 10, true),
            (1, 1, 10, 200, false),
            (1, 2, 200, 2600, false),
            (1, 3, 2600, 2700, true),
            (3, 0, 2700, 2710, true),
            (3, 1, 2710, 3100, false),
        ];
        for (s, k, a, b, cached) in steps {
            timed(
                &mut m,
                a,
                BuildEvent::InstructionStarted {
                    stage: s,
                    instruction: k,
                },
            );
            timed(
                &mut m,
                b,
                BuildEvent::InstructionFinished {
                    stage: s,
                    instruction: k,
                    cached,
                    duration_ms: b - a,
                },
            );
        }
        update(&mut m, Msg::Action(Action::Timeline));
        m
    }

    #[test]
    fn waterfall_at_80x24_and_zoomed() {
        let mut m = run();
        m.size = (80, 24);
        insta::assert_snapshot!("timeline_80x24", crate::views::tests::screen(&m));
        for a in [Action::ZoomIn, Action::ZoomIn, Action::Right] {
            update(&mut m, Msg::Action(a));
        }
        insta::assert_snapshot!("timeline_zoomed_80x24", crate::views::tests::screen(&m));
    }

    #[test]
    fn zoom_and_pan_stay_inside_the_run() {
        let mut v = TimelineView::default();
        v.pan(1, 1000);
        assert_eq!(v.left_ms, 0, "nothing to pan at zoom 1");
        v.zoom_by(1, 1000);
        assert_eq!((v.zoom, v.left_ms), (1, 250), "the middle stays");
        for _ in 0..10 {
            v.pan(1, 1000);
        }
        assert_eq!(v.left_ms, 500);
        for _ in 0..20 {
            v.zoom_by(1, 1000);
        }
        assert_eq!(v.zoom, crate::model::MAX_ZOOM);
        let _ = render_with(10, 4, |f| render(f, f.area(), &run(), &v));
    }
}
