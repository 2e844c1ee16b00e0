//! The Explain pane's part of `update`: `e` opens and closes it, its subject follows the
//! focus, it scrolls, and numbers are asked for once the selected stage is built.

use stagescope_core::session::SharedError;
use std::sync::Arc;

use super::Cmd;
use crate::explain::{Counted, paused_in, stage_built, wrapped};
use crate::model::{Focus, Model};
use stagescope_core::explain::StageNumbers;

pub(super) fn toggle(m: &mut Model) {
    m.explain.open = !m.explain.open;
    m.explain.scroll = 0;
    m.focus = match m.focus {
        Focus::Log if m.explain.open => Focus::Explain,
        Focus::Explain if !m.explain.open => Focus::Instructions,
        f => f,
    };
}

/// After every change: the subject follows the focus, and a built stage's numbers are
/// asked for when the pane shows that stage and has none.
pub(super) fn sync(m: &mut Model) -> Vec<Cmd> {
    match m.focus {
        Focus::Graph => m.explain.about_stage = true,
        Focus::Instructions => m.explain.about_stage = false,
        Focus::Log | Focus::Explain => {}
    }
    let s = m.stage;
    // The whole stage once built; before that, the state a pause stopped at.
    let at = match (stage_built(m, s), paused_in(m, s)) {
        (true, _) => None,
        (false, Some(k)) => Some(k),
        (false, None) => return vec![],
    };
    let have = m.explain.numbers.contains_key(&s) && m.explain.partial.get(&s).copied() == at;
    if !m.explain.open || m.explain.source.is_none() || have || m.explain.counting == Some(s) {
        return vec![];
    }
    m.explain.counting = Some(s);
    let images = m.state.stages.iter().map(|st| st.image.clone()).collect();
    vec![Cmd::ExplainNumbers {
        stage: s,
        at,
        images,
    }]
}

pub(super) fn on_numbers(
    m: &mut Model,
    stage: usize,
    at: Option<usize>,
    result: Result<StageNumbers, SharedError>,
) {
    if m.explain.counting == Some(stage) {
        m.explain.counting = None;
    }
    match at {
        Some(k) => m.explain.partial.insert(stage, k),
        None => m.explain.partial.remove(&stage),
    };
    let counted = match result {
        Ok(mut n) => {
            // Cache and time come from this build's events, which the model has.
            if let Some(st) = m.state.stages.get(stage) {
                stagescope_core::explain::numbers::with_state(&mut n.instructions, st);
            }
            Counted::Ready(Arc::new(n))
        }
        Err(e) => Counted::Failed(e),
    };
    m.explain.numbers.insert(stage, counted);
}

/// Scrolls by `delta` rows, kept within the text at the pane's current width.
pub(super) fn scroll(m: &mut Model, delta: isize) {
    let area = m.areas().log;
    let rows = usize::from(area.height.saturating_sub(2));
    let len = wrapped(m, crate::layout::explain_text_width(area)).len();
    let max = len.saturating_sub(rows);
    let to = usize::from(m.explain.scroll)
        .saturating_add_signed(delta)
        .min(max);
    m.explain.scroll = u16::try_from(to).unwrap_or(u16::MAX);
}

/// The breakpoints the driver stops at: the user's, and in a tour every instruction of the
/// stages the target needs.
pub(super) fn breakpoints(m: &Model) -> Vec<(usize, usize)> {
    let mut all = m.breakpoints.clone();
    if m.tour {
        for st in m.plan().stages.iter().filter(|s| s.needed) {
            all.extend((0..st.instructions.len()).map(|k| (st.index, k)));
        }
    }
    all.into_iter().collect()
}
