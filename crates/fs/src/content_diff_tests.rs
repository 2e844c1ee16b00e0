use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

fn marks(d: &[DiffLine]) -> String {
    d.iter().map(|l| l.mark).collect()
}

#[test]
fn a_small_diff_is_minimal_and_numbers_both_sides() {
    let a = lines("a\nb\nc\nd\ne");
    let b = lines("a\nc\nd\nx\ne\nf");
    let d = line_diff(&a, &b);
    assert_eq!(marks(&d), " -  + +");
    assert_eq!(apply(&a, &d), Ok(b.clone()));
    let x = d.iter().find(|l| l.text == "x").expect("x");
    assert_eq!((x.mark, x.left, x.right), ('+', None, Some(4)));
    let bl = d.iter().find(|l| l.text == "b").expect("b");
    assert_eq!((bl.mark, bl.left, bl.right), ('-', Some(2), None));
    let e = d.iter().find(|l| l.text == "e").expect("e");
    assert_eq!((e.mark, e.left, e.right), (' ', Some(5), Some(5)));
}

#[test]
fn empty_sides_and_identical_sides() {
    let a = lines("one\ntwo");
    assert_eq!(marks(&line_diff(&a, &[])), "--");
    assert_eq!(marks(&line_diff(&[], &a)), "++");
    assert_eq!(marks(&line_diff(&a, &a)), "  ");
    assert!(line_diff(&[], &[]).is_empty());
}

#[test]
fn sides_with_no_line_in_common_are_all_removed_then_all_added() {
    let a: Vec<String> = (0..3000).map(|i| format!("a{i}")).collect();
    let b: Vec<String> = (0..3000).map(|i| format!("b{i}")).collect();
    let d = line_diff(&a, &b);
    assert_eq!(d.len(), 6000);
    assert!(d[..3000].iter().all(|l| l.mark == '-'));
    assert_eq!(apply(&a, &d), Ok(b));
}

#[test]
fn apply_refuses_a_diff_of_another_file() {
    let d = line_diff(&lines("a\nb"), &lines("a\nc"));
    assert!(apply(&lines("z\nb"), &d).is_err());
    assert!(apply(&lines("a\nb\nc"), &d).is_err());
}

#[test]
fn past_the_deadline_the_middle_is_replaced_whole_between_the_common_ends() {
    let a = lines("head\nx\nsame\ny\ntail");
    let b = lines("head\nsame\nz\ntail");
    assert_eq!(marks(&line_diff(&a, &b)), " - -+ ");
    let past = Instant::now();
    std::thread::sleep(Duration::from_millis(1));
    let d = line_diff_until(&a, &b, past);
    assert_eq!(marks(&d), " ---++ ");
    assert_eq!(apply(&a, &d), Ok(b));
}

/// Thousands of lines and nothing in common: minimal takes seconds unbounded (a debug
/// build), the deadline keeps it near [`DEADLINE`]; the bound here only catches a diff
/// that ignores the deadline.
#[test]
fn a_pathological_pair_stops_at_the_deadline() {
    let a: Vec<String> = (0..5000).map(|i| format!("l{i}")).collect();
    let b: Vec<String> = (0..5000)
        .map(|i| {
            if i % 5 == 0 {
                String::new()
            } else {
                format!("m{i}")
            }
        })
        .collect();
    let t = Instant::now();
    let d = line_diff(&a, &b);
    assert!(
        t.elapsed() < DEADLINE + Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(apply(&a, &d), Ok(b));
}

#[test]
fn long_lines_are_compared_whole() {
    let long = "x".repeat(100_000);
    let a = vec![long.clone(), format!("{long}a"), long.clone()];
    let b = vec![long.clone(), format!("{long}b"), long];
    let d = line_diff(&a, &b);
    assert_eq!(marks(&d), " -+ ");
    assert_eq!(apply(&a, &d), Ok(b));
}

#[test]
fn rows_head_counts_the_edits_and_number_both_sides() {
    let rows = text_rows(
        Some("builder"),
        Some("final"),
        &lines("a\nb\nc"),
        &lines("a\nc\nd"),
    );
    let text: Vec<(Tone, &str)> = rows.iter().map(|r| (r.tone, r.text.as_str())).collect();
    assert_eq!(
        text,
        [
            (Tone::Head, "--- builder  +++ final  (1 removed, 1 added)"),
            (Tone::Same, "    1     1   a"),
            (Tone::Del, "    2       - b"),
            (Tone::Same, "    3     2   c"),
            (Tone::Add, "          3 + d"),
        ]
    );
    let rows = text_rows(None, Some("final"), &[], &lines("new"));
    assert_eq!(
        rows[0].text,
        "--- (absent)  +++ final  (0 removed, 1 added)"
    );
    assert_eq!(rows[1], Row::new(Tone::Add, "          1 + new"));
}

proptest! {
    #[test]
    fn applying_the_diff_to_the_left_gives_the_right(
        a in prop::collection::vec("[abc]{0,2}", 0..40),
        b in prop::collection::vec("[abc]{0,2}", 0..40),
    ) {
        let d = line_diff(&a, &b);
        prop_assert_eq!(apply(&a, &d), Ok(b.clone()));
        // Swapped marks undo it.
        let back: Vec<DiffLine> = d.iter().map(|l| DiffLine {
            mark: match l.mark { '+' => '-', '-' => '+', c => c },
            ..l.clone()
        }).collect();
        prop_assert_eq!(apply(&b, &back), Ok(a.clone()));
        // Minimal: as many edits as the longest common subsequence leaves.
        let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i][j] = if a[i] == b[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let edits = d.iter().filter(|l| l.mark != ' ').count();
        prop_assert_eq!(edits, a.len() + b.len() - 2 * lcs[0][0]);
    }
}
