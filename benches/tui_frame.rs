//! One frame of a 50-stage build holding 1M log lines (goal: at most 2 ms), and the cost of
//! appending 100k log lines to the model.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use stagescope_tui::ratatui::Terminal;
use stagescope_tui::ratatui::backend::TestBackend;
use std::hint::black_box;

use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::{BuildEvent, BuildPlan, LogStream};
use stagescope_tui::model::{Focus, Model};
use stagescope_tui::update::{Msg, update};
use stagescope_tui::views;

const STAGES: usize = 50;
/// FROM and three RUNs: 200 instructions, 5,000 kept lines each, 1M in all.
const RUNS: usize = 3;

fn plan() -> BuildPlan {
    let mut text = String::new();
    for s in 0..STAGES {
        text.push_str(&format!("FROM busybox AS s{s}\n"));
        if s > 0 {
            text.push_str(&format!("COPY --from=s{} /a /a\n", s - 1));
        }
        for r in 0..RUNS {
            text.push_str(&format!("RUN echo stage {s} run {r}\n"));
        }
    }
    let df = Dockerfile::parse(text.as_bytes()).expect("parse");
    let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    BuildPlan::from_model(&df, &g)
}

fn log(stage: usize, instruction: usize, n: usize) -> Msg {
    Msg::Build(BuildEvent::Log {
        stage,
        instruction,
        stream: LogStream::Stdout,
        text: format!("\x1b[32mline {n}\x1b[0m of a rather ordinary build log, compiling things\n"),
    })
}

fn big_model() -> Model {
    let plan = plan();
    let mut m = Model::new(plan, false);
    let mut n = 0;
    for s in 0..STAGES {
        let count = m.state.stages[s].instructions.len();
        for k in 0..count {
            update(
                &mut m,
                Msg::Build(BuildEvent::InstructionStarted {
                    stage: s,
                    instruction: k,
                }),
            );
            for _ in 0..5_000 {
                update(&mut m, log(s, k, n));
                n += 1;
            }
            update(
                &mut m,
                Msg::Build(BuildEvent::InstructionFinished {
                    stage: s,
                    instruction: k,
                    cached: k == 0,
                    duration_ms: (s * 7 + k * 13) as u64,
                }),
            );
        }
    }
    m
}

fn frame(c: &mut Criterion) {
    let mut m = big_model();
    let total: usize = m
        .state
        .stages
        .iter()
        .flat_map(|s| &s.instructions)
        .map(|i| i.log.len())
        .sum();
    assert!(total >= 1_000_000, "{total} lines");
    m.size = (120, 40);
    m.stage = 25;
    m.focus = Focus::Log;
    m.log.whole_stage = true;
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    c.bench_function("frame 50 stages 1M log lines 120x40", |b| {
        b.iter(|| {
            t.draw(|f| views::draw(f, black_box(&m))).expect("draw");
        })
    });
    m.size = (80, 24);
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    c.bench_function("frame 50 stages 1M log lines 80x24", |b| {
        b.iter(|| {
            t.draw(|f| views::draw(f, black_box(&m))).expect("draw");
        })
    });
}

fn append(c: &mut Criterion) {
    let msgs: Vec<Msg> = (0..100_000).map(|n| log(3, 1, n)).collect();
    c.bench_function("append 100k log lines", |b| {
        b.iter_batched(
            || (Model::new(plan(), false), msgs.clone()),
            |(mut m, msgs)| {
                for msg in msgs {
                    update(&mut m, msg);
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = frame, append
}
criterion_main!(benches);
