use super::*;

fn rec(r: &str, created: i64) -> BuildHistoryRecord {
    BuildHistoryRecord {
        r#ref: r.into(),
        frontend: "dockerfile.v0".into(),
        created_at: Some(Timestamp {
            seconds: created,
            nanos: 0,
        }),
        ..BuildHistoryRecord::default()
    }
}

#[test]
fn later_events_replace_earlier_and_deletions_remove() {
    let started = BuildHistoryEventType::Started as i32;
    let complete = BuildHistoryEventType::Complete as i32;
    let deleted = BuildHistoryEventType::Deleted as i32;
    let mut done = rec("a", 10);
    done.completed_at = Some(Timestamp {
        seconds: 12,
        nanos: 500_000_000,
    });
    let out = settle([
        (started, rec("a", 10)),
        (complete, rec("b", 20)),
        (complete, done),
        (complete, rec("c", 5)),
        (deleted, rec("c", 5)),
    ]);
    let refs: Vec<&str> = out.iter().map(|r| r.r#ref.as_str()).collect();
    assert_eq!(refs, ["b", "a"]);
    assert_eq!(out[1].duration_ms(), Some(2500));
    assert!(!out[1].active());
    assert!(out[0].active());
}

#[test]
fn a_ref_is_found_whole_by_prefix_or_as_buildx_prints_it() {
    let all = settle([(1, rec("abc123", 1)), (1, rec("abd456", 2))]);
    assert_eq!(
        pick_record(&all, "abc").map(|r| r.r#ref.as_str()),
        Ok("abc123")
    );
    assert_eq!(
        pick_record(&all, "default/default/abd456").map(|r| r.r#ref.as_str()),
        Ok("abd456")
    );
    assert!(pick_record(&all, "ab").is_err_and(|e| e.contains("ambiguous")));
    assert!(pick_record(&all, "zz").is_err_and(|e| e.contains("no build record")));
}
