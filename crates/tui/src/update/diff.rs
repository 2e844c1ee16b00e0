//! The diff view in the model: opening it on the default pair, its answers, its keys.

use super::Cmd;
use crate::diff::keys::DiffKey;
use crate::diff::preview::Sides;
use crate::diff::{DiffView, Filter, Indexed, Pane, Phase};
use crate::model::Model;
use stagescope_fs::tree::LazyTree;
use stagescope_plan::Status;

/// `d`: opens the view for the final stage against its default partner.
pub(super) fn open(m: &mut Model) -> Vec<Cmd> {
    let to = m.plan().target.min(m.stage_count().saturating_sub(1));
    let Some(from) = m.diff.default_from.filter(|&f| f != to) else {
        m.notice = Some("the final stage copies from no other stage: nothing to compare".into());
        return vec![];
    };
    let built = |s: usize| {
        m.state
            .stages
            .get(s)
            .is_some_and(|st| matches!(st.status, Status::Done | Status::Cached))
    };
    if !built(from) || !built(to) {
        m.notice = Some("the diff needs both stages built: wait for the build".into());
        return vec![];
    }
    m.diff.seq += 1;
    let request = m.diff.seq;
    m.diff.view = Some(DiffView {
        from,
        to,
        request,
        phase: Phase::Loading,
        filter: Filter::All,
        pane: Pane::Tree,
        tree: LazyTree::default(),
        finding: 0,
        detail: None,
        contents: None,
    });
    vec![Cmd::IndexDiff {
        request,
        from,
        to,
        images: m.state.stages.iter().map(|s| s.image.clone()).collect(),
    }]
}

pub(super) fn on_indexed(m: &mut Model, msg: Indexed) {
    m.diff.on_indexed(msg);
}

pub(super) fn on_sides(m: &mut Model, msg: Sides) {
    m.diff.on_sides(msg);
}

pub(super) fn on_key(m: &mut Model, key: DiffKey) -> Vec<Cmd> {
    let page = usize::from(m.size.1 / 2).max(1);
    m.diff
        .on_key(key, page)
        .into_iter()
        .map(Cmd::FetchSides)
        .collect()
}
