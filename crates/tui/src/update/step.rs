//! Step mode: `n` and `c` let a paused build go on, `b` sets where a build stops.

use super::{Cmd, StepMode, explain};
use crate::model::{Model, Pause};

pub(super) fn go_on(m: &mut Model, mode: StepMode) -> Vec<Cmd> {
    // A breakpoint pauses a normal run too; from there it goes on step by step.
    let paused = matches!(m.pause, Some(Pause::BeforeStage(_) | Pause::Breakpoint(..)));
    if !paused {
        if !m.step_mode {
            m.notice = Some("not paused: n/c go on from --step pauses and breakpoints".into());
        }
        return vec![];
    }
    m.pause = None;
    m.track_build = true;
    // `c` ends a tour: the build runs on, stopping at the user's breakpoints.
    if matches!(mode, StepMode::Continue) {
        m.tour = false;
    }
    vec![Cmd::Advance {
        mode,
        breakpoints: explain::breakpoints(m),
    }]
}

pub(super) fn toggle_breakpoint(m: &mut Model) -> Vec<Cmd> {
    let key = (m.stage, m.instruction);
    if !m.breakpoints.remove(&key) {
        m.breakpoints.insert(key);
    }
    // A running build learns of it at once: it stops when that instruction finishes.
    vec![Cmd::Breakpoints(explain::breakpoints(m))]
}
