use super::*;
use stagescope_core::session::SharedError;
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::{BuildPlan, BuilderKind, LogStream};

pub(crate) const DOCKERFILE: &str = "\
FROM busybox AS deps
RUN echo deps > /deps.txt
FROM busybox AS builder
WORKDIR /src
COPY --from=deps /deps.txt .
RUN echo building && sleep 1
FROM busybox AS unused
RUN true
FROM busybox
COPY --from=builder /src /app
CMD [\"/bin/sh\"]
";

/// A failure that reads exactly `words` (as the engine relays a daemon's text), for the
/// screens and folds that only show it.
pub(crate) fn failed(words: &str) -> SharedError {
    let relayed = stagescope_core::engine::EngineError::Context(words.into());
    SharedError::from(stagescope_core::session::SessionError::from(relayed))
}

pub(crate) fn plan_of(text: &str) -> BuildPlan {
    let df = Dockerfile::parse(text.as_bytes()).expect("parse");
    let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    BuildPlan::from_model(&df, &g)
}

pub(crate) fn model() -> Model {
    Model::new(plan_of(DOCKERFILE), false)
}

/// `model()` with what the Explain pane's words are made from.
pub(crate) fn explained(step: bool) -> Model {
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    let mut m = Model::new(BuildPlan::from_model(&df, &g), step);
    m.explain = crate::explain_state::ExplainState::new(df, g);
    m
}

pub(crate) fn feed(m: &mut Model, evs: impl IntoIterator<Item = BuildEvent>) {
    for ev in evs {
        update(m, Msg::Build(ev));
    }
}

pub(crate) fn started() -> BuildEvent {
    BuildEvent::BuildStarted {
        builder: BuilderKind::Buildkit,
        build_id: "abc".into(),
    }
}

pub(crate) fn log(stage: usize, instruction: usize, text: &str) -> BuildEvent {
    BuildEvent::Log {
        stage,
        instruction,
        stream: LogStream::Stdout,
        text: text.into(),
    }
}

pub(crate) fn ins(stage: usize, k: usize, cached: bool, ms: u64) -> [BuildEvent; 2] {
    [
        BuildEvent::InstructionStarted {
            stage,
            instruction: k,
        },
        BuildEvent::InstructionFinished {
            stage,
            instruction: k,
            cached,
            duration_ms: ms,
        },
    ]
}

fn key(m: &mut Model, a: Action) -> Vec<Cmd> {
    update(m, Msg::Action(a))
}

#[test]
fn a_breakpoint_reaches_the_running_build_and_pauses_a_normal_run() {
    let mut m = model();
    assert!(!m.step_mode);
    m.stage = 1;
    m.instruction = 1;
    assert_eq!(
        key(&mut m, Action::ToggleBreakpoint),
        vec![Cmd::Breakpoints(vec![(1, 1)])]
    );
    // Not paused: n/c only say why they do nothing.
    assert!(key(&mut m, Action::Continue).is_empty());
    assert!(m.notice.is_some());
    // The driver stopped at the breakpoint: c goes on from there.
    update(&mut m, Msg::Paused(Pause::Breakpoint(1, 1)));
    assert_eq!(
        key(&mut m, Action::Continue),
        vec![Cmd::Advance {
            mode: StepMode::Continue,
            breakpoints: vec![(1, 1)]
        }]
    );
    assert_eq!(
        key(&mut m, Action::ToggleBreakpoint),
        vec![Cmd::Breakpoints(vec![])]
    );
}

#[test]
fn selection_tracks_the_running_instruction_until_the_user_moves() {
    let mut m = model();
    feed(&mut m, [started()]);
    feed(&mut m, ins(1, 2, false, 5));
    assert_eq!((m.stage, m.instruction), (1, 2));
    key(&mut m, Action::Up);
    assert_eq!(m.stage, 0);
    feed(&mut m, ins(3, 1, false, 5));
    assert_eq!(m.stage, 0);
}

#[test]
fn failure_selects_the_failing_instruction_and_shows_its_log() {
    let mut m = model();
    m.focus = Focus::Graph;
    key(&mut m, Action::Up);
    feed(&mut m, [started(), log(1, 3, "boom\n")]);
    feed(
        &mut m,
        [BuildEvent::BuildFailed {
            stage: Some(1),
            instruction: Some(3),
            message: "exit code: 1".into(),
            exit_code: Some(1),
        }],
    );
    assert_eq!((m.stage, m.instruction, m.focus), (1, 3, Focus::Log));
    assert_eq!(m.pause, Some(Pause::Failed));
    assert_eq!(m.log_line(0).map(|l| l.1), Some("boom"));
    // Its pre-failure state is what `s` opens.
    assert!(
        key(&mut m, Action::Shell).is_empty(),
        "s asks for a command first"
    );
    assert!(m.shell_prompt.is_some());
    let cmds = key(&mut m, Action::ShellSubmit);
    assert_eq!(
        cmds,
        vec![Cmd::Shell {
            stage: 1,
            instruction: 2,
            image: None,
            command: None
        }]
    );
    key(&mut m, Action::Shell);
    for c in "ls /src".chars() {
        key(&mut m, Action::ShellInput(c));
    }
    key(&mut m, Action::ShellBackspace);
    key(&mut m, Action::ShellInput('c'));
    assert_eq!(
        key(&mut m, Action::ShellSubmit),
        vec![Cmd::Shell {
            stage: 1,
            instruction: 2,
            image: None,
            command: Some("ls /src".into())
        }]
    );
    key(&mut m, Action::Shell);
    key(&mut m, Action::ShellCancel);
    assert!(m.shell_prompt.is_none());
}

#[test]
fn s_on_a_stage_opens_the_stage_as_built_like_f() {
    let mut m = model();
    feed(&mut m, [started()]);
    for k in 0..2 {
        feed(&mut m, ins(0, k, false, 10));
    }
    feed(
        &mut m,
        [BuildEvent::StageFinished {
            stage: 0,
            image: Some("sha256:deps".into()),
        }],
    );
    m.stage = 0;
    m.instruction = 0;
    m.focus = Focus::Graph;
    key(&mut m, Action::Shell);
    assert_eq!(
        key(&mut m, Action::ShellSubmit),
        vec![Cmd::Shell {
            stage: 0,
            instruction: 1,
            image: Some("sha256:deps".into()),
            command: None
        }]
    );
}

#[test]
fn log_follow_scroll_and_whole_stage() {
    let mut m = model();
    m.size = (80, 24);
    let many: String = (0..100).map(|i| format!("line {i}\n")).collect();
    feed(&mut m, [started(), log(0, 1, &many), log(0, 0, "from\n")]);
    select(&mut m, 0, 1);
    assert_eq!(m.log_len(), 100);
    let rows = m.log_rows();
    assert_eq!(m.log_top(), 100 - rows);
    m.focus = Focus::Log;
    key(&mut m, Action::Up);
    assert!(!m.log.follow);
    assert_eq!(m.log_top(), 99 - rows);
    key(&mut m, Action::Top);
    assert_eq!(m.log_top(), 0);
    key(&mut m, Action::Bottom);
    assert!(m.log.follow);
    key(&mut m, Action::ToggleWholeStage);
    assert_eq!(m.log_len(), 101);
    assert_eq!(m.log_line(0).map(|l| l.1), Some("from"));
}

#[test]
fn search_with_next_and_previous() {
    let mut m = model();
    let many: String = (0..50).map(|i| format!("line {i}\n")).collect();
    feed(&mut m, [started(), log(0, 1, &many)]);
    select(&mut m, 0, 1);
    key(&mut m, Action::SearchStart);
    for c in "LINE 4".chars() {
        key(&mut m, Action::SearchInput(c));
    }
    key(&mut m, Action::SearchSubmit);
    // Search starts from the top line drawn (following: the tail), wrapping around.
    let first = m.log.current_match.expect("match");
    assert!(m.log_line(first).expect("line").1.starts_with("line 4"));
    key(&mut m, Action::NextMatch);
    let second = m.log.current_match.expect("match");
    assert_ne!(first, second);
    key(&mut m, Action::PrevMatch);
    assert_eq!(m.log.current_match, Some(first));
    key(&mut m, Action::Close);
    assert_eq!(m.log.search, None);
}

#[test]
fn step_keys_only_while_paused() {
    let mut m = Model::new(plan_of(DOCKERFILE), true);
    assert!(key(&mut m, Action::NextStage).is_empty());
    update(&mut m, Msg::Paused(Pause::BeforeStage(1)));
    assert_eq!(m.stage, 1);
    key(&mut m, Action::Down);
    key(&mut m, Action::ToggleBreakpoint);
    let cmds = key(&mut m, Action::Continue);
    assert_eq!(
        cmds,
        vec![Cmd::Advance {
            mode: StepMode::Continue,
            breakpoints: vec![(2, 0)]
        }]
    );
    assert_eq!(m.pause, None);
}

#[test]
fn daemon_gone_is_an_overlay_not_a_crash() {
    let mut m = model();
    let gone = failed("Cannot reach the Docker daemon");
    update(&mut m, Msg::Ended(Err(gone.clone())));
    assert_eq!(m.overlay, Some(Overlay::Error(gone)));
    assert_eq!(key(&mut m, Action::Quit), vec![Cmd::Quit]);
}

#[test]
fn slowest_view_jumps_to_the_instruction() {
    let mut m = model();
    feed(&mut m, [started()]);
    feed(&mut m, ins(0, 1, false, 10));
    feed(&mut m, ins(1, 3, false, 900));
    key(&mut m, Action::Slowest);
    assert_eq!(m.slowest()[0], (900, 1, 3));
    key(&mut m, Action::Down);
    key(&mut m, Action::Enter);
    assert_eq!((m.stage, m.instruction, m.overlay.clone()), (0, 1, None));
}

#[test]
fn mouse_click_selects_a_stage_and_wheel_scrolls() {
    let mut m = model();
    let a = m.areas();
    update(
        &mut m,
        Msg::Click {
            at: (a.graph.x + 2, a.graph.y + 1 + 2 * 2),
        },
    );
    assert_eq!((m.stage, m.focus), (2, Focus::Graph));
    update(
        &mut m,
        Msg::Scroll {
            at: (a.graph.x + 2, a.graph.y + 2),
            down: true,
        },
    );
    assert_eq!(m.stage, 3);
}

#[test]
fn write_log_names_the_file_after_the_selection() {
    let mut m = model();
    feed(&mut m, [log(1, 3, "\x1b[31mred\x1b[0m\n")]);
    select(&mut m, 1, 3);
    let cmds = key(&mut m, Action::WriteLog);
    assert_eq!(
        cmds,
        vec![Cmd::WriteLog {
            path: "stagescope-builder-3.log".into(),
            text: "red\n".into(),
            stage: 1,
            instruction: Some(3),
        }]
    );
}

#[test]
fn e_puts_the_explain_pane_in_the_logs_place_and_esc_or_e_closes_it() {
    let mut m = explained(false);
    m.focus = Focus::Log;
    key(&mut m, Action::ToggleExplain);
    assert!(m.explain.open);
    assert_eq!(
        m.focus,
        Focus::Explain,
        "the focused log's place is the pane's"
    );
    key(&mut m, Action::ToggleExplain);
    assert!(!m.explain.open);
    assert_eq!(m.focus, Focus::Instructions);
    key(&mut m, Action::ToggleExplain);
    key(&mut m, Action::Close);
    assert!(!m.explain.open, "Esc closes it");
    // `/` searches the log: the pane gives way to it.
    key(&mut m, Action::ToggleExplain);
    key(&mut m, Action::SearchStart);
    assert!(!m.explain.open);
    assert_eq!(m.focus, Focus::Log);
}

#[test]
fn the_explain_pane_is_about_what_the_focus_selects() {
    let mut m = explained(false);
    key(&mut m, Action::ToggleExplain);
    m.focus = Focus::Graph;
    key(&mut m, Action::Down);
    assert!(m.explain.about_stage);
    key(&mut m, Action::FocusNext);
    assert!(
        !m.explain.about_stage,
        "the instructions pane: the instruction"
    );
    key(&mut m, Action::FocusNext);
    assert_eq!(m.focus, Focus::Explain);
    assert!(
        !m.explain.about_stage,
        "focusing the pane keeps its subject"
    );
    key(&mut m, Action::FocusNext);
    assert_eq!(m.focus, Focus::Graph);
    key(&mut m, Action::FocusPrev);
    assert_eq!(m.focus, Focus::Explain);
}

#[test]
fn numbers_are_asked_for_once_the_stage_is_built_and_kept() {
    use crate::explain::Counted;
    use stagescope_core::explain::StageNumbers;
    let mut m = explained(false);
    m.track_build = false;
    key(&mut m, Action::ToggleExplain);
    m.stage = 0;
    feed(&mut m, [started()]);
    let mut cmds = Vec::new();
    for ev in ins(0, 0, true, 0).into_iter().chain(ins(0, 1, false, 420)) {
        cmds.extend(update(&mut m, Msg::Build(ev)));
    }
    assert_eq!(cmds, vec![], "not built yet: nothing to count");
    let cmds = update(
        &mut m,
        Msg::Build(BuildEvent::StageFinished {
            stage: 0,
            image: Some("sha256:deps".into()),
        }),
    );
    let mut images = vec![None; m.stage_count()];
    images[0] = Some("sha256:deps".to_string());
    assert_eq!(
        cmds,
        vec![Cmd::ExplainNumbers {
            stage: 0,
            at: None,
            images,
        }]
    );
    assert_eq!(m.explain.counting, Some(0));
    assert_eq!(key(&mut m, Action::Down), vec![], "asked once");
    let n = StageNumbers {
        files: 3,
        bytes: 10,
        instructions: vec![Default::default(); 2],
        reach: None,
    };
    update(
        &mut m,
        Msg::ExplainNumbers {
            stage: 0,
            at: None,
            result: Ok(n),
        },
    );
    assert_eq!(m.explain.counting, None);
    let Some(Counted::Ready(got)) = m.explain.numbers.get(&0) else {
        panic!("no numbers: {:?}", m.explain.numbers);
    };
    // The build's events say what was cached.
    assert_eq!(got.instructions[1].cached, Some(false));
    assert_eq!(got.instructions[0].cached, Some(true));
    let why = failed("no such image\nsecond line");
    update(
        &mut m,
        Msg::ExplainNumbers {
            stage: 1,
            at: None,
            result: Err(why.clone()),
        },
    );
    // Kept whole: the pane shows its first line (views::explain's tests).
    assert_eq!(m.explain.numbers.get(&1), Some(&Counted::Failed(why)));
}

/// A tour pauses mid-stage: the state there is counted before the stage is built, and the
/// instructions after the pause get no numbers from it.
#[test]
fn a_pause_mid_stage_counts_the_state_there() {
    let mut m = explained(true);
    key(&mut m, Action::ToggleExplain);
    feed(&mut m, [started()]);
    feed(&mut m, ins(0, 0, true, 0));
    feed(&mut m, ins(0, 1, false, 420));
    let cmds = update(&mut m, Msg::Paused(Pause::Breakpoint(0, 0)));
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::ExplainNumbers {
                stage: 0,
                at: Some(0),
                ..
            }]
        ),
        "{cmds:?}"
    );
    let n = stagescope_core::explain::StageNumbers {
        files: 3,
        bytes: 10,
        instructions: vec![Default::default(); 2],
        reach: None,
    };
    update(
        &mut m,
        Msg::ExplainNumbers {
            stage: 0,
            at: Some(0),
            result: Ok(n),
        },
    );
    assert_eq!(m.explain.partial.get(&0), Some(&0));
    m.instruction = 1;
    let text = crate::explain::text(&m);
    assert!(
        !text.iter().any(|(_, t)| t.contains("In this build")),
        "no numbers past the pause: {text:?}"
    );
    m.instruction = 0;
    let text = crate::explain::text(&m);
    assert!(
        text.iter().any(|(_, t)| t.contains("In this build")),
        "numbers up to the pause: {text:?}"
    );
    // Once the stage is built, the whole stage is counted instead.
    let cmds = update(
        &mut m,
        Msg::Build(BuildEvent::StageFinished {
            stage: 0,
            image: Some("sha256:deps".into()),
        }),
    );
    assert!(
        matches!(cmds.as_slice(), [Cmd::ExplainNumbers { at: None, .. }]),
        "{cmds:?}"
    );
}

#[test]
fn explain_scrolls_within_its_text() {
    let mut m = explained(false);
    m.size = (80, 20);
    key(&mut m, Action::ToggleExplain);
    m.focus = Focus::Graph;
    m.stage = 1;
    key(&mut m, Action::FocusPrev);
    assert_eq!(m.focus, Focus::Explain);
    key(&mut m, Action::Bottom);
    let bottom = m.explain.scroll;
    assert!(
        bottom > 0,
        "the stage and build text is taller than the pane"
    );
    key(&mut m, Action::Down);
    assert_eq!(m.explain.scroll, bottom, "not past the end");
    key(&mut m, Action::Up);
    assert_eq!(m.explain.scroll, bottom - 1);
    key(&mut m, Action::Top);
    assert_eq!(m.explain.scroll, 0);
}

#[test]
fn a_tour_stops_after_every_instruction_until_c() {
    let mut m = explained(true);
    m.tour = true;
    update(&mut m, Msg::Paused(Pause::BeforeStage(0)));
    assert_eq!(
        m.focus,
        Focus::Graph,
        "before a stage: what the stage is for"
    );
    let Some(Cmd::Advance { mode, breakpoints }) = key(&mut m, Action::NextStage).pop() else {
        panic!("n does not go on");
    };
    assert_eq!(mode, StepMode::Next);
    // deps (2), builder (4), the final stage (3); not the unused stage 2.
    let mut want: Vec<(usize, usize)> = (0..2).map(|k| (0, k)).collect();
    want.extend((0..4).map(|k| (1, k)));
    want.extend((0..3).map(|k| (3, k)));
    assert_eq!(breakpoints, want);
    update(&mut m, Msg::Paused(Pause::Breakpoint(0, 0)));
    assert_eq!(m.focus, Focus::Instructions);
    assert!(
        !m.explain.about_stage,
        "after an instruction: that instruction"
    );
    m.breakpoints.insert((3, 1));
    let Some(Cmd::Advance { mode, breakpoints }) = key(&mut m, Action::Continue).pop() else {
        panic!("c does not go on");
    };
    assert_eq!(mode, StepMode::Continue);
    assert_eq!(
        breakpoints,
        vec![(3, 1)],
        "c ends the tour, not the user's breakpoints"
    );
}
