//! Diff of two 100k-entry indexes (goal: at most 50 ms), and the rule scan over one.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use stagescope_fs::diff::Diff;
use stagescope_fs::rules::RuleSet;
use stagescope_fs::{FsIndex, IndexBuilder, Kind, Meta};

/// ~100k entries: 100 top directories x 10 subdirectories x 99 files. `seed` changes the
/// content of every 7th file and drops every 50th, as a release differs from its builder.
fn tree(seed: u64) -> FsIndex {
    let mut b = IndexBuilder::new();
    for d in 0..100 {
        for s in 0..10 {
            for f in 0..99u64 {
                if seed > 0 && f % 50 == seed % 50 {
                    continue;
                }
                let path = format!("usr/lib/pkg{d:03}/sub{s}/file{f:03}.so");
                let hash = if seed > 0 && f % 7 == 0 { f + seed } else { f };
                b.add(
                    path.as_bytes(),
                    Kind::File,
                    Meta::new(1000 + f, 0o644),
                    None,
                    hash,
                )
                .expect("add");
            }
        }
    }
    b.finish()
}

fn bench(c: &mut Criterion) {
    let a = tree(0);
    let b = tree(3);
    assert!(a.len() > 100_000 && b.len() > 97_000);
    c.bench_function("diff 100k x 100k entries", |bench| {
        bench.iter(|| Diff::compute(black_box(&a), black_box(&b)))
    });
    let rules = RuleSet::builtin();
    c.bench_function("rules scan of 100k entries", |bench| {
        bench.iter(|| rules.scan(black_box(&b)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
