//! `history` and `compare` as text, JSON and Markdown, with the timeline as text bars.

use serde_json::{Value, json};

use super::progress::format_duration;
use super::sanitize;
use stagescope_core::history::RunRecord;
use stagescope_core::history::compare::{Comparison, Outside, RunSummary, Side};
use stagescope_core::history::timeline::{Timeline, bar_text};
use stagescope_plan::text::one_line;

/// Columns of the text bars.
const BARS: usize = 40;

/// "2026-12-02 15:20:01" (UTC) of a Unix time in milliseconds.
pub fn when(unix_ms: u64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    i64::try_from(unix_ms / 1000)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "?".into())
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".into(), |s| format!("{:.0}%", s * 100.0))
}

/// A run's wall time as a bar scaled to `max_ms`: the cached share light, the rest full.
fn wall_bar(wall_ms: u64, cached: Option<f64>, max_ms: u64, width: usize) -> String {
    let len = if max_ms == 0 {
        0
    } else {
        ((u128::from(wall_ms) * width as u128).div_ceil(u128::from(max_ms))) as usize
    }
    .min(width);
    let light = (cached.unwrap_or(0.0) * len as f64).round() as usize;
    format!(
        "{}{}{}",
        "█".repeat(len - light.min(len)),
        "░".repeat(light.min(len)),
        " ".repeat(width - len)
    )
}

/// `history`: newest first.
pub fn history_text(context: &str, runs: &[RunRecord]) -> String {
    let mut out = format!("runs of {} (newest first)\n", sanitize::name(context));
    let max = runs.iter().map(|r| r.wall_ms).max().unwrap_or(0);
    out.push_str(&format!(
        "{:<12}  {:<19}  {:<12} {:<8} {:<11} {:>7} {:>6}  wall (█ ran, ░ cached)\n",
        "RUN", "WHEN (UTC)", "TARGET", "BUILDER", "RESULT", "WALL", "CACHED"
    ));
    for r in runs {
        let target = r
            .plan
            .stages
            .get(r.plan.target)
            .map_or_else(String::new, |s| s.display_name());
        out.push_str(&format!(
            "{:<12}  {:<19}  {:<12} {:<8} {:<11} {:>7} {:>6}  {}\n",
            sanitize::name(&r.id),
            when(r.started_unix_ms),
            one_line(&sanitize::name(&target), 12),
            r.builder.map_or_else(|| "-".into(), |b| b.to_string()),
            r.outcome.as_str(),
            format_duration(r.wall_ms),
            percent(r.cached_share()),
            wall_bar(r.wall_ms, r.cached_share(), max, 20).trim_end()
        ));
    }
    if let Some(newest) = runs.first() {
        out.push_str(&format!(
            "\ntimeline of {} (█ ran, ░ cached, * critical path)\n",
            sanitize::name(&newest.id)
        ));
        out.push_str(&timeline_text(newest));
    }
    out
}

pub fn history_json(context: &str, runs: &[RunRecord]) -> Value {
    json!({
        "context": context,
        "runs": runs.iter().map(|r| json!({
            "id": r.id,
            "started_unix_ms": r.started_unix_ms,
            "dockerfile": r.dockerfile,
            "target": r.plan.stages.get(r.plan.target).map(|s| s.display_name()),
            "builder": r.builder,
            "engine": r.engine,
            "outcome": r.outcome,
            "wall_ms": r.wall_ms,
            "cached_share": r.cached_share(),
            "misses": r.events.iter().filter(|t| matches!(t.event, stagescope_plan::BuildEvent::CacheMiss { .. })).count(),
        })).collect::<Vec<_>>(),
    })
}

fn side(s: Option<Side>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.cached => "cached".into(),
        Some(s) => format_duration(s.duration_ms),
    }
}

fn delta(d: Option<i64>) -> String {
    match d {
        None => String::new(),
        // Below what the durations can tell apart.
        Some(d) if d.unsigned_abs() < 50 => "±0".into(),
        Some(d) if d > 0 => format!("+{}", format_duration(d.unsigned_abs())),
        Some(d) => format!("-{}", format_duration(d.unsigned_abs())),
    }
}

fn summary_line(label: &str, s: &RunSummary) -> String {
    format!(
        "{label} {}  {}  {}  {}  {} cached  critical path {} ({})",
        sanitize::name(&s.id),
        when(s.started_unix_ms),
        s.outcome,
        format_duration(s.wall_ms),
        percent(s.cached_share),
        sanitize::name(&s.critical_path.join(" -> ")),
        format_duration(s.critical_ms)
    )
}

/// A run's timeline as text bars, one lane a stage, over the run's whole span.
pub(crate) fn timeline_text(r: &RunRecord) -> String {
    let tl = Timeline::of(&r.plan, &r.events, 0);
    let mut out = String::new();
    for lane in &tl.lanes {
        let name = format!(
            "{}{}",
            if lane.critical { "*" } else { " " },
            r.stage_name(lane.stage)
        );
        let took = lane
            .end_ms
            .unwrap_or(tl.span_ms)
            .saturating_sub(lane.start_ms);
        out.push_str(&format!(
            "{:<16} |{}| {}\n",
            one_line(&sanitize::name(&name), 16),
            bar_text(&lane.bars, tl.span_ms, tl.start_ms, tl.length_ms(), BARS),
            format_duration(took)
        ));
    }
    out
}

/// `compare` as text.
pub fn compare_text(c: &Comparison, a: &RunRecord, b: &RunRecord) -> String {
    let mut out = String::new();
    out.push_str(&summary_line("A", &c.a));
    out.push('\n');
    out.push_str(&summary_line("B", &c.b));
    out.push_str("\n\n");
    out.push_str(&format!(
        "{:<12} {:>5}  {:<40} {:>8} {:>8} {:>8}\n",
        "STAGE", "LINE", "INSTRUCTION", "A", "B", "DELTA"
    ));
    for r in &c.rows {
        out.push_str(&format!(
            "{:<12} {:>5}  {:<40} {:>8} {:>8} {:>8}\n",
            one_line(&sanitize::name(&r.stage), 12),
            r.line,
            one_line(&sanitize::name(&r.text), 40),
            side(r.a),
            side(r.b),
            delta(r.delta_ms)
        ));
        if let Some(m) = &r.miss {
            out.push_str(&format!("{:>20}ran: {}\n", "", sanitize::name(&m.line())));
        }
    }
    out.push_str(&format!(
        "\ntotal: {} -> {} ({})\n",
        format_duration(c.a.wall_ms),
        format_duration(c.b.wall_ms),
        delta(Some(
            i64::try_from(c.b.wall_ms).unwrap_or(i64::MAX)
                - i64::try_from(c.a.wall_ms).unwrap_or(i64::MAX)
        ))
    ));
    out.push_str(&outside_text(&c.a.outside, &c.b.outside));
    out.push_str("\ntimeline A (█ ran, ░ cached, * critical path)\n");
    out.push_str(&timeline_text(a));
    out.push_str("timeline B\n");
    out.push_str(&timeline_text(b));
    out
}

/// The time outside instructions, A against B: where a run whose every instruction was
/// cached lost its time.
fn outside_text(a: &Outside, b: &Outside) -> String {
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let row = |what: &str, x: u64, y: u64| {
        format!(
            "  {what:<34} {:>8} {:>8} {:>8}\n",
            format_duration(x),
            format_duration(y),
            delta(Some(ms(y) - ms(x)))
        )
    };
    let mut out = String::from("\noutside instructions:\n");
    out.push_str(&row(
        "connecting, checks, context walk",
        a.before_build_ms,
        b.before_build_ms,
    ));
    out.push_str(&format!(
        "  {:<34} {:>8} {:>8} {:>8}   ({} -> {} sent)\n",
        "loading the context",
        format_duration(a.context_ms),
        format_duration(b.context_ms),
        delta(Some(ms(b.context_ms) - ms(a.context_ms))),
        stagescope_fs::format::human_bytes(a.context_bytes),
        stagescope_fs::format::human_bytes(b.context_bytes)
    ));
    out.push_str(&row(
        "engine steps (metadata, export)",
        a.engine_steps_ms,
        b.engine_steps_ms,
    ));
    out.push_str(&row(
        "after the build (images, record)",
        a.after_build_ms,
        b.after_build_ms,
    ));
    out
}

/// Markdown for a pull-request comment: a table, the reasons, the timelines in code blocks.
pub fn compare_markdown(c: &Comparison, a: &RunRecord, b: &RunRecord) -> String {
    let cell = |s: &str| sanitize::name(s).replace('|', "\\|").replace('`', "'");
    let mut out = String::from("### Build comparison\n\n");
    out.push_str("| run | when (UTC) | result | wall | cached | critical path |\n|---|---|---|---|---|---|\n");
    for (label, s) in [("A", &c.a), ("B", &c.b)] {
        out.push_str(&format!(
            "| {label} `{}` | {} | {} | {} | {} | {} ({}) |\n",
            cell(&s.id),
            when(s.started_unix_ms),
            s.outcome,
            format_duration(s.wall_ms),
            percent(s.cached_share),
            cell(&s.critical_path.join(" → ")),
            format_duration(s.critical_ms)
        ));
    }
    out.push_str("\n| stage | line | instruction | A | B | Δ | why B ran |\n|---|---:|---|---:|---:|---:|---|\n");
    for r in &c.rows {
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} | {} | {} |\n",
            cell(&r.stage),
            r.line,
            cell(&one_line(&r.text, 60)),
            side(r.a),
            side(r.b),
            delta(r.delta_ms),
            r.miss
                .as_ref()
                .map_or_else(String::new, |m| cell(&m.line()))
        ));
    }
    out.push_str("\n<details><summary>Timelines (█ ran, ░ cached, * critical path)</summary>\n\n```text\nA\n");
    out.push_str(&timeline_text(a));
    out.push_str("B\n");
    out.push_str(&timeline_text(b));
    out.push_str("```\n\n</details>\n");
    out
}

pub fn compare_json(c: &Comparison) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_bars_scale_to_the_slowest_run() {
        assert_eq!(wall_bar(10, Some(0.5), 10, 4), "██░░");
        assert_eq!(wall_bar(5, None, 10, 4), "██  ");
        assert_eq!(wall_bar(0, None, 0, 3), "   ");
    }

    /// Two runs of a two-stage build: the second after `src/a` changed.
    fn two_runs() -> (RunRecord, RunRecord) {
        use stagescope_core::history::Timed;
        use stagescope_core::history::fixtures::{finished, record};
        use stagescope_plan::{BuildEvent, BuilderKind, Miss, MissReason};
        const DF: &str = "FROM busybox AS builder\nCOPY src /src\nRUN make\nFROM busybox\nCOPY --from=builder /src /app\n";
        let mut a = finished(record(DF, &[], &[("src/a", "1")]), true);
        a.id = "aaaa1111".into();
        a.started_unix_ms = 1_764_688_800_000;
        a.wall_ms = 900;
        a.builder = Some(BuilderKind::Buildkit);
        let mut b = record(DF, &[], &[("src/a", "2")]);
        b.id = "bbbb2222".into();
        b.started_unix_ms = 1_764_688_900_000;
        b.wall_ms = 4_200;
        b.builder = Some(BuilderKind::Buildkit);
        let ran = |s, k, from, to| {
            vec![
                Timed {
                    at_ms: from,
                    event: BuildEvent::InstructionStarted {
                        stage: s,
                        instruction: k,
                    },
                },
                Timed {
                    at_ms: to,
                    event: BuildEvent::InstructionFinished {
                        stage: s,
                        instruction: k,
                        cached: false,
                        duration_ms: to - from,
                    },
                },
            ]
        };
        let miss = |s, k, reason, detail: &str| Timed {
            at_ms: 0,
            event: BuildEvent::CacheMiss {
                stage: s,
                instruction: k,
                miss: Miss {
                    reason,
                    detail: detail.into(),
                    paths: vec![],
                    arg: None,
                },
            },
        };
        b.events.push(Timed {
            at_ms: 60,
            event: BuildEvent::BuildStarted {
                builder: BuilderKind::Buildkit,
                build_id: "bbbb2222".into(),
            },
        });
        b.events.push(Timed {
            at_ms: 100,
            event: BuildEvent::ContextSent {
                bytes: 3 << 20,
                files: Some(1),
                duration_ms: 35,
            },
        });
        b.events.extend(ran(0, 0, 100, 110));
        b.events.push(miss(
            0,
            1,
            MissReason::FilesChanged,
            "1 file changed: src/a (modified)",
        ));
        b.events.extend(ran(0, 1, 110, 300));
        b.events.push(miss(
            0,
            2,
            MissReason::ParentMissed,
            "line 2 (builder) ran: `COPY src /src`",
        ));
        b.events.extend(ran(0, 2, 300, 3_900));
        b.events.extend(ran(1, 0, 100, 120));
        b.events.push(miss(
            1,
            1,
            MissReason::ParentMissed,
            "line 3 (builder) ran: `RUN make`",
        ));
        b.events.extend(ran(1, 1, 3_900, 4_100));
        (a, b)
    }

    #[test]
    fn compare_as_text_markdown_and_json() {
        let (a, b) = two_runs();
        let c = stagescope_core::history::compare::compare(&a, &b);
        insta::assert_snapshot!("compare_text", compare_text(&c, &a, &b));
        insta::assert_snapshot!("compare_markdown", compare_markdown(&c, &a, &b));
        let j = compare_json(&c);
        assert_eq!(j["rows"][1]["miss"]["reason"], "parent-missed");
        assert_eq!(j["b"]["critical_path"], serde_json::json!(["builder", "1"]));
    }

    #[test]
    fn history_lists_runs_newest_first_with_the_newest_timeline() {
        let (a, b) = two_runs();
        insta::assert_snapshot!("history_text", history_text("/ctx", &[b, a]));
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(when(0), "1970-01-01 00:00:00");
        assert_eq!(when(1_764_688_801_000), "2025-12-02 15:20:01");
    }
}
