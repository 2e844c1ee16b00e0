//! One file per pane; `draw` lays them out and puts overlays on top.

pub mod error;
pub mod explain;
pub mod graph;
pub mod help;
pub mod instructions;
pub mod lanes;
pub mod log;
pub mod slowest;
pub mod status;
pub mod timeline;

use ratatui::Frame;
use ratatui::style::Color;

use super::model::{Focus, Model, Overlay};

pub fn draw(frame: &mut Frame, m: &Model) {
    if let Some(p) = &m.files {
        crate::files::view::render(frame, frame.area(), p);
    } else {
        let a = crate::layout::areas(frame.area());
        if let Some(v) = &m.diff.view {
            // The diff view takes the panes' place; the status bar stays.
            crate::diff::view::render(frame, a.graph.union(a.log), v);
        } else {
            graph::render(frame, a.graph, m);
            instructions::render(frame, a.instructions, m);
            if m.explain.open {
                explain::render(frame, a.log, m);
            } else {
                log::render(frame, a.log, m);
            }
        }
        status::render(frame, a.status, m);
    }
    match &m.overlay {
        Some(Overlay::Help) => help::render(frame, frame.area(), m),
        Some(Overlay::Slowest(sel)) => slowest::render(frame, frame.area(), m, *sel),
        Some(Overlay::Error(e)) => error::render(frame, frame.area(), &e.to_string()),
        Some(Overlay::Timeline(v)) => timeline::render(frame, frame.area(), m, v),
        None => {}
    }
    if m.monochrome {
        // NO_COLOR: every colour goes; bold, reverse and the borders keep what they say.
        for cell in &mut frame.buffer_mut().content {
            cell.fg = Color::Reset;
            cell.bg = Color::Reset;
            cell.underline_color = Color::Reset;
        }
    }
}

pub(crate) fn focused(m: &Model, f: Focus) -> bool {
    m.focus == f && m.overlay.is_none()
}

#[cfg(test)]
pub(crate) mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::model::Pause;
    use crate::update::tests::{DOCKERFILE, feed, ins, log, model, plan_of, started};
    use crate::update::{Msg, update};
    use stagescope_plan::BuildEvent;

    /// The screen as text, one row a line.
    pub(crate) fn render_with(w: u16, h: u16, f: impl FnOnce(&mut Frame)) -> String {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(f).expect("draw");
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            let mut line = String::new();
            for x in 0..w {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub(crate) fn screen(m: &Model) -> String {
        let (w, h) = m.size;
        render_with(w, h, |f| draw(f, m))
    }

    /// deps built, builder half-way.
    fn first_stage_built(m: &mut Model) {
        feed(m, [started()]);
        feed(m, ins(0, 0, true, 0));
        feed(m, ins(0, 1, false, 420));
        feed(
            m,
            [BuildEvent::StageFinished {
                stage: 0,
                image: None,
            }],
        );
        feed(m, ins(1, 0, true, 0));
        feed(m, ins(1, 1, false, 30));
    }

    /// The model in each state the snapshots cover, built from events.
    pub(crate) fn state(name: &str) -> Model {
        let mut m = model();
        match name {
            "waiting" => {}
            "building" => {
                first_stage_built(&mut m);
                feed(&mut m, ins(1, 2, false, 120));
                feed(
                    &mut m,
                    [
                        BuildEvent::InstructionStarted {
                            stage: 1,
                            instruction: 3,
                        },
                        log(
                            1,
                            3,
                            "building\n\x1b[32mcompiled\x1b[0m 3 crates\n\x1b]0;title\x07step \x1b[2Jtwo\n",
                        ),
                    ],
                );
                update(&mut m, Msg::Tick { elapsed_ms: 1500 });
            }
            "cached" => {
                feed(&mut m, [started()]);
                for (s, n) in [(0, 2), (1, 4), (3, 3)] {
                    for k in 0..n {
                        feed(&mut m, ins(s, k, true, 0));
                    }
                    feed(
                        &mut m,
                        [BuildEvent::StageFinished {
                            stage: s,
                            image: None,
                        }],
                    );
                }
                feed(
                    &mut m,
                    [BuildEvent::BuildFinished {
                        image: None,
                        duration_ms: 800,
                    }],
                );
                update(&mut m, Msg::Ended(Ok(())));
            }
            "failed" => {
                m = state("building");
                feed(
                    &mut m,
                    [
                        log(1, 3, "sh: make: not found\n"),
                        BuildEvent::BuildFailed {
                            stage: Some(1),
                            instruction: Some(3),
                            message: "process \"/bin/sh -c make\" did not complete successfully: exit code: 127".into(),
                            exit_code: Some(127),
                        },
                    ],
                );
                update(&mut m, Msg::Ended(Ok(())));
            }
            "paused" => {
                m = Model::new(plan_of(DOCKERFILE), true);
                first_stage_built(&mut m);
                m.breakpoints.insert((1, 1));
                update(&mut m, Msg::Paused(Pause::Breakpoint(1, 1)));
                update(&mut m, Msg::Tick { elapsed_ms: 2000 });
            }
            "help" => {
                m = state("building");
                update(&mut m, Msg::Action(crate::update::Action::Help));
            }
            other => panic!("no state {other}"),
        }
        m
    }

    pub(crate) const STATES: &[&str] =
        &["waiting", "building", "cached", "failed", "paused", "help"];

    #[test]
    fn full_screen_in_every_state() {
        for name in STATES {
            for (w, h) in [(80, 24), (120, 40)] {
                let mut m = state(name);
                m.size = (w, h);
                insta::assert_snapshot!(format!("screen_{name}_{w}x{h}"), screen(&m));
            }
        }
    }

    #[test]
    fn error_overlay_and_slowest() {
        let mut m = state("building");
        update(
            &mut m,
            Msg::Ended(Err(crate::update::tests::failed(
                "Cannot reach the Docker daemon at unix:///var/run/docker.sock — is it running?",
            ))),
        );
        insta::assert_snapshot!("screen_daemon_gone_80x24", screen(&m));
        let mut m = state("failed");
        update(&mut m, Msg::Action(crate::update::Action::Slowest));
        insta::assert_snapshot!("screen_slowest_80x24", screen(&m));
    }

    #[test]
    fn tiny_terminal_does_not_panic() {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0)] {
            let mut m = state("failed");
            m.size = (w, h);
            let _ = render_with(w.max(1), h.max(1), |f| draw(f, &m));
        }
    }

    #[test]
    fn no_color_draws_without_colour_and_keeps_the_text() {
        use ratatui::style::Modifier;
        let screen = |mono: bool| {
            let mut m = state("failed");
            m.monochrome = mono;
            m.overlay = None;
            let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
            t.draw(|f| draw(f, &m)).expect("draw");
            t.backend().buffer().clone()
        };
        let (colour, mono) = (screen(false), screen(true));
        assert!(colour.content.iter().any(|c| c.fg != Color::Reset));
        assert!(
            mono.content
                .iter()
                .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
            "a colour was left"
        );
        let text = |b: &ratatui::buffer::Buffer| -> String {
            b.content.iter().map(|c| c.symbol()).collect()
        };
        assert_eq!(text(&colour), text(&mono));
        // The selection still stands out without colour.
        assert!(
            mono.content
                .iter()
                .any(|c| c.modifier.contains(Modifier::REVERSED))
        );
    }
}
