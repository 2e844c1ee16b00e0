//! The stage graph: one node per stage (status, name, base, duration, cached share), the
//! edges drawn as lanes on the left (FROM grey, COPY --from magenta, RUN --mount cyan), the
//! critical path marked with `*` and drawn in yellow. When the edges need more lanes than
//! the pane can spare, they are listed under each node instead.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::focused;
use super::lanes::{self, Cell};
use crate::layout::{NODE_ROWS, first_visible};
use crate::model::{Focus, Model};
use crate::widgets::{duration, glyph, pane};
use stagescope_plan::{EdgeVia, Status};

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
    // A third of the pane at most goes to lanes, never less than the node text needs.
    let max_lanes = (usize::from(area.width) / 3).saturating_sub(1).min(12);
    let gutter = lanes::layout(
        &plan.edges,
        plan.stages.len(),
        NODE_ROWS,
        &critical,
        max_lanes,
    );
    let gutter_spans = |row: usize| -> Vec<Span<'static>> {
        let Some(g) = &gutter else { return Vec::new() };
        let mut spans: Vec<Span<'static>> = g.rows.get(row).map_or_else(Vec::new, |cells| {
            cells
                .iter()
                .map(|c| Span::styled(c.ch.to_string(), lane_style(c)))
                .collect()
        });
        if g.width > 0 {
            spans.push(Span::raw(" "));
        }
        spans
    };
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
        let mut head = gutter_spans(s * NODE_ROWS);
        head.extend([
            Span::styled(
                if on_path { "*" } else { " " },
                Style::default().fg(Color::Yellow),
            ),
            Span::styled(g, gs),
            Span::raw(" "),
            Span::styled(stage.display_name(), name_style.patch(sel)),
        ]);
        if m.stage_has_warnings(s) {
            head.push(Span::styled(" ⚠", Style::default().fg(Color::Yellow)));
        }
        head.push(Span::styled(
            format!(" {from}"),
            Style::default().fg(Color::DarkGray),
        ));
        lines.push(Line::from(head));
        let n = st.instructions.len();
        let mut detail = gutter_spans(s * NODE_ROWS + 1);
        detail.push(Span::raw("   "));
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
                // Nothing with work finished yet: no share to tell.
                let share = st
                    .cached_percent()
                    .map_or_else(|| " ".repeat(12), |p| format!(" {p:>3}% cached"));
                detail.push(Span::styled(share, Style::default().fg(Color::Blue)));
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
        if gutter.is_none() && !others.is_empty() {
            detail.push(Span::styled(
                format!(" ⇠ {}", others.join(",")),
                Style::default().fg(Color::Magenta),
            ));
        }
        lines.push(Line::from(detail));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn lane_style(c: &Cell) -> Style {
    let base = match c.via {
        Some(EdgeVia::From) => Style::default().fg(Color::Gray),
        Some(EdgeVia::Copy) => Style::default().fg(Color::Magenta),
        Some(EdgeVia::Mount) => Style::default().fg(Color::Cyan),
        None => Style::default(),
    };
    if c.critical {
        base.fg(Color::Yellow)
    } else {
        base
    }
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
        let mut m = crate::model::Model::new(crate::update::tests::plan_of(&text), false);
        m.stage = 42;
        let s = render_with(30, 12, |f| super::render(f, f.area(), &m));
        assert!(s.contains("s42"), "{s}");
    }

    #[test]
    fn a_fully_cached_rebuild_reads_100_percent() {
        use crate::update::tests::{feed, ins, plan_of};
        // BuildKit 20.10 on a rebuild: the FROM vertex uncached, the ARG settled with it,
        // the RUN cached. Both had nothing to do: the stage is wholly cached.
        let plan = plan_of("FROM busybox AS one\nARG V\nRUN echo $V\n");
        let mut m = crate::model::Model::new(plan, false);
        for (k, cached) in [(0, false), (1, false), (2, true)] {
            feed(&mut m, ins(0, k, cached, 0));
        }
        let s = render_with(30, 12, |f| super::render(f, f.area(), &m));
        assert!(s.contains("100% cached"), "{s}");
    }

    #[test]
    fn a_stage_with_a_check_warning_is_marked() {
        let mut m = state("waiting");
        let line = m.plan().stages[1].instructions[0].line;
        m.warnings = vec![stagescope_dockerfile::lint::Warning {
            rule: &stagescope_dockerfile::lint::rules::FROM_AS_CASING,
            line,
            detail: String::new(),
        }];
        let s = render_with(30, 12, |f| super::render(f, f.area(), &m));
        let marked: Vec<&str> = s.lines().filter(|l| l.contains('⚠')).collect();
        assert_eq!(marked.len(), 1, "{s}");
        assert!(
            marked[0].contains(&m.plan().stages[1].display_name()),
            "{s}"
        );
    }
}
