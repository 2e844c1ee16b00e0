//! Two texts compared line by line: the shortest edit script (Myers) as unified diff
//! lines numbered on both sides, and the rows the diff view draws of it.
//! Pure: the lines come from whoever read the files, the rows go to a view.

/// Edits the line diff looks for before it gives up on a minimal one and replaces the
/// whole middle: bounds its time and memory (both about `MAX_EDITS²`).
const MAX_EDITS: usize = 1000;

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
pub fn text_rows(left: Option<&str>, right: Option<&str>, a: &[String], b: &[String]) -> Vec<Row> {
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

#[cfg(test)]
#[path = "content_diff_tests.rs"]
mod tests;
