//! The Explain pane: the selected stage or instruction in plain words, with its numbers once
//! counted. Titles are bold and notes dim or italic, so nothing depends on colour.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Padding, Paragraph};

use super::focused;
use crate::explain::{Kind, wrapped};
use crate::layout::{EXPLAIN_PAD, explain_text_width};
use crate::model::{Focus, Model};
use crate::widgets::pane;

pub fn render(frame: &mut Frame, area: Rect, m: &Model) {
    let what = match m.plan().stages.get(m.stage) {
        Some(st) if m.explain.about_stage || m.instruction_count() == 0 => {
            format!(" · stage {}", st.display_name())
        }
        Some(st) => format!(" · {}#{}", st.display_name(), m.instruction),
        None => String::new(),
    };
    let block = pane(format!(" Explain{what} "), focused(m, Focus::Explain))
        .padding(Padding::horizontal(EXPLAIN_PAD));
    let rows = usize::from(area.height.saturating_sub(2));
    let all = wrapped(m, explain_text_width(area));
    let top = usize::from(m.explain.scroll).min(all.len().saturating_sub(rows));
    let lines: Vec<Line> = all
        .into_iter()
        .skip(top)
        .take(rows)
        .map(|(kind, text)| {
            let style = match kind {
                Kind::Title => Style::default().add_modifier(Modifier::BOLD),
                Kind::Note => Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::ITALIC),
                Kind::Fact => Style::default().fg(Color::Cyan),
                Kind::Text | Kind::Blank => Style::default(),
            };
            Line::styled(text, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::super::tests::screen;
    use crate::model::{Focus, Model};
    use crate::update::tests::{explained, feed, ins, started};
    use crate::update::{Action, Msg, update};
    use stagescope_core::explain::numbers::PathSize;
    use stagescope_core::explain::{InstructionNumbers, StageNumbers};
    use stagescope_plan::BuildEvent;

    /// The builder stage built, its COPY selected, the pane open at 80x24.
    fn copy_selected() -> Model {
        let mut m = explained(false);
        m.track_build = false;
        feed(&mut m, [started()]);
        for s in [0, 1] {
            for k in 0..m.state.stages[s].instructions.len() {
                feed(&mut m, ins(s, k, k == 0, 300));
            }
            let image = Some(format!("sha256:{s}"));
            feed(&mut m, [BuildEvent::StageFinished { stage: s, image }]);
        }
        update(&mut m, Msg::Action(Action::ToggleExplain));
        m.stage = 1;
        m.instruction = 2;
        m.focus = Focus::Instructions;
        m
    }

    fn builder_numbers() -> StageNumbers {
        let copy = InstructionNumbers {
            added: 1,
            bytes: 5,
            largest: vec![PathSize {
                path: "/src/deps.txt".into(),
                bytes: 5,
            }],
            layer: Some(2),
            ..InstructionNumbers::default()
        };
        StageNumbers {
            files: 402,
            bytes: 1_200_000,
            instructions: vec![
                Default::default(),
                Default::default(),
                copy,
                Default::default(),
            ],
            reach: None,
        }
    }

    #[test]
    fn an_instruction_before_and_after_its_numbers() {
        let mut m = copy_selected();
        update(&mut m, Msg::Tick { elapsed_ms: 1 });
        let s = screen(&m);
        assert!(s.contains("Explain"), "{s}");
        assert!(s.contains("counting files…"), "{s}");
        insta::assert_snapshot!("explain_instruction_counting_80x24", s);
        let result = Ok(builder_numbers());
        update(
            &mut m,
            Msg::ExplainNumbers {
                stage: 1,
                at: None,
                result,
            },
        );
        let s = screen(&m);
        assert!(!s.contains("counting files…"), "{s}");
        insta::assert_snapshot!("explain_instruction_numbers_80x24", s);
    }

    #[test]
    fn a_stage_and_the_build() {
        let mut m = copy_selected();
        m.focus = Focus::Graph;
        let result = Ok(builder_numbers());
        update(
            &mut m,
            Msg::ExplainNumbers {
                stage: 1,
                at: None,
                result,
            },
        );
        let s = screen(&m);
        assert!(s.contains("stage builder"), "{s}");
        insta::assert_snapshot!("explain_stage_80x24", s);
        // Scrolled to its end: the whole build.
        update(&mut m, Msg::Action(Action::FocusPrev));
        update(&mut m, Msg::Action(Action::Bottom));
        insta::assert_snapshot!("explain_stage_end_80x24", screen(&m));
    }

    #[test]
    fn without_colour_titles_are_bold_and_notes_italic() {
        use ratatui::Terminal;
        use ratatui::backend::TestBackend;
        use ratatui::style::Modifier;
        let mut m = copy_selected();
        m.monochrome = true;
        update(&mut m, Msg::Tick { elapsed_ms: 1 });
        let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
        t.draw(|f| super::super::draw(f, &m)).expect("draw");
        let buf = t.backend().buffer().clone();
        let row_of = |text: &str| {
            (0..24u16)
                .find(|&y| {
                    let row: String = (0..80u16).map(|x| buf[(x, y)].symbol()).collect();
                    row.contains(text)
                })
                .expect(text)
        };
        let (title, note) = (row_of("line 5: COPY"), row_of("counting files"));
        // The first letter of each, inside the border and padding.
        let at = |y: u16| &buf[(32, y)];
        assert!(at(title).modifier.contains(Modifier::BOLD));
        assert!(at(note).modifier.contains(Modifier::ITALIC));
        assert!(
            buf.content
                .iter()
                .all(|c| c.fg == ratatui::style::Color::Reset)
        );
    }

    #[test]
    fn an_error_is_one_line_and_no_source_says_so() {
        let mut m = copy_selected();
        let result = Err(crate::update::tests::failed(
            "the engine went away\nat line 2",
        ));
        update(
            &mut m,
            Msg::ExplainNumbers {
                stage: 1,
                at: None,
                result,
            },
        );
        let s = screen(&m);
        assert!(s.contains("no numbers: the engine went away"), "{s}");
        assert!(!s.contains("at line 2"), "{s}");
        m.explain.source = None;
        assert!(screen(&m).contains("nothing to explain"));
    }
}
