//! The files pane in the model: opening it on the selection, its answers, its keys.

use super::Cmd;
use crate::files::{FilesCmd, FilesKey, FilesMsg, FilesPane, Kept, Shared, layers_cmd};
use crate::model::{Focus, Model};
use stagescope_plan::Status;

fn cmds(c: Vec<FilesCmd>) -> Vec<Cmd> {
    c.into_iter().map(Cmd::Files).collect()
}

/// `f`: opens the pane on the selected stage (graph) or instruction's state.
pub(super) fn open(m: &mut Model) -> Vec<Cmd> {
    let Some(st) = m.state.stages.get(m.stage) else {
        return vec![];
    };
    let last = st.instructions.len().saturating_sub(1);
    let k = m.selected_state();
    let Some(ins) = st.instructions.get(k) else {
        return vec![];
    };
    let image = ins
        .image
        .clone()
        .or_else(|| (k == last && st.status != Status::Failed).then(|| st.image.clone())?);
    if image.is_none() && !matches!(ins.status, Status::Done | Status::Cached) {
        m.notice = Some("that state is not built yet".into());
        return vec![];
    }
    let plan_stage = &m.state.plan.stages[m.stage];
    let title = match plan_stage.instructions.get(k) {
        Some(i) if k < last || m.focus != Focus::Graph => {
            format!("{} after {}: {}", plan_stage.display_name(), k, i.text)
        }
        _ => format!("stage {}", plan_stage.display_name()),
    };
    m.files_seq += 1;
    let mut pane = FilesPane::new(m.files_seq, m.stage, k, title);
    pane.image = image.clone();
    // Reopening what memory holds is instant: no export, no message round trip.
    if let Some(kept) = image.as_deref().and_then(|i| m.files_cache.get(i)) {
        pane.from_cache = true;
        pane.loading = false;
        pane.waste = kept.waste.map(Shared);
        pane.set_index(Shared(kept.index));
        let c = layers_cmd(&pane);
        m.files = Some(pane);
        return cmds(c);
    }
    let c = FilesCmd::Open {
        req: pane.req,
        stage: m.stage,
        instruction: k,
        image,
    };
    m.files = Some(pane);
    vec![Cmd::Files(c)]
}

pub(super) fn on_msg(m: &mut Model, msg: FilesMsg) -> Vec<Cmd> {
    let Some(p) = m.files.as_mut() else {
        return vec![];
    };
    // The finished index and its waste are kept, by image id: reopening it is instant.
    if let FilesMsg::Indexed {
        req,
        result: Ok(ix),
        image_id: Some(id),
        waste,
        ..
    } = &msg
        && *req == p.req
    {
        let kept = Kept {
            index: ix.0.clone(),
            waste: waste.as_ref().map(|w| w.0.clone()),
        };
        m.files_cache.put(id, kept);
    }
    cmds(p.on_msg(msg))
}

pub(super) fn on_key(m: &mut Model, key: FilesKey) -> Vec<Cmd> {
    let page = isize::try_from(m.size.1.saturating_sub(6))
        .unwrap_or(1)
        .max(1);
    let Some(p) = m.files.as_mut() else {
        return vec![];
    };
    let out = p.on_key(key, page);
    if out.contains(&FilesCmd::Cancel) {
        m.files = None;
    }
    cmds(out)
}
