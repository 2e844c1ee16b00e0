//! The filesystem pane: one frame of a 100k-entry image with every directory expanded
//! (goal: under 2 ms), and reopening that index from the disk cache (goal: under 0.2 s).

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

use stagescope::fs::cache::DiskCache;
use stagescope::fs::tree::TreeView;
use stagescope::fs::{FsIndex, IndexBuilder, Kind};
use stagescope::tui::fsview::{FilesPane, Shared};
use stagescope::tui::views::files;

const ID: &str = "sha256:abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

/// 100k files in 1,000 directories of 100, two levels deep.
fn big_index() -> FsIndex {
    let mut b = IndexBuilder::new();
    for d in 0..1_000 {
        for f in 0..100 {
            let p = format!("usr/share/pkg{:03}/sub{}/file{f:03}.dat", d / 10, d % 10);
            b.add(
                p.as_bytes(),
                Kind::File,
                (d * f) as u64,
                0o644,
                0,
                0,
                0,
                None,
                0,
            )
            .expect("add");
        }
    }
    b.finish()
}

fn bench(c: &mut Criterion) {
    let ix = big_index();
    let mut pane = FilesPane::new(1, 0, 0, "bench".into());
    let mut tree = TreeView::new(&ix);
    tree.expand_all(&ix);
    assert!(tree.rows().len() > 100_000);
    pane.tree = tree;
    pane.selected = 60_000;
    pane.loading = false;
    pane.index = Some(Shared::new(ix.clone()));
    let mut term = Terminal::new(TestBackend::new(160, 50)).expect("terminal");
    c.bench_function("files frame, 100k expanded", |b| {
        b.iter(|| {
            term.draw(|f| files::render(f, f.area(), black_box(&pane)))
                .expect("draw");
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let cache = DiskCache::new(dir.path().to_path_buf(), 1 << 30);
    cache.put(ID, &ix).expect("put");
    c.bench_function("reopen 100k entries from the disk cache", |b| {
        b.iter(|| black_box(cache.get(ID).expect("hit")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
