//! A run along wall-clock time: when each instruction started and ended, per stage, from
//! timed events. What the TUI's timeline and the text bars of the reports draw.

use super::record::Timed;
use stagescope_plan::{BuildEvent, BuildPlan};

/// One instruction's span, in milliseconds after the run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub stage: usize,
    pub instruction: usize,
    pub start_ms: u64,
    /// None while it runs.
    pub end_ms: Option<u64>,
    pub cached: bool,
}

/// A stage's span and its instructions' bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub stage: usize,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub bars: Vec<Bar>,
    pub critical: bool,
}

/// The lanes of the stages that did something, in plan order, and the run's length so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub lanes: Vec<Lane>,
    /// When the first instruction started: what comes before (connecting, checks, the
    /// context) is not drawn.
    pub start_ms: u64,
    pub span_ms: u64,
}

impl Timeline {
    /// From events in arrival order; `now_ms` ends what still runs (the span of a live run).
    pub fn of(plan: &BuildPlan, events: &[Timed], now_ms: u64) -> Timeline {
        let mut bars: Vec<Bar> = Vec::new();
        let mut span = 0;
        for t in events {
            span = span.max(t.at_ms);
            match &t.event {
                BuildEvent::InstructionStarted { stage, instruction }
                    if !bars
                        .iter()
                        .any(|b| b.stage == *stage && b.instruction == *instruction) =>
                {
                    bars.push(Bar {
                        stage: *stage,
                        instruction: *instruction,
                        start_ms: t.at_ms,
                        end_ms: None,
                        cached: false,
                    });
                }
                BuildEvent::InstructionFinished {
                    stage,
                    instruction,
                    cached,
                    duration_ms,
                } => {
                    let found = bars
                        .iter_mut()
                        .find(|b| b.stage == *stage && b.instruction == *instruction);
                    match found {
                        Some(b) => {
                            b.end_ms = Some(t.at_ms.max(b.start_ms));
                            b.cached = *cached;
                        }
                        // Finished without a start (a cached step): it ends here and lasted
                        // what the engine said.
                        None => bars.push(Bar {
                            stage: *stage,
                            instruction: *instruction,
                            start_ms: t.at_ms.saturating_sub(*duration_ms),
                            end_ms: Some(t.at_ms),
                            cached: *cached,
                        }),
                    }
                }
                _ => {}
            }
        }
        span = span.max(now_ms);
        // What each stage's instructions took, summed: the measure the build summary's
        // critical path uses too, so both name the same stages.
        let durations: Vec<u64> = (0..plan.stages.len())
            .map(|s| {
                bars.iter()
                    .filter(|b| b.stage == s)
                    .map(|b| b.end_ms.unwrap_or(span).saturating_sub(b.start_ms))
                    .sum()
            })
            .collect();
        let critical = plan.critical_path(&durations);
        let lanes = plan
            .stages
            .iter()
            .filter_map(|st| {
                let mut mine: Vec<Bar> = bars
                    .iter()
                    .filter(|b| b.stage == st.index)
                    .cloned()
                    .collect();
                if mine.is_empty() {
                    return None;
                }
                mine.sort_by_key(|b| (b.instruction, b.start_ms));
                let (start_ms, end) = bounds(mine.iter(), span);
                let running = mine.iter().any(|b| b.end_ms.is_none());
                Some(Lane {
                    stage: st.index,
                    start_ms,
                    end_ms: (!running).then_some(end),
                    bars: mine,
                    critical: critical.contains(&st.index),
                })
            })
            .collect();
        Timeline {
            start_ms: bars.iter().map(|b| b.start_ms).min().unwrap_or(0).min(span),
            lanes,
            span_ms: span,
        }
    }

    /// From the first instruction's start to the end.
    pub fn length_ms(&self) -> u64 {
        self.span_ms - self.start_ms
    }
}

fn bounds<'a>(bars: impl Iterator<Item = &'a Bar>, now: u64) -> (u64, u64) {
    bars.fold((u64::MAX, 0), |(a, b), bar| {
        (a.min(bar.start_ms), b.max(bar.end_ms.unwrap_or(now)))
    })
}

/// `bars` drawn in `width` columns showing `left_ms..left_ms + window_ms`: `█` ran, `░`
/// cached, ` ` idle. A bar inside the window gets at least one cell.
pub fn bar_text(bars: &[Bar], now_ms: u64, left_ms: u64, window_ms: u64, width: usize) -> String {
    let mut cells = vec![' '; width];
    if width == 0 {
        return String::new();
    }
    let window = window_ms.max(1);
    let col = |ms: u64| -> usize {
        let rel = ms.saturating_sub(left_ms);
        ((u128::from(rel) * width as u128) / u128::from(window)) as usize
    };
    for b in bars {
        let end_ms = b.end_ms.unwrap_or(now_ms);
        if end_ms < left_ms || b.start_ms > left_ms + window {
            continue;
        }
        let start = col(b.start_ms).min(width - 1);
        let end = col(end_ms).clamp(start + 1, width);
        let ch = if b.cached { '░' } else { '█' };
        for c in &mut cells[start..end] {
            // A ran cell wins over a cached one that shares it.
            if *c != '█' {
                *c = ch;
            }
        }
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::plan::fixtures::three_stages;

    fn at(at_ms: u64, event: BuildEvent) -> Timed {
        Timed { at_ms, event }
    }

    fn started(stage: usize, instruction: usize) -> BuildEvent {
        BuildEvent::InstructionStarted { stage, instruction }
    }

    fn finished(stage: usize, instruction: usize, cached: bool, ms: u64) -> BuildEvent {
        BuildEvent::InstructionFinished {
            stage,
            instruction,
            cached,
            duration_ms: ms,
        }
    }

    #[test]
    fn parallel_stages_overlap_and_the_slow_one_is_critical() {
        let plan = three_stages();
        let events = vec![
            at(0, started(0, 1)),
            at(0, started(1, 1)),
            at(100, finished(0, 1, false, 100)),
            at(900, finished(1, 1, false, 900)),
            at(950, finished(2, 1, true, 0)),
        ];
        let tl = Timeline::of(&plan, &events, 0);
        assert_eq!(tl.span_ms, 950);
        assert_eq!(tl.lanes.len(), 3);
        assert_eq!((tl.lanes[0].start_ms, tl.lanes[0].end_ms), (0, Some(100)));
        assert_eq!((tl.lanes[1].start_ms, tl.lanes[1].end_ms), (0, Some(900)));
        assert!(tl.lanes[1].critical);
        assert!(tl.lanes[2].bars[0].cached);
        let text = bar_text(&tl.lanes[1].bars, tl.span_ms, 0, tl.span_ms, 19);
        assert_eq!(text.chars().filter(|c| *c == '█').count(), 18);
    }

    #[test]
    fn a_running_instruction_reaches_now() {
        let plan = three_stages();
        let tl = Timeline::of(&plan, &[at(10, started(0, 1))], 500);
        assert_eq!(tl.span_ms, 500);
        assert_eq!((tl.start_ms, tl.length_ms()), (10, 490));
        assert_eq!(tl.lanes[0].end_ms, None);
        assert_eq!(bar_text(&tl.lanes[0].bars, 500, 0, 500, 10), "██████████");
        // Zoomed on the second half: the bar fills it; off to the right of it, nothing.
        assert_eq!(bar_text(&tl.lanes[0].bars, 500, 250, 250, 4), "████");
        let done = [Bar {
            stage: 0,
            instruction: 1,
            start_ms: 0,
            end_ms: Some(10),
            cached: true,
        }];
        assert_eq!(bar_text(&done, 500, 250, 250, 4), "    ");
    }
}
