//! What recording a run costs a build, piece by piece (the rest is a few engine requests):
//! the digests of the files a `COPY . ` reads in a 20k-file context, cold and warm (sizes
//! and mtimes unchanged, so digests are reused); the recorder taking a run's events with
//! three earlier runs to explain misses against; writing the record and reading the last
//! three back. `cargo bench --bench record`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use stagescope_context::BuildContext;
use stagescope_core::history::facts::step_facts;
use stagescope_core::history::inputs::digest_inputs;
use stagescope_core::history::record::{FORMAT, Outcome, RunRecord};
use stagescope_core::history::store::Store;
use stagescope_core::history::{Recorder, Timed};
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::{BuildEvent, BuildPlan, LogStream};

const FILES: usize = 20_000;
const DOCKERFILE: &str = "FROM busybox AS build\nWORKDIR /app\nCOPY . .\nRUN make\nRUN make test\n\
FROM busybox\nCOPY --from=build /app/out /out\nCMD [\"/out\"]\n";

fn context(root: &Path) -> BuildContext {
    std::fs::write(root.join("Dockerfile"), DOCKERFILE).expect("write");
    for i in 0..FILES {
        let d = root.join(format!("src/d{}", i % 100));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join(format!("f{i}.txt")), format!("file {i}\n")).expect("write");
    }
    BuildContext::new(root, None).expect("context")
}

fn record(id: &str, ctx: &BuildContext) -> RunRecord {
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    let opts = GraphOptions::default();
    let graph = StageGraph::build(&df, &opts).expect("graph");
    let steps = step_facts(&df, &opts);
    let (inputs, inputs_truncated) = digest_inputs(ctx, &steps, None).expect("digest");
    RunRecord {
        format: FORMAT,
        id: id.into(),
        started_unix_ms: 0,
        context: ctx.dir().to_path_buf(),
        dockerfile: ctx.dockerfile_path().to_path_buf(),
        dockerfile_text: DOCKERFILE.into(),
        target: None,
        build_args: BTreeMap::new(),
        platform: None,
        no_cache: false,
        builder: None,
        engine: String::new(),
        plan: BuildPlan::from_model(&df, &graph),
        steps,
        base_ids: vec![Some("sha256:a".into()), Some("sha256:a".into())],
        inputs,
        inputs_truncated,
        events: Vec::new(),
        log_bytes_dropped: 0,
        outcome: Outcome::Built,
        wall_ms: 0,
    }
}

/// A run's events: every instruction starts, logs 200 lines, and finishes (ran).
fn events(plan: &BuildPlan) -> Vec<BuildEvent> {
    let mut out = Vec::new();
    for (s, st) in plan.stages.iter().enumerate() {
        for k in 0..st.instructions.len() {
            out.push(BuildEvent::InstructionStarted {
                stage: s,
                instruction: k,
            });
            for n in 0..200 {
                out.push(BuildEvent::Log {
                    stage: s,
                    instruction: k,
                    stream: LogStream::Stdout,
                    text: format!("compiling unit {n} of the build\n"),
                });
            }
            out.push(BuildEvent::InstructionFinished {
                stage: s,
                instruction: k,
                cached: false,
                duration_ms: 100,
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let ctx = context(dir.path());
    let base = record("base", &ctx);
    let steps = base.steps.clone();

    c.bench_function("digests of 20k context files, cold", |b| {
        b.iter(|| black_box(digest_inputs(&ctx, &steps, None).expect("digest")))
    });
    c.bench_function("digests of 20k context files, warm (reused)", |b| {
        b.iter(|| black_box(digest_inputs(&ctx, &steps, Some(&base.inputs)).expect("digest")))
    });

    let evs = events(&base.plan);
    let mut earlier = base.clone();
    earlier.events = evs
        .iter()
        .map(|e| Timed {
            at_ms: 0,
            event: e.clone(),
        })
        .collect();
    let previous = vec![earlier.clone(), earlier.clone(), earlier.clone()];
    c.bench_function(
        "recorder: 1.6k events, misses explained against 3 runs",
        |b| {
            b.iter_batched(
                || Recorder::new(base.clone(), previous.clone()),
                |mut r| {
                    for e in &evs {
                        black_box(r.on_event(e));
                    }
                    black_box(r.finish())
                },
                BatchSize::SmallInput,
            )
        },
    );

    let state = tempfile::tempdir().expect("tmp");
    let store = Store::new(state.path().to_path_buf());
    let mut n = 0u64;
    c.bench_function("write a record, read the last 3 back", |b| {
        b.iter(|| {
            n += 1;
            let mut r = earlier.clone();
            r.id = format!("r{n}");
            r.started_unix_ms = n;
            store.save(&r).expect("save");
            black_box(store.previous(&r.context, &r.dockerfile, 3))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
