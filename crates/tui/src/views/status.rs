//! The bottom line: builder, engine, elapsed time, what the build is doing, key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::model::{Model, Pause};
use crate::widgets::duration;

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let bar = Style::default().bg(Color::DarkGray).fg(Color::White);
    let mut spans = vec![];
    if let Some(p) = &m.shell_prompt {
        let what = m
            .plan()
            .stages
            .get(p.stage)
            .map(|s| s.display_name())
            .unwrap_or_default();
        spans.push(Span::styled(
            format!("shell in {what}#{} $ ", p.instruction),
            bar,
        ));
        spans.push(Span::styled(
            p.command.clone(),
            bar.add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            "█  Enter run (empty: /bin/sh) · Esc cancel",
            bar,
        ));
        frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
        return;
    }
    if let Some(input) = &m.log.input {
        spans.push(Span::styled(
            format!("/{input}"),
            bar.add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled("█  Enter search · Esc cancel", bar));
        frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
        return;
    }
    let (phase_style, phase) = match m.pause {
        Some(Pause::BeforeStage(s)) => (
            Color::Yellow,
            format!(
                "PAUSED before {} · n next · c continue",
                m.plan().stages[s].display_name()
            ),
        ),
        Some(Pause::Breakpoint(s, k)) => (
            Color::Yellow,
            format!(
                "BREAK {}#{k} · s shell · n next · c continue",
                m.plan().stages[s].display_name()
            ),
        ),
        Some(Pause::Failed) => (
            Color::Red,
            "FAILED · s shell before it · w write log".into(),
        ),
        None => (
            if m.state.finished.is_some() {
                Color::Green
            } else {
                Color::Cyan
            },
            m.phase().to_string(),
        ),
    };
    spans.push(Span::styled(
        format!(" {phase} "),
        Style::default()
            .bg(phase_style)
            .fg(Color::Black)
            .add_modifier(Modifier::BOLD),
    ));
    if let Some(n) = &m.notice {
        spans.push(Span::styled(format!(" {n} ·"), bar.fg(Color::Yellow)));
    }
    let builder = m.builder.map_or("-".to_string(), |b| b.to_string());
    let mut info = format!(" {builder} · {}", duration(m.elapsed_ms));
    if !m.engine.is_empty() {
        info = format!(" {builder} · {} · {}", m.engine, duration(m.elapsed_ms));
    }
    // The context transfer, as buildx prints it: what a slow start was spent on.
    if let Some((bytes, files, ms)) = m.state.context_sent {
        let files = files.map_or_else(String::new, |n| format!(" {n} files"));
        info.push_str(&format!(
            " · context {}{files} {}",
            stagescope_fs::format::human_bytes(bytes),
            duration(ms)
        ));
    } else if m.state.context_bytes > 0 {
        info.push_str(&format!(
            " · context {}…",
            stagescope_fs::format::human_bytes(m.state.context_bytes)
        ));
    }
    spans.push(Span::styled(info, bar));
    spans.push(Span::styled(
        " · ? help  q quit  e explain  / search  S slowest",
        bar.fg(Color::Gray),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

#[cfg(test)]
mod tests {
    use super::super::tests::{STATES, render_with, state};

    #[test]
    fn status_bar_in_every_state() {
        let all: String = STATES
            .iter()
            .map(|s| {
                let m = state(s);
                format!(
                    "{s}: {}",
                    render_with(80, 1, |f| super::render(f, f.area(), &m))
                )
            })
            .collect();
        insta::assert_snapshot!(all);
    }

    #[test]
    fn the_context_transfer_shows_while_it_runs_and_when_it_is_done() {
        use stagescope_plan::BuildEvent;
        let mut m = state("building");
        m.state
            .apply(&BuildEvent::ContextProgress { bytes: 3 << 20 });
        let running = render_with(120, 1, |f| super::render(f, f.area(), &m));
        assert!(running.contains("context 3.0MB…"), "{running}");
        m.state.apply(&BuildEvent::ContextSent {
            bytes: 0,
            files: Some(0),
            duration_ms: 40,
        });
        let done = render_with(120, 1, |f| super::render(f, f.area(), &m));
        assert!(done.contains("context 0B 0 files"), "{done}");
    }
}
