//! `update(&mut Model, Msg) -> Vec<Cmd>`: every change of the screen's state, pure, so tests
//! drive the UI without a terminal. Commands are what the event loop must do outside.

mod diff;
mod files;

use crate::build::{BuildEvent, Status};

use crate::tui::ansi;

pub use crate::session::StepMode;
use crate::tui::diff::keys::DiffKey;
use crate::tui::files::{FilesCmd, FilesKey, FilesMsg};
use crate::tui::layout::{NODE_ROWS, first_visible};
use crate::tui::model::{Focus, Model, Overlay, Pause};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Slowest,
    Close,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    ToggleFollow,
    ToggleWrap,
    ToggleWholeStage,
    SearchStart,
    ShellInput(char),
    ShellBackspace,
    ShellSubmit,
    ShellCancel,
    SearchInput(char),
    SearchBackspace,
    SearchSubmit,
    SearchCancel,
    NextMatch,
    PrevMatch,
    NextStage,
    Continue,
    ToggleBreakpoint,
    Shell,
    WriteLog,
    /// `d`: the diff view.
    OpenDiff,
    /// A key of the diff view.
    Diff(DiffKey),
    /// `f`: the filesystem of the selected stage or instruction's state.
    OpenFiles,
    /// A key of the filesystem pane.
    Files(FilesKey),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Action(Action),
    Build(BuildEvent),
    /// The step driver waits for `n` or `c`.
    Paused(Pause),
    /// The build driver stopped; `Err` when it could not go on (daemon gone, bad context).
    Ended(Result<(), String>),
    Tick {
        elapsed_ms: u64,
    },
    Resize(u16, u16),
    Scroll {
        at: (u16, u16),
        down: bool,
    },
    Click {
        at: (u16, u16),
    },
    Notice(String),
    /// Both sides of the diff view are indexed (or could not be).
    DiffIndexed(crate::tui::diff::Indexed),
    /// Both sides' content of the file the diff view's detail shows.
    DiffSides(crate::tui::diff::preview::Sides),
    /// Background work of the filesystem pane.
    Files(FilesMsg),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Quit,
    /// The breakpoints changed: the running build stops when it finishes one of them.
    Breakpoints(Vec<(usize, usize)>),
    /// Let the step driver go on, stopping at these breakpoints.
    Advance {
        mode: StepMode,
        breakpoints: Vec<(usize, usize)>,
    },
    /// A shell in the state after `instruction` of `stage`; `image` when it is known already.
    Shell {
        stage: usize,
        instruction: usize,
        image: Option<String>,
        /// `sh -c` this; None: an interactive `/bin/sh`.
        command: Option<String>,
    },
    /// `text` is what memory holds; the full log on disk wins when there is one.
    WriteLog {
        path: String,
        text: String,
        stage: usize,
        instruction: Option<usize>,
    },
    /// Index stages `from` and `to` (and what provenance needs) in the background;
    /// `images` holds each stage's image where the build made one.
    IndexDiff {
        request: u64,
        from: usize,
        to: usize,
        images: Vec<Option<String>>,
    },
    /// Read both sides of one file of the diff view, in the background.
    FetchSides(crate::tui::diff::preview::FetchSides),
    /// Work of the filesystem pane.
    Files(FilesCmd),
}

pub fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Action(a) => return action(m, a),
        Msg::Build(ev) => on_build(m, &ev),
        Msg::Paused(p) => {
            m.pause = Some(p);
            match p {
                Pause::BeforeStage(s) => select(m, s, 0),
                Pause::Breakpoint(s, k) => {
                    select(m, s, k);
                    m.focus = Focus::Instructions;
                }
                Pause::Failed => {}
            }
        }
        Msg::Ended(r) => {
            m.ended = true;
            if !matches!(m.pause, Some(Pause::Failed)) {
                m.pause = None;
            }
            if let Err(e) = r {
                m.overlay = Some(Overlay::Error(e));
            }
        }
        Msg::Tick { elapsed_ms } => {
            if m.state.finished.is_none() && !m.ended {
                m.elapsed_ms = elapsed_ms;
            }
        }
        Msg::Resize(w, h) => m.size = (w, h),
        Msg::Scroll { at, down } => {
            let a = m.areas();
            let pane = pane_at(m, at);
            let Some(pane) = pane else { return vec![] };
            let _ = a;
            m.focus = pane;
            let step = if pane == Focus::Log { 3 } else { 1 };
            for _ in 0..step {
                if m.diff.view.is_some() && m.overlay.is_none() {
                    let k = if down { DiffKey::Down } else { DiffKey::Up };
                    diff::on_key(m, k);
                } else {
                    action(m, if down { Action::Down } else { Action::Up });
                }
            }
        }
        Msg::Click { at } => click(m, at),
        Msg::Notice(n) => m.notice = Some(n),
        Msg::DiffIndexed(r) => diff::on_indexed(m, r),
        Msg::DiffSides(r) => diff::on_sides(m, r),
        Msg::Files(f) => return files::on_msg(m, f),
    }
    vec![]
}

fn pane_at(m: &Model, (x, y): (u16, u16)) -> Option<Focus> {
    let a = m.areas();
    let inside = |r: ratatui::layout::Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
    if inside(a.graph) {
        Some(Focus::Graph)
    } else if inside(a.instructions) {
        Some(Focus::Instructions)
    } else if inside(a.log) {
        Some(Focus::Log)
    } else {
        None
    }
}

fn click(m: &mut Model, at: (u16, u16)) {
    if m.overlay.is_some() {
        return;
    }
    let Some(pane) = pane_at(m, at) else { return };
    m.focus = pane;
    let a = m.areas();
    match pane {
        Focus::Graph => {
            let rows = usize::from(a.graph.height.saturating_sub(2));
            let visible = rows / NODE_ROWS;
            let first = first_visible(m.stage, visible);
            let Some(row) = usize::from(at.1).checked_sub(usize::from(a.graph.y) + 1) else {
                return;
            };
            let s = first + row / NODE_ROWS;
            if s < m.stage_count() {
                m.track_build = false;
                select(m, s, 0);
            }
        }
        Focus::Instructions => {
            let rows = usize::from(a.instructions.height.saturating_sub(2));
            let first = first_visible(m.instruction, rows);
            let Some(row) = usize::from(at.1).checked_sub(usize::from(a.instructions.y) + 1) else {
                return;
            };
            let k = first + row;
            if k < m.instruction_count() {
                m.track_build = false;
                m.instruction = k;
                reset_log(m);
            }
        }
        Focus::Log => {}
    }
}

fn select(m: &mut Model, stage: usize, instruction: usize) {
    if stage != m.stage || instruction != m.instruction {
        m.stage = stage;
        m.instruction = instruction;
        reset_log(m);
    }
}

fn reset_log(m: &mut Model) {
    m.log.follow = true;
    m.log.top = 0;
    m.log.current_match = None;
}

fn on_build(m: &mut Model, ev: &BuildEvent) {
    m.state.apply(ev);
    match ev {
        BuildEvent::BuildStarted { builder, build_id } => {
            m.builder = Some(*builder);
            m.build_id = Some(build_id.clone());
        }
        BuildEvent::InstructionStarted { stage, instruction } if m.track_build => {
            select(m, *stage, *instruction);
        }
        BuildEvent::BuildFailed {
            stage, instruction, ..
        } => {
            m.pause = Some(Pause::Failed);
            m.track_build = false;
            if let Some(s) = stage {
                let k = instruction.unwrap_or_else(|| {
                    m.state.stages[*s]
                        .instructions
                        .iter()
                        .position(|i| i.status == Status::Failed)
                        .unwrap_or(0)
                });
                select(m, *s, k);
                m.log.whole_stage = false;
                m.log.follow = true;
                m.focus = Focus::Log;
            }
        }
        BuildEvent::BuildFinished { duration_ms, .. } => {
            m.elapsed_ms = *duration_ms;
        }
        _ => {}
    }
}

fn matches(m: &Model, line: usize, needle: &str) -> bool {
    m.log_line(line)
        .is_some_and(|(_, l)| ansi::plain(l).to_lowercase().contains(needle))
}

/// The next (or previous) line matching the search, starting after (before) `from`,
/// wrapping around.
fn find_match(m: &Model, from: usize, forward: bool, inclusive: bool) -> Option<usize> {
    let needle = m.log.search.as_ref()?.to_lowercase();
    let len = m.log_len();
    if len == 0 || needle.is_empty() {
        return None;
    }
    let start = from.min(len - 1);
    (0..len)
        .map(|d| {
            let d = if inclusive { d } else { d + 1 };
            if forward {
                (start + d) % len
            } else {
                (start + len * 2 - d) % len
            }
        })
        .find(|&i| matches(m, i, &needle))
}

fn jump_to_match(m: &mut Model, line: Option<usize>) {
    match line {
        Some(l) => {
            m.log.current_match = Some(l);
            m.log.follow = false;
            // The match sits a third down the pane, with context above it.
            m.log.top = l.saturating_sub(m.log_rows() / 3);
            m.notice = None;
        }
        None => m.notice = Some("no match".into()),
    }
}

fn scroll_log(m: &mut Model, delta: isize) {
    let top = m.log_top();
    let len = m.log_len();
    let last_top = len.saturating_sub(m.log_rows());
    let new = top.saturating_add_signed(delta).min(last_top);
    m.log.top = new;
    m.log.follow = new >= last_top && delta > 0;
}

fn move_selection(m: &mut Model, delta: isize) {
    match m.focus {
        Focus::Graph => {
            let n = m.stage_count();
            if n > 0 {
                m.track_build = false;
                let s = m.stage.saturating_add_signed(delta).min(n - 1);
                select(m, s, 0);
            }
        }
        Focus::Instructions => {
            let n = m.instruction_count();
            if n > 0 {
                m.track_build = false;
                let k = m.instruction.saturating_add_signed(delta).min(n - 1);
                select(m, m.stage, k);
            }
        }
        Focus::Log => scroll_log(m, delta),
    }
}

fn page(m: &Model) -> isize {
    let a = m.areas();
    let rows = match m.focus {
        Focus::Graph => a.graph.height.saturating_sub(2) / 2,
        Focus::Instructions => a.instructions.height.saturating_sub(2),
        Focus::Log => a.log.height.saturating_sub(3),
    };
    isize::from(rows.max(1) as i16)
}

fn log_text(m: &Model) -> String {
    let mut out = String::new();
    for i in 0..m.log_len() {
        if let Some((_, l)) = m.log_line(i) {
            out.push_str(&ansi::plain(l));
            out.push('\n');
        }
    }
    out
}

fn action(m: &mut Model, a: Action) -> Vec<Cmd> {
    use Action as A;
    m.notice = None;
    match a {
        A::Quit => {
            m.quit = true;
            return vec![Cmd::Quit];
        }
        A::Help => {
            m.overlay = Some(Overlay::Help);
            m.help_scroll = 0;
        }
        A::Up | A::Down | A::PageUp | A::PageDown if m.overlay == Some(Overlay::Help) => {
            // Clamped when drawn: the view knows how many lines fit.
            let step: i32 = match a {
                A::Up => -1,
                A::Down => 1,
                A::PageUp => -10,
                _ => 10,
            };
            let max = i32::try_from(crate::tui::help::HELP.len()).unwrap_or(i32::MAX);
            m.help_scroll =
                u16::try_from((i32::from(m.help_scroll) + step).clamp(0, max)).unwrap_or(0);
        }
        A::OpenFiles => return files::open(m),
        A::Files(k) => return files::on_key(m, k),
        A::Slowest => m.overlay = Some(Overlay::Slowest(0)),
        A::Close => {
            if m.overlay.is_some() {
                m.overlay = None;
            } else if m.log.search.is_some() {
                m.log.search = None;
                m.log.current_match = None;
            }
        }
        A::FocusNext | A::Enter if m.overlay.is_none() => {
            m.focus = match m.focus {
                Focus::Graph => Focus::Instructions,
                Focus::Instructions => Focus::Log,
                Focus::Log if a == A::Enter => Focus::Log,
                Focus::Log => Focus::Graph,
            };
        }
        A::FocusPrev => {
            m.focus = match m.focus {
                Focus::Graph => Focus::Log,
                Focus::Instructions => Focus::Graph,
                Focus::Log => Focus::Instructions,
            };
        }
        A::Up | A::Down if matches!(m.overlay, Some(Overlay::Slowest(_))) => {
            let n = m.slowest().len();
            if let Some(Overlay::Slowest(i)) = &mut m.overlay {
                *i = if a == A::Up {
                    i.saturating_sub(1)
                } else {
                    (*i + 1).min(n.saturating_sub(1))
                };
            }
        }
        A::Enter => {
            if let Some(Overlay::Slowest(i)) = m.overlay {
                if let Some(&(_, s, k)) = m.slowest().get(i) {
                    m.track_build = false;
                    select(m, s, k);
                    m.log.whole_stage = false;
                    m.focus = Focus::Instructions;
                }
                m.overlay = None;
            }
        }
        A::FocusNext => {}
        A::Up => move_selection(m, -1),
        A::Down => move_selection(m, 1),
        A::PageUp => move_selection(m, -page(m)),
        A::PageDown => move_selection(m, page(m)),
        A::Top => match m.focus {
            Focus::Log => {
                m.log.follow = false;
                m.log.top = 0;
            }
            _ => move_selection(m, isize::MIN / 2),
        },
        A::Bottom => match m.focus {
            Focus::Log => m.log.follow = true,
            _ => move_selection(m, isize::MAX / 2),
        },
        A::ToggleFollow => {
            if m.log.follow {
                m.log.top = m.log_top();
            }
            m.log.follow = !m.log.follow;
        }
        A::ToggleWrap => m.log.wrap = !m.log.wrap,
        A::ToggleWholeStage => {
            m.log.whole_stage = !m.log.whole_stage;
            reset_log(m);
        }
        A::SearchStart => {
            m.log.input = Some(String::new());
            m.focus = Focus::Log;
        }
        A::SearchInput(c) => {
            if let Some(s) = &mut m.log.input {
                s.push(c);
            }
        }
        A::SearchBackspace => {
            if let Some(s) = &mut m.log.input {
                s.pop();
            }
        }
        A::SearchCancel => m.log.input = None,
        A::SearchSubmit => {
            let q = m.log.input.take().unwrap_or_default();
            if q.is_empty() {
                m.log.search = None;
                m.log.current_match = None;
            } else {
                m.log.search = Some(q);
                let from = m.log_top();
                let found = find_match(m, from, true, true);
                jump_to_match(m, found);
            }
        }
        A::NextMatch | A::PrevMatch => {
            let forward = a == A::NextMatch;
            let from = m.log.current_match.unwrap_or_else(|| m.log_top());
            let inclusive = m.log.current_match.is_none();
            if m.log.search.is_some() {
                let found = find_match(m, from, forward, inclusive);
                jump_to_match(m, found);
            }
        }
        A::NextStage | A::Continue => {
            // A breakpoint pauses a normal run too; from there it goes on step by step.
            let paused = matches!(m.pause, Some(Pause::BeforeStage(_) | Pause::Breakpoint(..)));
            if !m.step_mode && !paused {
                m.notice = Some("not paused: n/c go on from --step pauses and breakpoints".into());
            } else if paused {
                m.pause = None;
                m.track_build = true;
                let mode = if a == A::NextStage {
                    StepMode::Next
                } else {
                    StepMode::Continue
                };
                return vec![Cmd::Advance {
                    mode,
                    breakpoints: m.breakpoints.iter().copied().collect(),
                }];
            }
        }
        A::ToggleBreakpoint => {
            let key = (m.stage, m.instruction);
            if !m.breakpoints.remove(&key) {
                m.breakpoints.insert(key);
            }
            // A running build learns of it at once: it stops when that instruction finishes.
            return vec![Cmd::Breakpoints(m.breakpoints.iter().copied().collect())];
        }
        A::Shell => {
            if m.instruction_count() == 0 {
                return vec![];
            }
            let st = &m.state.stages[m.stage];
            let ins = &st.instructions[m.instruction];
            // A failed instruction has no state of its own: the shell opens on the state
            // just before it, which is what the failing command saw.
            let (k, image) = if ins.status == Status::Failed {
                let prev = m.instruction.saturating_sub(1);
                (prev, st.instructions[prev].image.clone())
            } else if matches!(ins.status, Status::Done | Status::Cached) {
                (m.instruction, m.selected_image().map(str::to_string))
            } else {
                m.notice = Some("that state is not built yet".into());
                return vec![];
            };
            m.shell_prompt = Some(crate::tui::model::ShellPrompt {
                stage: m.stage,
                instruction: k,
                image,
                command: String::new(),
            });
        }
        A::ShellInput(c) => {
            if let Some(p) = &mut m.shell_prompt {
                p.command.push(c);
            }
        }
        A::ShellBackspace => {
            if let Some(p) = &mut m.shell_prompt {
                p.command.pop();
            }
        }
        A::ShellCancel => m.shell_prompt = None,
        A::ShellSubmit => {
            if let Some(p) = m.shell_prompt.take() {
                let command = Some(p.command.trim().to_string()).filter(|c| !c.is_empty());
                return vec![Cmd::Shell {
                    stage: p.stage,
                    instruction: p.instruction,
                    image: p.image,
                    command,
                }];
            }
        }
        A::OpenDiff => return diff::open(m),
        A::Diff(k) => return diff::on_key(m, k),
        A::WriteLog => {
            let name = m.state.plan.stages[m.stage].display_name();
            let path = if m.log.whole_stage {
                format!("stagescope-{name}.log")
            } else {
                format!("stagescope-{name}-{}.log", m.instruction)
            };
            return vec![Cmd::WriteLog {
                path,
                text: log_text(m),
                stage: m.stage,
                instruction: (!m.log.whole_stage).then_some(m.instruction),
            }];
        }
    }
    vec![]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::build::{BuildPlan, BuilderKind, LogStream};
    use crate::dockerfile::{Dockerfile, GraphOptions, StageGraph};

    pub const DOCKERFILE: &str = "\
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

    pub fn plan_of(text: &str) -> BuildPlan {
        let df = Dockerfile::parse(text.as_bytes()).expect("parse");
        let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
        BuildPlan::from_model(&df, &g)
    }

    pub fn model() -> Model {
        Model::new(plan_of(DOCKERFILE), false)
    }

    pub fn feed(m: &mut Model, evs: impl IntoIterator<Item = BuildEvent>) {
        for ev in evs {
            update(m, Msg::Build(ev));
        }
    }

    pub fn started() -> BuildEvent {
        BuildEvent::BuildStarted {
            builder: BuilderKind::Buildkit,
            build_id: "abc".into(),
        }
    }

    pub fn log(stage: usize, instruction: usize, text: &str) -> BuildEvent {
        BuildEvent::Log {
            stage,
            instruction,
            stream: LogStream::Stdout,
            text: text.into(),
        }
    }

    pub fn ins(stage: usize, k: usize, cached: bool, ms: u64) -> [BuildEvent; 2] {
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
        update(
            &mut m,
            Msg::Ended(Err("Cannot reach the Docker daemon".into())),
        );
        assert_eq!(
            m.overlay,
            Some(Overlay::Error("Cannot reach the Docker daemon".into()))
        );
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
}
