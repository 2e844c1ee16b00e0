//! Instructions of the selected stage: status, duration with a bar scaled to the slowest,
//! CACHED badge, breakpoint mark, Dockerfile line and text.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::focused;
use crate::layout::first_visible;
use crate::model::{Focus, Model};
use crate::widgets::{duration, glyph, pane};

const BAR: usize = 8;

/// A bar of `BAR` cells, eighths included, for `ms` out of `max`.
pub fn bar(ms: u64, max: u64) -> String {
    if max == 0 {
        return " ".repeat(BAR);
    }
    let eighths = (u128::from(ms) * (BAR as u128 * 8) / u128::from(max)) as usize;
    let full = eighths / 8;
    let part = eighths % 8;
    let mut s = "█".repeat(full);
    if full < BAR {
        s.push_str([" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][part]);
        s.push_str(&" ".repeat(BAR - full - 1));
    }
    s
}

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let Some(stage) = m.plan().stages.get(m.stage) else {
        frame.render_widget(pane(" Instructions ".into(), false), area);
        return;
    };
    let st = &m.state.stages[m.stage];
    let title = format!(
        " {} · {} instructions ",
        stage.display_name(),
        stage.instructions.len()
    );
    let block = pane(title, focused(m, Focus::Instructions));
    // The selected instruction's warnings take the last row (only when there are any).
    let selected = m.warnings_at(m.stage, m.instruction);
    let note = selected.first().map(|w| {
        format!(
            "⚠ {}: {}",
            w.rule.name,
            stagescope_report::sanitize::name(&w.detail)
        )
    });
    // And why it ran instead of coming from the cache, when the run is recorded.
    let miss = st
        .instructions
        .get(m.instruction)
        .and_then(|i| i.miss.as_ref())
        .map(|x| format!("ran: {}", stagescope_report::sanitize::name(&x.line())));
    let notes: Vec<(String, Color)> = note
        .map(|n| (n, Color::Yellow))
        .into_iter()
        .chain(miss.map(|n| (n, Color::Magenta)))
        .collect();
    let rows = usize::from(area.height.saturating_sub(2)).saturating_sub(notes.len());
    let first = first_visible(m.instruction, rows);
    let max = st
        .instructions
        .iter()
        .filter_map(|i| i.duration_ms)
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = stage
        .instructions
        .iter()
        .zip(&st.instructions)
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(k, (pi, si))| {
            let (g, gs) = glyph(si.status);
            let sel = if k == m.instruction {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            let bp = m.breakpoints.contains(&(m.stage, k));
            Line::from(vec![
                Span::styled(if bp { "●" } else { " " }, Style::default().fg(Color::Red)),
                Span::styled(g, gs),
                Span::raw(format!(
                    " {:>6} ",
                    si.duration_ms.map(duration).unwrap_or_default()
                )),
                Span::styled(
                    bar(si.duration_ms.unwrap_or(0), max),
                    Style::default().fg(Color::Yellow),
                ),
                match (si.cached, si.no_work) {
                    (true, _) => Span::styled(
                        " CACHED ",
                        Style::default().fg(Color::Black).bg(Color::Blue),
                    ),
                    // Nothing to run (FROM of an image already there, ARG, ENV…).
                    (false, true) => Span::styled(" no work", Style::default().fg(Color::DarkGray)),
                    (false, false) => Span::raw("        "),
                },
                Span::styled(
                    format!("{:>3}", pi.line),
                    Style::default().fg(Color::DarkGray),
                ),
                if m.warnings_at(m.stage, k).is_empty() {
                    Span::raw(" ")
                } else {
                    Span::styled("⚠", Style::default().fg(Color::Yellow))
                },
                Span::styled(pi.text.clone(), sel),
            ])
        })
        .collect();
    if !notes.is_empty() {
        lines.resize(rows, Line::default());
        for (n, c) in notes {
            lines.push(Line::styled(n, Style::default().fg(c)));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{render_with, state};
    use super::bar;

    #[test]
    fn bars_scale_to_the_slowest() {
        assert_eq!(bar(10, 10), "████████");
        assert_eq!(bar(0, 10), "        ");
        assert_eq!(bar(5, 10), "████    ");
        assert_eq!(bar(1, 16), "▌       ");
        assert_eq!(bar(3, 0), "        ");
    }

    #[test]
    fn instructions_pane_per_state() {
        for name in ["waiting", "building", "cached", "failed", "paused"] {
            let m = state(name);
            let s = render_with(60, 8, |f| super::render(f, f.area(), &m));
            insta::assert_snapshot!(format!("instructions_{name}"), s);
        }
    }

    #[test]
    fn why_the_selected_instruction_ran() {
        use crate::update::{Msg, update};
        use stagescope_plan::{BuildEvent, Miss, MissReason};
        let mut m = state("building");
        let miss = Miss {
            reason: MissReason::FilesChanged,
            detail: "1 file changed: src/main.c (modified)".into(),
            paths: vec!["src/main.c".into()],
            arg: None,
        };
        update(
            &mut m,
            Msg::Build(BuildEvent::CacheMiss {
                stage: 1,
                instruction: 2,
                miss,
            }),
        );
        m.instruction = 2;
        let s = render_with(60, 8, |f| super::render(f, f.area(), &m));
        assert!(
            s.contains("ran: files-changed: 1 file changed: src/main"),
            "{s}"
        );
        insta::assert_snapshot!("instructions_miss", s);
        update(&mut m, Msg::Action(crate::update::Action::Slowest));
        let s = crate::views::tests::screen(&m);
        assert!(s.contains("← files-changed"), "{s}");
    }

    #[test]
    fn warnings_marked_and_selected_detail_shown() {
        use stagescope_dockerfile::lint::{Warning, rules};
        let mut m = state("waiting");
        let line = m.plan().stages[m.stage].instructions[0].line;
        m.warnings = vec![Warning {
            rule: &rules::FROM_AS_CASING,
            line,
            detail: "'as' and 'FROM' keywords' casing do not match".into(),
        }];
        m.instruction = 0;
        let s = render_with(60, 8, |f| super::render(f, f.area(), &m));
        insta::assert_snapshot!("instructions_warning", s);
    }
}
