//! Two texts compared line by line: the edit script (Myers', from the `similar` crate) as
//! unified diff lines numbered on both sides, and the rows the diff view draws of it.
//! Pure: the lines come from whoever read the files, the rows go to a view.

use std::time::{Duration, Instant};

use similar::algorithms::{Capture, Compact, IdentifyDistinct, Replace, diff_deadline};
use similar::{Algorithm, DiffTag};

/// How long the line diff looks for a minimal edit script before it settles for what it
/// has and shows each part it had not finished as all removed, then all added. It runs
/// while a frame waits, so a pathological pair of files must not stall the screen.
pub(crate) const DEADLINE: Duration = Duration::from_millis(100);

/// One line of a unified diff: `mark` is ` `, `-` or `+`; line numbers from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub mark: char,
    pub left: Option<usize>,
    pub right: Option<usize>,
    pub text: String,
}

/// The shortest edit script from `a` to `b`, as unified diff lines: within a changed
/// block the removed lines come before the added ones. Past [`DEADLINE`] the parts not
/// yet resolved are shown whole (see [`line_diff_until`]).
pub(crate) fn line_diff(a: &[String], b: &[String]) -> Vec<DiffLine> {
    line_diff_until(a, b, Instant::now() + DEADLINE)
}

/// [`line_diff`] that stops looking for a minimal script at `deadline`. The common
/// prefix and suffix are matched whatever the time; a middle not resolved by then is
/// all removed, then all added. Lines are compared as small integers (each distinct
/// line numbered once), so long lines cost no more than short ones; memory is linear
/// in the number of lines.
pub(crate) fn line_diff_until(a: &[String], b: &[String], deadline: Instant) -> Vec<DiffLine> {
    let ids = IdentifyDistinct::<u32>::new(a, 0..a.len(), b, 0..b.len());
    let mut hook = Compact::new(
        Replace::new(Capture::new()),
        ids.old_lookup(),
        ids.new_lookup(),
    );
    let done = diff_deadline(
        Algorithm::Myers,
        &mut hook,
        ids.old_lookup(),
        ids.old_range(),
        ids.new_lookup(),
        ids.new_range(),
        Some(deadline),
    );
    // Capturing cannot fail: its error type is uninhabited.
    let Ok(()) = done;
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for op in hook.into_inner().into_inner().into_ops() {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            out.extend(old.zip(new).map(|(i, j)| DiffLine {
                mark: ' ',
                left: Some(i + 1),
                right: Some(j + 1),
                text: a[i].clone(),
            }));
            continue;
        }
        out.extend(old.map(|i| DiffLine {
            mark: '-',
            left: Some(i + 1),
            right: None,
            text: a[i].clone(),
        }));
        out.extend(new.map(|j| DiffLine {
            mark: '+',
            left: None,
            right: Some(j + 1),
            text: b[j].clone(),
        }));
    }
    out
}

/// How a row of the content part is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Head,
    Same,
    Del,
    Add,
    Note,
}

/// One row of the content part, as the diff view draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub tone: Tone,
    pub text: String,
}

impl Row {
    pub fn new(tone: Tone, text: impl Into<String>) -> Row {
        Row {
            tone,
            text: text.into(),
        }
    }
}

/// The rows of the line diff of `a` to `b`: a head naming both sides (None: absent, its
/// lines empty) and counting the edits, then every line with its number on each side.
pub(crate) fn text_rows(
    left: Option<&str>,
    right: Option<&str>,
    a: &[String],
    b: &[String],
) -> Vec<Row> {
    let diff = line_diff(a, b);
    let (adds, dels) = diff.iter().fold((0, 0), |(p, m), d| match d.mark {
        '+' => (p + 1, m),
        '-' => (p, m + 1),
        _ => (p, m),
    });
    let mut out = Vec::with_capacity(diff.len() + 1);
    out.push(Row::new(
        Tone::Head,
        format!(
            "--- {}  +++ {}  ({dels} removed, {adds} added)",
            left.unwrap_or("(absent)"),
            right.unwrap_or("(absent)"),
        ),
    ));
    let num = |n: Option<usize>| n.map_or(String::new(), |n| n.to_string());
    out.extend(diff.into_iter().map(|d| {
        let tone = match d.mark {
            '-' => Tone::Del,
            '+' => Tone::Add,
            _ => Tone::Same,
        };
        let text = format!(
            "{:>5} {:>5} {} {}",
            num(d.left),
            num(d.right),
            d.mark,
            d.text
        );
        Row::new(tone, text)
    }));
    out
}

/// Replays a diff on its left side: the right side, or why the diff does not fit `left`.
pub fn apply(left: &[String], diff: &[DiffLine]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut i = 0usize;
    for d in diff {
        match d.mark {
            ' ' | '-' => {
                if left.get(i) != Some(&d.text) {
                    return Err(format!("line {} does not match", i + 1));
                }
                i += 1;
                if d.mark == ' ' {
                    out.push(d.text.clone());
                }
            }
            '+' => out.push(d.text.clone()),
            m => return Err(format!("unknown mark {m:?}")),
        }
    }
    if i != left.len() {
        return Err(format!(
            "{} lines of the left side left over",
            left.len() - i
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "content_diff_tests.rs"]
mod tests;
