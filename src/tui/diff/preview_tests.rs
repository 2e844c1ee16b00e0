use super::*;
use crate::tui::diff::tests::fetched;

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
