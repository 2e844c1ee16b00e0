//! The stage graph: one node per stage (status, name, base, duration, cached share) with its
//! incoming edges, the critical path marked with `*` and drawn in yellow.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{duration, focused, glyph, pane};
use crate::build::Status;
use crate::tui::model::{Focus, Model, NODE_ROWS, first_visible};

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let plan = m.plan();
    let critical = plan.critical_path(&m.state.stage_durations());
    let done = m
        .state
        .stages
        .iter()
        .filter(|s| matches!(s.status, Status::Done | Status::Cached))
        .count();
    let needed = plan.stages.iter().filter(|s| s.needed).count();
    let block = pane(
        format!(" Stages {done}/{needed} "),
        focused(m, Focus::Graph),
    );
    let rows = usize::from(area.height.saturating_sub(2));
    let visible = (rows / NODE_ROWS).max(1);
    let first = first_visible(m.stage, visible);
    let mut lines = Vec::with_capacity(rows);
    for (s, stage) in plan.stages.iter().enumerate().skip(first).take(visible) {
        let st = &m.state.stages[s];
        let (g, gs) = glyph(st.status);
        let on_path = critical.contains(&s) && st.status != Status::Waiting;
        let mut name_style = Style::default().add_modifier(Modifier::BOLD);
        if on_path {
            name_style = name_style.fg(Color::Yellow);
        }
        let selected = s == m.stage;
        let sel = if selected {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let from = match stage.base_stage {
            Some(b) => format!("← {}", plan.stages[b].display_name()),
            None => stage.base.clone(),
        };
        lines.push(Line::from(vec![
            Span::styled(
                if on_path { "*" } else { " " },
                Style::default().fg(Color::Yellow),
            ),
            Span::styled(g, gs),
            Span::raw(" "),
            Span::styled(stage.display_name(), name_style.patch(sel)),
            Span::styled(format!(" {from}"), Style::default().fg(Color::DarkGray)),
        ]));
        let n = st.instructions.len();
        let mut detail = vec![Span::raw("   ")];
        match st.status {
            Status::NotNeeded => detail.push(Span::styled(
                "not needed",
                Style::default().fg(Color::DarkGray),
            )),
            Status::Waiting => detail.push(Span::styled(
                "waiting",
                Style::default().fg(Color::DarkGray),
            )),
            _ => {
                detail.push(Span::raw(format!("{:>6}", duration(st.duration_ms()))));
                let finished = st
                    .instructions
                    .iter()
                    .filter(|i| i.duration_ms.is_some())
                    .count()
                    .max(1);
                let share = st.cached_count() * 100 / finished;
                detail.push(Span::styled(
                    format!(" {share:>3}% cached"),
                    Style::default().fg(Color::Blue),
                ));
                let _ = n;
            }
        }
        // Edges in: the stages this one copies or mounts from (FROM is on the first row).
        let others: Vec<String> = stage
            .deps
            .iter()
            .filter(|&&d| Some(d) != stage.base_stage)
            .map(|&d| plan.stages[d].display_name())
            .collect();
        if !others.is_empty() {
            detail.push(Span::styled(
                format!(" ⇠ {}", others.join(",")),
                Style::default().fg(Color::Magenta),
            ));
        }
        lines.push(Line::from(detail));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_with, state};

    #[test]
    fn graph_pane_per_state() {
        for name in ["waiting", "building", "cached", "failed"] {
            let m = state(name);
            let s = render_with(30, 12, |f| super::render(f, f.area(), &m));
            insta::assert_snapshot!(format!("graph_{name}"), s);
        }
    }

    #[test]
    fn fifty_stages_keep_the_selection_in_view() {
        let text: String = (0..50)
            .map(|i| format!("FROM busybox AS s{i}\nRUN echo {i}\n"))
            .collect();
        let mut m = crate::tui::model::Model::new(crate::tui::update::tests::plan_of(&text), false);
        m.stage = 42;
        let s = render_with(30, 12, |f| super::render(f, f.area(), &m));
        assert!(s.contains("s42"), "{s}");
    }
}
