//! `s`: a prompt for the command to run in the selected state, then the shell it asks for.

use super::Cmd;
use crate::model::{Model, ShellPrompt};
use stagescope_plan::Status;

pub(super) fn open_prompt(m: &mut Model) {
    if m.instruction_count() == 0 {
        return;
    }
    let sel = m.selected_state();
    let st = &m.state.stages[m.stage];
    let ins = &st.instructions[sel];
    let last = st.instructions.len() - 1;
    // A failed instruction has no state of its own: the shell opens on the state
    // just before it, which is what the failing command saw.
    let (k, image) = if ins.status == Status::Failed {
        let prev = sel.saturating_sub(1);
        (prev, st.instructions[prev].image.clone())
    } else if matches!(ins.status, Status::Done | Status::Cached) {
        let image = ins
            .image
            .clone()
            .or_else(|| (sel == last).then(|| st.image.clone())?);
        (sel, image)
    } else {
        m.notice = Some("that state is not built yet".into());
        return;
    };
    m.shell_prompt = Some(ShellPrompt {
        stage: m.stage,
        instruction: k,
        image,
        command: String::new(),
    });
}

/// The prompt's line, while it is open.
pub(super) fn command(m: &mut Model) -> Option<&mut String> {
    m.shell_prompt.as_mut().map(|p| &mut p.command)
}

/// Enter: a blank line asks for an interactive shell.
pub(super) fn submit(m: &mut Model) -> Vec<Cmd> {
    let Some(p) = m.shell_prompt.take() else {
        return vec![];
    };
    let command = Some(p.command.trim().to_string()).filter(|c| !c.is_empty());
    vec![Cmd::Shell {
        stage: p.stage,
        instruction: p.instruction,
        image: p.image,
        command,
    }]
}
