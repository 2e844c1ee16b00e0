//! Enter in the diff view: the content of both sides of one file, under its metadata.
//! Both sides' first bytes are fetched in the background (one request id per opening,
//! stale answers dropped); what arrives is turned here, purely, into the rows drawn:
//! a unified line diff when both sides are text, a type guess, size, hash verdict and a
//! short hex dump of each side otherwise.

use crate::engine::fetch::FetchedFile;
use crate::fs::format::human_size;
use crate::fs::{Kind, escape};

use crate::fs::preview::{Body, PREVIEW_LIMIT, Preview, hex_lines};

/// Lines of each side the line diff reads; beyond, the rest is left out (and said so).
pub const MAX_LINES: usize = 5000;
/// Edits the line diff looks for before it gives up on a minimal one and replaces the
/// whole middle: bounds its time and memory (both about `MAX_EDITS²`).
const MAX_EDITS: usize = 1000;
/// Hex lines (16 bytes each) of each side of a binary.
const HEX_ROWS: usize = 8;

/// One line of a unified diff: `mark` is ` `, `-` or `+`; line numbers from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub mark: char,
    pub left: Option<usize>,
    pub right: Option<usize>,
    pub text: String,
}

/// The shortest edit script from `a` to `b` (Myers), as unified diff lines. Common
/// prefix and suffix are matched first; when the middle needs more than [`MAX_EDITS`]
/// edits it is shown as all removed, then all added.
pub fn line_diff(a: &[String], b: &[String]) -> Vec<DiffLine> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let same = |out: &mut Vec<DiffLine>, i: usize, j: usize| {
        out.push(DiffLine {
            mark: ' ',
            left: Some(i + 1),
            right: Some(j + 1),
            text: a[i].clone(),
        })
    };
    for i in 0..pre {
        same(&mut out, i, i);
    }
    let ops = myers(ma, mb).unwrap_or_else(|| {
        let mut ops = vec![Op::Del; ma.len()];
        ops.extend(vec![Op::Add; mb.len()]);
        ops
    });
    let (mut i, mut j) = (pre, pre);
    for op in ops {
        match op {
            Op::Same => {
                same(&mut out, i, j);
                i += 1;
                j += 1;
            }
            Op::Del => {
                out.push(DiffLine {
                    mark: '-',
                    left: Some(i + 1),
                    right: None,
                    text: a[i].clone(),
                });
                i += 1;
            }
            Op::Add => {
                out.push(DiffLine {
                    mark: '+',
                    left: None,
                    right: Some(j + 1),
                    text: b[j].clone(),
                });
                j += 1;
            }
        }
    }
    for k in 0..suf {
        same(&mut out, i + k, j + k);
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// Myers' O(ND) shortest edit script; None past [`MAX_EDITS`]. Keeps, per edit count `d`,
/// the furthest x of each diagonal in `-d..=d` for the walk back.
fn myers<T: PartialEq>(a: &[T], b: &[T]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let off = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    let at = |k: isize| (k + off) as usize;
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max.min(MAX_EDITS) as isize {
        trace.push(v[at(-d)..=at(d)].to_vec());
        let mut k = -d;
        while k <= d {
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                return Some(walk_back(&trace, n, m));
            }
            k += 2;
        }
    }
    None
}

fn walk_back(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    let (mut x, mut y) = (n, m);
    let mut ops = Vec::new();
    for (d, w) in trace.iter().enumerate().rev() {
        let d = d as isize;
        if d == 0 {
            ops.extend(std::iter::repeat_n(Op::Same, x as usize));
            break;
        }
        // `w` holds diagonals -d..=d as they were after d-1 edits.
        let val = |k: isize| w[(k + d) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && val(k - 1) < val(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = val(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            ops.push(Op::Same);
            x -= 1;
            y -= 1;
        }
        ops.push(if x == prev_x { Op::Add } else { Op::Del });
        (x, y) = (prev_x, prev_y);
    }
    ops.reverse();
    ops
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub tone: Tone,
    pub text: String,
}

fn row(tone: Tone, text: impl Into<String>) -> Row {
    Row {
        tone,
        text: text.into(),
    }
}

/// What is known of one side: its label and index hash, and what the fetch gave.
pub struct Side<'a> {
    pub label: &'a str,
    /// The index's content hash (xxh3 of the whole file).
    pub hash: u64,
    pub fetched: &'a Result<FetchedFile, String>,
}

/// What a side turned out to be.
enum Seen {
    Text(Vec<String>, bool),
    Binary(&'static str),
    Note(String),
}

fn seen(path: &[u8], f: &Result<FetchedFile, String>) -> Seen {
    let f = match f {
        Ok(f) => f,
        Err(e) => return Seen::Note(format!("cannot read: {e}")),
    };
    match f.kind {
        Kind::File => match Preview::of_file(path, f.size, &f.data).body {
            Body::Text(lines) => Seen::Text(lines, f.truncated()),
            Body::Hex { guess, .. } => Seen::Binary(guess),
            Body::Note(n) => Seen::Note(n),
        },
        Kind::Symlink => Seen::Note(format!(
            "symbolic link to {}",
            f.link.as_deref().map(escape).unwrap_or_default()
        )),
        k => Seen::Note(format!("{}: no content to show", k.as_str())),
    }
}

/// The rows under the metadata, for the sides that exist (None: absent on that side).
pub fn rows(path: &[u8], left: Option<Side<'_>>, right: Option<Side<'_>>) -> Vec<Row> {
    let l = left.as_ref().map(|s| seen(path, s.fetched));
    let r = right.as_ref().map(|s| seen(path, s.fetched));
    let mut out = Vec::new();
    for (side, seen) in [(&left, &l), (&right, &r)] {
        if let (Some(s), Some(Seen::Note(n))) = (side, seen) {
            out.push(row(Tone::Note, format!("{}: {n}", s.label)));
        }
    }
    match (&l, &r) {
        (Some(Seen::Note(_)), _) | (_, Some(Seen::Note(_))) => {}
        (None | Some(Seen::Text(..)), None | Some(Seen::Text(..))) => {
            let lines = |seen: &Option<Seen>, s: &Option<Side<'_>>, out: &mut Vec<Row>| {
                let Some(Seen::Text(lines, truncated)) = seen else {
                    return Vec::new();
                };
                let label = s.as_ref().map_or("", |s| s.label);
                if *truncated {
                    out.push(row(
                        Tone::Note,
                        format!(
                            "{label}: only the first {} read",
                            human_size(PREVIEW_LIMIT as u64)
                        ),
                    ));
                }
                if lines.len() > MAX_LINES {
                    out.push(row(
                        Tone::Note,
                        format!(
                            "{label}: only the first {MAX_LINES} of {} lines compared",
                            lines.len()
                        ),
                    ));
                }
                lines[..lines.len().min(MAX_LINES)].to_vec()
            };
            let a = lines(&l, &left, &mut out);
            let b = lines(&r, &right, &mut out);
            let diff = line_diff(&a, &b);
            let (adds, dels) = diff.iter().fold((0, 0), |(p, m), d| match d.mark {
                '+' => (p + 1, m),
                '-' => (p, m + 1),
                _ => (p, m),
            });
            out.push(row(
                Tone::Head,
                format!(
                    "--- {}  +++ {}  ({dels} removed, {adds} added)",
                    left.as_ref().map_or("(absent)", |s| s.label),
                    right.as_ref().map_or("(absent)", |s| s.label),
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
                row(tone, text)
            }));
        }
        _ => binary(&mut out, [left.as_ref(), right.as_ref()], [&l, &r]),
    }
    out
}

fn binary(out: &mut Vec<Row>, sides: [Option<&Side<'_>>; 2], seen: [&Option<Seen>; 2]) {
    if let [Some(a), Some(b)] = sides {
        out.push(if a.hash == b.hash {
            row(
                Tone::Same,
                format!("identical bytes (same hash {:016x})", a.hash),
            )
        } else {
            row(
                Tone::Note,
                format!("different bytes (hash {:016x} ≠ {:016x})", a.hash, b.hash),
            )
        });
    }
    for (s, seen) in sides.into_iter().zip(seen) {
        let (Some(s), Some(seen)) = (s, seen) else {
            continue;
        };
        let Ok(f) = s.fetched else { continue };
        let what = match seen {
            Seen::Text(..) => "text",
            Seen::Binary(g) => g,
            Seen::Note(_) => continue,
        };
        out.push(row(
            Tone::Head,
            format!(
                "{}: {what}, {} ({} bytes)",
                s.label,
                human_size(f.size),
                f.size
            ),
        ));
        let hex = hex_lines(&f.data[..f.data.len().min(HEX_ROWS * 16)]);
        out.extend(hex.into_iter().map(|l| row(Tone::Same, l)));
        if f.size > (HEX_ROWS * 16) as u64 {
            out.push(row(Tone::Note, "…"));
        }
    }
}

/// `Cmd::FetchSides`: the image and path of each side to read (None: nothing to read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSides {
    pub request: u64,
    pub left: Option<(String, Vec<u8>)>,
    pub right: Option<(String, Vec<u8>)>,
}

/// What the fetch of [`FetchSides`] gave, side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sides {
    pub request: u64,
    pub left: Option<Result<FetchedFile, String>>,
    pub right: Option<Result<FetchedFile, String>>,
}

/// The content part of the open detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// Answers carrying another id are stale.
    pub request: u64,
    /// None while the sides are being read.
    pub rows: Option<Vec<Row>>,
    /// First row shown.
    pub top: usize,
}

#[cfg(test)]
#[path = "diffpreview_tests.rs"]
mod tests;
