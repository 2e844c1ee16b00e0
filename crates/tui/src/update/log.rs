//! The log pane: following and wrapping, search, scrolling, and `w` writing it out.

use super::{Cmd, explain, reset_log};
use crate::ansi;
use crate::model::{Focus, Model};

pub(super) fn toggle_follow(m: &mut Model) {
    // Stopping keeps the lines in view where they are instead of jumping to the top.
    if m.log.follow {
        m.log.top = m.log_top();
    }
    m.log.follow = !m.log.follow;
}

pub(super) fn toggle_whole_stage(m: &mut Model) {
    m.log.whole_stage = !m.log.whole_stage;
    reset_log(m);
}

pub(super) fn start_search(m: &mut Model) {
    // The search is in the log, which the Explain pane covers.
    if m.explain.open {
        explain::toggle(m);
    }
    m.log.input = Some(String::new());
    m.focus = Focus::Log;
}

/// Enter in the search prompt: an empty query ends the search.
pub(super) fn submit_search(m: &mut Model) {
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

/// `n` / `N`: from the current match, or from the top of the pane when there is none yet.
pub(super) fn next_match(m: &mut Model, forward: bool) {
    let from = m.log.current_match.unwrap_or_else(|| m.log_top());
    let inclusive = m.log.current_match.is_none();
    if m.log.search.is_some() {
        let found = find_match(m, from, forward, inclusive);
        jump_to_match(m, found);
    }
}

/// `w`: named after the stage, and the instruction unless the whole stage's log is shown.
pub(super) fn write(m: &Model) -> Vec<Cmd> {
    let name = m.state.plan.stages[m.stage].display_name();
    let path = if m.log.whole_stage {
        format!("stagescope-{name}.log")
    } else {
        format!("stagescope-{name}-{}.log", m.instruction)
    };
    vec![Cmd::WriteLog {
        path,
        text: log_text(m),
        stage: m.stage,
        instruction: (!m.log.whole_stage).then_some(m.instruction),
    }]
}

pub(super) fn matches(m: &Model, line: usize, needle: &str) -> bool {
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

pub(super) fn scroll_log(m: &mut Model, delta: isize) {
    let top = m.log_top();
    let len = m.log_len();
    let last_top = len.saturating_sub(m.log_rows());
    let new = top.saturating_add_signed(delta).min(last_top);
    m.log.top = new;
    m.log.follow = new >= last_top && delta > 0;
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
