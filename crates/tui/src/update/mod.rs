//! `update(&mut Model, Msg) -> Vec<Cmd>`: every change of the screen's state, pure, so tests
//! drive the UI without a terminal. Commands are what the event loop must do outside.

mod diff;
mod explain;
mod files;
mod log;
mod nav;
mod shell;
mod step;

use crate::diff::keys::DiffKey;

use crate::layout::{NODE_ROWS, first_visible};
use crate::model::{Focus, Model, Overlay, Pause};

pub use stagescope_core::session::StepMode;
use stagescope_plan::{BuildEvent, Status};

pub use crate::msg::{Action, Cmd, Msg};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    let mut cmds = update_inner(m, msg);
    cmds.extend(explain::sync(m));
    cmds
}

fn update_inner(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Action(a) => {
            if let Some(note) = needs_engine(m, &a) {
                m.notice = Some(note);
                return vec![];
            }
            return action(m, a);
        }
        Msg::Build(ev) => on_build(m, &ev),
        Msg::Paused(p) => {
            m.pause = Some(p);
            match p {
                Pause::BeforeStage(s) => {
                    select(m, s, 0);
                    // A tour tells what the next stage is for before building it.
                    if m.tour {
                        m.focus = Focus::Graph;
                    }
                }
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
            let step = if matches!(pane, Focus::Log | Focus::Explain) {
                3
            } else {
                1
            };
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
        Msg::ExplainNumbers { stage, at, result } => explain::on_numbers(m, stage, at, result),
    }
    vec![]
}

/// In a replay, what a key cannot do without an engine, said in one line.
fn needs_engine(m: &Model, a: &Action) -> Option<String> {
    m.replay.as_ref()?;
    let what = match a {
        Action::Shell => "a shell (s)",
        Action::OpenFiles => "files (f)",
        Action::OpenDiff => "the diff (d)",
        Action::ToggleBreakpoint | Action::NextStage | Action::Continue => "stepping",
        _ => return None,
    };
    Some(format!(
        "replay: {what} needs an engine — build the context to get it"
    ))
}

fn pane_at(m: &Model, (x, y): (u16, u16)) -> Option<Focus> {
    let a = m.areas();
    let inside = |r: ratatui::layout::Rect| x >= r.x && x < r.right() && y >= r.y && y < r.bottom();
    if inside(a.graph) {
        Some(Focus::Graph)
    } else if inside(a.instructions) {
        Some(Focus::Instructions)
    } else if inside(a.log) {
        Some(if m.explain.open {
            Focus::Explain
        } else {
            Focus::Log
        })
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
        Focus::Log | Focus::Explain => {}
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
    m.explain.scroll = 0;
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

/// A key's action, each kind of key to the function that knows its part of the model.
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
        A::Slowest => m.overlay = Some(Overlay::Slowest(0)),
        A::Timeline => m.overlay = Some(Overlay::Timeline(Default::default())),
        A::Close => close(m),
        A::Up
        | A::Down
        | A::PageUp
        | A::PageDown
        | A::Top
        | A::Bottom
        | A::Left
        | A::Right
        | A::ZoomIn
        | A::ZoomOut
        | A::Enter
        | A::FocusNext
        | A::FocusPrev => nav::on_action(m, &a),
        A::ToggleFollow => log::toggle_follow(m),
        A::ToggleWrap => m.log.wrap = !m.log.wrap,
        A::ToggleWholeStage => log::toggle_whole_stage(m),
        A::WriteLog => return log::write(m),
        A::SearchStart => log::start_search(m),
        A::SearchInput(c) => type_char(m.log.input.as_mut(), c),
        A::SearchBackspace => backspace(m.log.input.as_mut()),
        A::SearchCancel => m.log.input = None,
        A::SearchSubmit => log::submit_search(m),
        A::NextMatch => log::next_match(m, true),
        A::PrevMatch => log::next_match(m, false),
        A::NextStage => return step::go_on(m, StepMode::Next),
        A::Continue => return step::go_on(m, StepMode::Continue),
        A::ToggleBreakpoint => return step::toggle_breakpoint(m),
        A::Shell => shell::open_prompt(m),
        A::ShellInput(c) => type_char(shell::command(m), c),
        A::ShellBackspace => backspace(shell::command(m)),
        A::ShellCancel => m.shell_prompt = None,
        A::ShellSubmit => return shell::submit(m),
        A::ToggleExplain => explain::toggle(m),
        A::OpenFiles => return files::open(m),
        A::Files(k) => return files::on_key(m, k),
        A::OpenDiff => return diff::open(m),
        A::Diff(k) => return diff::on_key(m, k),
    }
    vec![]
}

/// Esc: what is on top goes first, the search last.
fn close(m: &mut Model) {
    if m.overlay.is_some() {
        m.overlay = None;
    } else if m.explain.open {
        explain::toggle(m);
    } else if m.log.search.is_some() {
        m.log.search = None;
        m.log.current_match = None;
    }
}

/// A key typed into a prompt's line, when the prompt is open.
fn type_char(line: Option<&mut String>, c: char) {
    if let Some(line) = line {
        line.push(c);
    }
}

fn backspace(line: Option<&mut String>) {
    if let Some(line) = line {
        line.pop();
    }
}

#[cfg(test)]
pub(crate) mod tests;
