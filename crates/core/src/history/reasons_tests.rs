use std::collections::BTreeSet;

use super::*;
use crate::history::fixtures::{finished, record};
use crate::history::record::RunRecord;
use stagescope_plan::MissReason;

const DF: &str = "FROM busybox AS builder\nARG MODE=fast\nCOPY src /src\nRUN make $MODE\nRUN echo done\n\
FROM busybox\nCOPY --from=builder /src /app\nRUN ls /app\n";

fn why(cur: &RunRecord, ran: &[(usize, usize)], prev: &[RunRecord], s: usize, k: usize) -> Miss {
    let ran: BTreeSet<(usize, usize)> = ran.iter().copied().collect();
    let known: Vec<Known> = prev.iter().cloned().map(Known::from).collect();
    find(cur, &ran, &known, s, k)
}

#[test]
fn first_run_and_no_cache() {
    let cur = record(DF, &[], &[("src/a", "1")]);
    assert_eq!(why(&cur, &[], &[], 0, 2).reason, MissReason::FirstBuild);
    let prev = finished(record(DF, &[], &[("src/a", "1")]), true);
    let mut nc = cur.clone();
    nc.no_cache = true;
    assert_eq!(why(&nc, &[], &[prev], 0, 2).reason, MissReason::NoCache);
}

#[test]
fn a_changed_file_names_itself_and_the_next_instructions_name_the_copy() {
    let prev = finished(
        record(DF, &[], &[("src/a", "1"), ("src/b", "1"), ("other", "1")]),
        false,
    );
    let cur = record(DF, &[], &[("src/a", "2"), ("src/b", "1"), ("other", "9")]);
    let m = why(&cur, &[(0, 2)], std::slice::from_ref(&prev), 0, 2);
    assert_eq!(m.reason, MissReason::FilesChanged);
    assert_eq!(m.paths, vec!["src/a".to_string()]);
    assert!(m.detail.contains("src/a (modified)"), "{}", m.detail);
    let next = why(&cur, &[(0, 2), (0, 3)], std::slice::from_ref(&prev), 0, 3);
    assert_eq!(next.reason, MissReason::ParentMissed);
    assert!(
        next.detail.starts_with("line 3 (builder)"),
        "{}",
        next.detail
    );
    // The release stage's COPY --from names the builder's last instruction that ran.
    let rel = why(&cur, &[(0, 2), (0, 3), (0, 4), (1, 1)], &[prev], 1, 1);
    assert_eq!(rel.reason, MissReason::ParentMissed);
    assert!(rel.detail.contains("line 5 (builder)"), "{}", rel.detail);
}

#[test]
fn added_and_removed_files_count() {
    let prev = finished(record(DF, &[], &[("src/a", "1"), ("src/gone", "1")]), true);
    let cur = record(DF, &[], &[("src/a", "1"), ("src/new", "1")]);
    let m = why(&cur, &[(0, 2)], &[prev], 0, 2);
    assert_eq!(m.paths, vec!["src/gone".to_string(), "src/new".to_string()]);
    assert!(m.detail.starts_with("2 files changed"), "{}", m.detail);
}

#[test]
fn a_changed_build_arg_is_named_only_where_it_is_seen() {
    let prev = finished(record(DF, &[], &[("src/a", "1")]), true);
    let cur = record(DF, &[("MODE", "slow")], &[("src/a", "1")]);
    let m = why(&cur, &[(0, 3)], std::slice::from_ref(&prev), 0, 3);
    assert_eq!(m.reason, MissReason::ArgChanged);
    assert_eq!(m.arg.as_deref(), Some("MODE"));
    assert_eq!(m.detail, "MODE: \"fast\" → \"slow\"");
    // The COPY before the RUN does not see MODE: nothing recorded changed for it.
    assert_eq!(
        why(&cur, &[(0, 2)], &[prev], 0, 2).reason,
        MissReason::Unknown
    );
}

#[test]
fn an_edited_line_and_an_inserted_one() {
    let prev = finished(record(DF, &[], &[]), true);
    let edited = DF.replace("RUN echo done", "RUN echo finished");
    let m = why(
        &record(&edited, &[], &[]),
        &[],
        std::slice::from_ref(&prev),
        0,
        4,
    );
    assert_eq!(m.reason, MissReason::InstructionChanged);
    assert_eq!(m.detail, "line 5 was `RUN echo done`");
    // An instruction inserted above: the ones below it ran because of it, not changed.
    let inserted = DF.replace("RUN make $MODE", "RUN date\nRUN make $MODE");
    let cur = record(&inserted, &[], &[]);
    assert_eq!(
        why(&cur, &[(0, 3)], std::slice::from_ref(&prev), 0, 3).reason,
        MissReason::InstructionChanged
    );
    let below = why(&cur, &[(0, 3), (0, 4)], &[prev], 0, 4);
    assert_eq!(below.reason, MissReason::ParentMissed);
    assert!(below.detail.contains("RUN date"), "{}", below.detail);
}

#[test]
fn base_change_comes_before_args_and_files() {
    let prev = finished(record(DF, &[], &[("src/a", "1")]), true);
    let mut cur = record(DF, &[("MODE", "x")], &[("src/a", "2")]);
    cur.base_ids[0] = Some("sha256:bbbbbbbbbbbbbbbbbbbb".into());
    let m = why(&cur, &[], &[prev], 0, 2);
    assert_eq!(m.reason, MissReason::BaseChanged);
    assert_eq!(m.detail, "busybox is now bbbbbbbbbbbb (was aaa)");
}

#[test]
fn the_newest_run_that_finished_the_instruction_is_the_one_compared() {
    // The newest run failed before the RUN: the one before it, which built it, counts.
    let older = finished(record(DF, &[], &[]), true);
    let mut failed = record(DF, &[("MODE", "other")], &[]);
    failed.id = "failed".into();
    let cur = record(DF, &[], &[]);
    let m = why(&cur, &[], &[failed, older], 0, 3);
    assert_eq!(m.reason, MissReason::Unknown);
    assert!(m.detail.contains("run run"), "{}", m.detail);
    // No run got that far at all.
    let never = record(DF, &[], &[]);
    assert_eq!(
        why(&cur, &[], &[never], 0, 3).reason,
        MissReason::FirstBuild
    );
}

#[test]
fn unknown_says_when_the_builders_differ() {
    let mut prev = finished(record(DF, &[], &[]), true);
    prev.builder = Some(stagescope_plan::BuilderKind::Classic);
    let mut cur = record(DF, &[], &[]);
    cur.builder = Some(stagescope_plan::BuilderKind::Buildkit);
    let m = why(&cur, &[], &[prev], 0, 4);
    assert!(m.detail.contains("classic builder"), "{}", m.detail);
}

#[test]
fn a_cached_copy_whose_files_changed_still_explains_what_follows() {
    // The COPY's new content matched an older cache entry, so it did not run; the RUN
    // after it did, because its input is not the earlier run's.
    let prev = finished(record(DF, &[], &[("src/a", "1")]), true);
    let cur = record(DF, &[], &[("src/a", "2")]);
    let m = why(&cur, &[(0, 3)], &[prev], 0, 3);
    assert_eq!(m.reason, MissReason::ParentMissed);
    assert!(
        m.detail
            .starts_with("line 3 (builder) came from an older cache entry: 1 file changed"),
        "{}",
        m.detail
    );
}
