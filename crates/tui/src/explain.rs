//! The Explain pane's text for the model's selection. The words come from the pure
//! `explain` layer and need only the Dockerfile and graph; the numbers need a finished
//! stage's image and arrive from a background job (their state: [`super::explain_state`]).

pub(crate) use crate::explain_state::Counted;
use crate::model::Model;
use stagescope_core::explain::{BuildNumbers, Explanation};
use stagescope_plan::Status;

/// What a row of the pane is, so the view can style it without colour carrying meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Title,
    Text,
    Fact,
    /// Why there are no numbers (yet): "counting files…", an error, "once built".
    Note,
    Blank,
}

/// The pane's text before wrapping, for the current selection.
pub(crate) fn text(m: &Model) -> Vec<(Kind, String)> {
    let Some(src) = m.explain.source.as_deref() else {
        return vec![(Kind::Note, "nothing to explain".into())];
    };
    let (df, g) = (&src.dockerfile, &src.graph);
    let s = m.stage;
    if s >= df.stages.len() {
        return vec![(Kind::Note, "nothing to explain".into())];
    }
    let ready = match m.explain.numbers.get(&s) {
        Some(Counted::Ready(n)) => Some(n.as_ref()),
        _ => None,
    };
    let mut out = Vec::new();
    if m.explain.about_stage || m.instruction_count() == 0 {
        let all = build_numbers(m);
        push(
            &mut out,
            &stagescope_core::explain::stage(df, g, s, all.as_ref()),
        );
        note(&mut out, m, s);
        out.push((Kind::Blank, String::new()));
        push(
            &mut out,
            &stagescope_core::explain::build(df, g, all.as_ref()),
        );
    } else {
        let counted = |k: usize| m.explain.partial.get(&s).is_none_or(|&upto| k <= upto);
        let n = ready
            .filter(|_| counted(m.instruction))
            .and_then(|n| n.instructions.get(m.instruction));
        if let Some(e) = stagescope_core::explain::instruction(df, s, m.instruction, n) {
            push(&mut out, &e);
        }
        note(&mut out, m, s);
    }
    out
}

fn push(out: &mut Vec<(Kind, String)>, e: &Explanation) {
    let clean = stagescope_report::sanitize::name;
    out.push((Kind::Title, clean(&e.title)));
    out.push((Kind::Text, clean(&e.paragraph())));
    for f in e.facts.iter().filter(|f| f.label != "line") {
        out.push((Kind::Fact, clean(&format!("{}: {}", f.label, f.value))));
    }
}

/// One line on the numbers of stage `s` when they are not shown.
fn note(out: &mut Vec<(Kind, String)>, m: &Model, s: usize) {
    let line = match m.explain.numbers.get(&s) {
        Some(Counted::Ready(_)) => return,
        Some(Counted::Failed(e)) => {
            let why = e.to_string();
            format!("no numbers: {}", why.lines().next().unwrap_or_default())
        }
        None if m.explain.counting == Some(s) => "counting files…".into(),
        None if stage_built(m, s) || paused_in(m, s).is_some() => return,
        None => "files and bytes: once this stage is built".into(),
    };
    out.push((Kind::Note, stagescope_report::sanitize::name(&line)));
}

/// The instruction of stage `s` the build is paused after (a tour or a breakpoint): the
/// state there can be counted before the stage is built.
pub(crate) fn paused_in(m: &Model, s: usize) -> Option<usize> {
    match m.pause {
        Some(stagescope_core::session::stepper::Pause::Breakpoint(stage, k)) if stage == s => {
            Some(k)
        }
        _ => None,
    }
}

/// The stage finished building (its image can be counted).
pub(crate) fn stage_built(m: &Model, s: usize) -> bool {
    m.state
        .stages
        .get(s)
        .is_some_and(|st| matches!(st.status, Status::Done | Status::Cached))
}

/// The numbers counted so far, as the whole build's (stages not counted are `None`).
fn build_numbers(m: &Model) -> Option<BuildNumbers> {
    if m.explain.numbers.is_empty() {
        return None;
    }
    let stages = (0..m.stage_count())
        .map(|s| match m.explain.numbers.get(&s) {
            Some(Counted::Ready(n)) => Some(n.as_ref().clone()),
            _ => None,
        })
        .collect();
    let finished = m.state.finished.as_ref();
    Some(BuildNumbers {
        stages,
        critical_path: finished
            .map(|_| m.plan().critical_path(&m.state.stage_durations()))
            .unwrap_or_default(),
        duration_ms: finished.map(|f| f.1),
    })
}

/// The text wrapped to `width` columns: what the view draws and what scrolling counts.
pub(crate) fn wrapped(m: &Model, width: usize) -> Vec<(Kind, String)> {
    let width = width.max(1);
    let mut out = Vec::new();
    for (kind, line) in text(m) {
        let indent = if kind == Kind::Fact { "  " } else { "" };
        let rows = wrap(&line, width, indent);
        out.extend(rows.into_iter().map(|r| (kind, r)));
    }
    out
}

/// Greedy word wrap; a word longer than the width is cut. Later rows start with `indent`.
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let width = width.max(indent.chars().count() + 1);
    let mut rows: Vec<String> = Vec::new();
    // The row being filled, its width, and whether a word is on it yet.
    let (mut cur, mut cur_w, mut has_word) = (String::new(), 0, false);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let sep = usize::from(has_word);
            let fits = cur_w + sep + word.len() <= width;
            if !fits && has_word {
                rows.push(std::mem::take(&mut cur));
                cur.push_str(indent);
                (cur_w, has_word) = (indent.chars().count(), false);
                continue;
            }
            // Fits, or too long for a row of its own: as much as the row takes.
            let take = word.len().min(width - cur_w - sep);
            let rest = word.split_off(take);
            if has_word {
                cur.push(' ');
            }
            cur.extend(word.iter());
            (cur_w, has_word) = (cur_w + sep + take, true);
            word = rest;
        }
    }
    if has_word || rows.is_empty() {
        rows.push(cur);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_words_whole_and_cuts_only_what_cannot_fit() {
        assert_eq!(wrap("copies a b", 8, ""), vec!["copies a", "b"]);
        assert_eq!(
            wrap("largest: /a/very/long/path", 10, "  "),
            vec!["largest:", "  /a/very/", "  long/pat", "  h"]
        );
        assert_eq!(wrap("", 5, ""), vec![""]);
        for row in wrap("one two three four five six seven", 7, "  ") {
            assert!(row.chars().count() <= 7, "{row:?}");
        }
    }
}
