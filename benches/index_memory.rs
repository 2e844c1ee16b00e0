//! What a 1M-file image costs to index: a tar of 1M files (1k directories of 1k, small
//! sizes, ~1 GB of headers and content) is generated as it is read, never held, and
//! streamed into the index. Printed once: the index's heap bytes (its tables' capacities),
//! the builder's just before `finish`, and the process's peak resident set (`VmHWM`),
//! which covers every copy at once. Then the time to index it.
//! Run: `cargo bench --bench index_memory`.

use std::io::Read;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stagescope::fs::{FsIndex, IndexBuilder};

const DIRS: u32 = 1000;
const FILES: u32 = 1000;

/// The tar stream of `DIRS` x `FILES` files, made header by header as it is read.
struct MillionFiles {
    next: u32,
    served: u64,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

impl MillionFiles {
    fn new() -> Self {
        MillionFiles {
            next: 0,
            served: 0,
            buf: Vec::new(),
            at: 0,
            done: false,
        }
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.at = 0;
        if self.next == DIRS * FILES {
            if !self.done {
                self.buf.resize(1024, 0);
                self.done = true;
            }
            return;
        }
        let (d, f) = (self.next / FILES, self.next % FILES);
        self.next += 1;
        let size = u64::from(f % 97);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(size);
        h.set_path(format!("usr/lib/pkg{d:04}/module-{f:04}.py"))
            .expect("path");
        h.set_cksum();
        self.buf.extend_from_slice(h.as_bytes());
        self.buf
            .resize(512 + size.div_ceil(512) as usize * 512, b'x');
    }
}

impl Read for MillionFiles {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            self.refill();
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        self.served += n as u64;
        Ok(n)
    }
}

/// Peak resident set of this process so far, in bytes (Linux `/proc`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mb(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn bench(c: &mut Criterion) {
    let before = peak_rss().unwrap_or(0);
    let mut b = IndexBuilder::new();
    let mut tar = MillionFiles::new();
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
        bn.iter(|| FsIndex::from_tar(MillionFiles::new()).expect("index").len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
