//! What a 1M-file image costs to index: a tar of 1M files (1k directories of 1k, small
//! sizes, ~1 GB of headers and content) is generated as it is read, never held, and
//! streamed into the index. Printed once: the index's heap bytes (its tables' capacities),
//! the builder's just before `finish`, and the process's peak resident set (`VmHWM`),
//! which covers every copy at once. Then the time to index it.
//! Run: `cargo bench --bench index_memory`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stagescope_fs::{FsIndex, IndexBuilder};

#[path = "common/million.rs"]
mod million;

use million::{DIRS, FILES, MillionFiles, peak_rss};

fn mb(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn bench(c: &mut Criterion) {
    let before = peak_rss().unwrap_or(0);
    let mut b = IndexBuilder::new();
    let mut tar = MillionFiles::range(0, DIRS * FILES);
    b.read_tar(&mut tar, |_| {}).expect("index");
    let building = b.heap_bytes() as u64;
    let ix = b.finish();
    let peak = peak_rss().unwrap_or(0);
    let entries = ix.len() - 1;
    println!(
        "1M files: {entries} entries, a {} tar; index {} ({} bytes an entry), builder {} before finish, peak RSS {} (+{} over the start)",
        mb(tar.served),
        mb(ix.heap_bytes() as u64),
        ix.heap_bytes() / entries,
        mb(building),
        mb(peak),
        mb(peak.saturating_sub(before)),
    );
    drop(ix);
    let mut g = c.benchmark_group("fs");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(DIRS * FILES)));
    g.bench_function("index_1m_files_streamed", |bn| {
        bn.iter(|| {
            FsIndex::from_tar(MillionFiles::range(0, DIRS * FILES))
                .expect("index")
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
