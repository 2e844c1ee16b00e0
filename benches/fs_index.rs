//! How fast a filesystem tar becomes an FsIndex, and how fast the lazy tree answers.
//!
//! The tar is generated in memory, deterministically: 100k entries (1k directories of 99
//! files, sizes spread over 0..8 KiB, ~400 MB of content), so the figure covers both the
//! per-entry cost and hashing the bytes that stream by. Run: `cargo bench --bench fs_index`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stagescope_fs::tree::{SortBy, TreeView};
use stagescope_fs::{FsIndex, Kind};

fn generated_tar(dirs: usize, files_per_dir: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let content = vec![0x5au8; 8192];
    let mut seed: u32 = 12345;
    for d in 0..dirs {
        let dir = format!("usr/share/pkg{:04}/sub{}", d, d % 7);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, &dir, std::io::empty()).expect("dir");
        for f in 0..files_per_dir {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let size = (seed >> 8) as usize % content.len();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(size as u64);
            b.append_data(&mut h, format!("{dir}/file-{f:03}.dat"), &content[..size])
                .expect("file");
        }
    }
    b.into_inner().expect("tar")
}

fn bench(c: &mut Criterion) {
    let tar = generated_tar(1000, 99);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    eprintln!(
        "generated tar: {} bytes, {} entries",
        tar.len(),
        ix.len() - 1
    );
    let mut g = c.benchmark_group("fs");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(tar.len() as u64));
    g.bench_function("index_100k_entries", |b| {
        b.iter(|| FsIndex::from_tar(tar.as_slice()).expect("index"))
    });
    g.throughput(Throughput::Elements(ix.len() as u64));
    g.bench_function("tree_expand_all_100k", |b| {
        b.iter(|| {
            let mut v = TreeView::new(&ix);
            v.expand_all(&ix);
            v.rows().len()
        })
    });
    g.bench_function("tree_sort_by_size_expanded_100k", |b| {
        let mut v = TreeView::new(&ix);
        v.expand_all(&ix);
        b.iter(|| {
            v.set_sort(&ix, SortBy::Size);
            v.set_sort(&ix, SortBy::Name);
        })
    });
    g.bench_function("tree_open_one_dir", |b| {
        let mut v = TreeView::new(&ix);
        b.iter(|| {
            v.expand(&ix, 0);
            v.collapse(0);
        })
    });
    g.finish();
    assert!(ix.entries().any(|e| e.kind() == Kind::File));
}

criterion_group!(benches, bench);
criterion_main!(benches);
