//! What a 1M-file image costs to open from its layers, the way `open_image_fs` does it: four
//! layers of 250k files each (generated as they are read, never held) parsed one after the
//! other and set aside on disk, then composed bottom first one at a time (each layer's
//! whiteouts kept, as an open that composes keeps them), and the index written to the disk
//! cache. Printed once: the composed index's heap bytes and the process's peak resident set
//! (`VmHWM`), which covers every copy at once. Then the time of the whole open.
//! Run: `cargo bench --bench layers_memory`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stagescope_fs::FsIndex;
use stagescope_fs::cache::DiskCache;
use stagescope_fs::index::layer::{Composer, LayerIndex};
use stagescope_fs::layer_cache::LayerCache;
use stagescope_fs::layers::Layer;

#[path = "common/million.rs"]
mod million;

use million::{DIRS, FILES, MillionFiles, peak_rss};

const LAYERS: u32 = 4;

fn mb(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

/// Parses the layers, composes them, and keeps the index on disk; returns the index and
/// what each layer did.
fn open(dir: &std::path::Path) -> (FsIndex, Vec<Layer>) {
    let cache = LayerCache::new(Some(dir.join("layers")), 4 << 30);
    let per = DIRS * FILES / LAYERS;
    let spooled: Vec<_> = (0..LAYERS)
        .map(|i| {
            let l = LayerIndex::from_tar(MillionFiles::range(i * per, (i + 1) * per), |_| {})
                .expect("layer");
            cache.spool(&l).expect("spool")
        })
        .collect();
    let mut c = Composer::default();
    let mut summaries = Vec::new();
    for s in &spooled {
        let l = cache.unspool(s).expect("unspool");
        c.push(&l);
        summaries.push(l.light_summary());
    }
    let ix = c.finish();
    DiskCache::new(dir.join("index"), 4 << 30)
        .put(
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            &ix,
        )
        .expect("kept");
    (ix, summaries)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = peak_rss().unwrap_or(0);
    let (ix, summaries) = open(dir.path());
    let peak = peak_rss().unwrap_or(0);
    let entries = ix.len() - 1;
    println!(
        "1M files in {LAYERS} layers: {entries} entries; index {} ({} bytes an entry), peak RSS {} (+{} over the start)",
        mb(ix.heap_bytes() as u64),
        ix.heap_bytes() / entries,
        mb(peak),
        mb(peak.saturating_sub(before)),
    );
    drop((ix, summaries));
    let mut g = c.benchmark_group("fs");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(DIRS * FILES)));
    g.bench_function("open_1m_files_from_4_layers", |bn| {
        bn.iter(|| open(dir.path()).0.len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
