//! Both sides of one file, as the diff view shows them: read as the file preview reads
//! them, then a unified line diff ([`super::content_diff`]) when both are text, a type guess,
//! size, hash verdict and a short hex dump of each side otherwise.

use super::content_diff::{Row, Tone, text_rows};
use super::format::human_size;
use super::preview::{Body, FetchedFile, PREVIEW_LIMIT, Preview, hex_lines};
use super::{Kind, escape};

/// Lines of each side the line diff reads; beyond, the rest is left out (and said so).
/// With [`crate::content_diff::DEADLINE`], bounds what one opening costs.
pub(crate) const MAX_LINES: usize = 5000;
/// Hex lines (16 bytes each) of each side of a binary.
const HEX_ROWS: usize = 8;

/// What is known of one side: its label and index hash, and what the fetch gave (its error
/// is the caller's own type: only its words are shown here).
pub struct Side<'a, E = String> {
    pub label: &'a str,
    /// The index's content hash (xxh3 of the whole file).
    pub hash: u64,
    pub fetched: &'a Result<FetchedFile, E>,
}

/// What a side turned out to be.
enum Seen {
    Text(Vec<String>, bool),
    Binary(&'static str),
    Note(String),
}

fn seen(path: &[u8], f: &Result<FetchedFile, impl std::fmt::Display>) -> Seen {
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
pub fn rows<E: std::fmt::Display>(
    path: &[u8],
    left: Option<Side<'_, E>>,
    right: Option<Side<'_, E>>,
) -> Vec<Row> {
    let l = left.as_ref().map(|s| seen(path, s.fetched));
    let r = right.as_ref().map(|s| seen(path, s.fetched));
    let mut out = Vec::new();
    for (side, seen) in [(&left, &l), (&right, &r)] {
        if let (Some(s), Some(Seen::Note(n))) = (side, seen) {
            out.push(Row::new(Tone::Note, format!("{}: {n}", s.label)));
        }
    }
    match (&l, &r) {
        (Some(Seen::Note(_)), _) | (_, Some(Seen::Note(_))) => {}
        (None | Some(Seen::Text(..)), None | Some(Seen::Text(..))) => {
            let lines = |seen: &Option<Seen>, s: &Option<Side<'_, E>>, out: &mut Vec<Row>| {
                let Some(Seen::Text(lines, truncated)) = seen else {
                    return Vec::new();
                };
                let label = s.as_ref().map_or("", |s| s.label);
                if *truncated {
                    out.push(Row::new(
                        Tone::Note,
                        format!(
                            "{label}: only the first {} read",
                            human_size(PREVIEW_LIMIT as u64)
                        ),
                    ));
                }
                if lines.len() > MAX_LINES {
                    out.push(Row::new(
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
            out.extend(text_rows(
                left.as_ref().map(|s| s.label),
                right.as_ref().map(|s| s.label),
                &a,
                &b,
            ));
        }
        _ => binary(&mut out, [left.as_ref(), right.as_ref()], [&l, &r]),
    }
    out
}

fn binary<E>(out: &mut Vec<Row>, sides: [Option<&Side<'_, E>>; 2], seen: [&Option<Seen>; 2]) {
    if let [Some(a), Some(b)] = sides {
        out.push(if a.hash == b.hash {
            Row::new(
                Tone::Same,
                format!("identical bytes (same hash {:016x})", a.hash),
            )
        } else {
            Row::new(
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
        out.push(Row::new(
            Tone::Head,
            format!(
                "{}: {what}, {} ({} bytes)",
                s.label,
                human_size(f.size),
                f.size
            ),
        ));
        let hex = hex_lines(&f.data[..f.data.len().min(HEX_ROWS * 16)]);
        out.extend(hex.into_iter().map(|l| Row::new(Tone::Same, l)));
        if f.size > (HEX_ROWS * 16) as u64 {
            out.push(Row::new(Tone::Note, "…"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::fetched;

    fn side<'a>(label: &'a str, fetched: &'a Result<FetchedFile, String>) -> Option<Side<'a>> {
        Some(Side {
            label,
            hash: 0,
            fetched,
        })
    }

    fn texts(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn text_sides_cut_to_the_first_lines_say_so_before_the_diff() {
        let many: String = (0..MAX_LINES + 2).map(|i| format!("{i}\n")).collect();
        let mut left = fetched(many.as_bytes());
        if let Ok(f) = left.as_mut() {
            f.size += 10;
        }
        let right = fetched(b"0\nnew\n");
        let rows = rows(b"f", side("from", &left), side("to", &right));
        assert_eq!(
            texts(&rows[..3]),
            [
                "from: only the first 1.0M read",
                "from: only the first 5000 of 5002 lines compared",
                "--- from  +++ to  (4999 removed, 1 added)",
            ]
        );
        assert_eq!(rows.len(), 3 + MAX_LINES + 1);
    }

    #[test]
    fn a_note_on_either_side_replaces_the_diff() {
        let left = Err("gone".to_string());
        let right = fetched(b"x\n");
        let rows = rows(b"f", side("from", &left), side("to", &right));
        assert_eq!(texts(&rows), ["from: cannot read: gone"]);
    }
}
