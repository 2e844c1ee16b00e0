//! The log pane's search and scrolling, and its text for `w`.

use crate::ansi;
use crate::model::Model;

pub(super) fn matches(m: &Model, line: usize, needle: &str) -> bool {
    m.log_line(line)
        .is_some_and(|(_, l)| ansi::plain(l).to_lowercase().contains(needle))
}

/// The next (or previous) line matching the search, starting after (before) `from`,
/// wrapping around.
pub(super) fn find_match(m: &Model, from: usize, forward: bool, inclusive: bool) -> Option<usize> {
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

pub(super) fn jump_to_match(m: &mut Model, line: Option<usize>) {
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

pub(super) fn log_text(m: &Model) -> String {
    let mut out = String::new();
    for i in 0..m.log_len() {
        if let Some((_, l)) = m.log_line(i) {
            out.push_str(&ansi::plain(l));
            out.push('\n');
        }
    }
    out
}
