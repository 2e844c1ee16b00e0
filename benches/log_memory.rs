//! What a huge log costs: 1M lines, one 10 MB line and 10 MB of invalid UTF-8 fed through
//! BuildState, the retained bytes printed once per case, then the time to fold them and to
//! print the kept lines through the plain sanitizer. `cargo bench --bench log_memory`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use stagescope_plan::LogStream;
use stagescope_plan::state::LogBuffer;
use stagescope_report::sanitize;

/// 1M lines of 80 bytes with colour and a title escape, in 1 000 chunks of 1 000 lines.
fn million_lines() -> Vec<String> {
    let chunk: String = (0..1000)
        .map(|i| format!("\x1b[32mok\x1b[0m \x1b]0;t\x07step {i:>60}\n"))
        .collect();
    vec![chunk; 1000]
}

/// One 10 MB line, in BuildKit-sized chunks of 32 KiB.
fn huge_line() -> Vec<String> {
    let mut v = vec!["a".repeat(32 << 10); 320];
    v.push("\n".into());
    v
}

/// 10 MB of invalid UTF-8 decoded lossily (as the engine mappers do): 3 bytes per U+FFFD.
fn invalid_utf8() -> Vec<String> {
    let chunk = String::from_utf8_lossy(&[0xFFu8; 32 << 10]).into_owned();
    vec![chunk; 320]
}

fn feed(chunks: &[String]) -> LogBuffer {
    let mut log = LogBuffer::default();
    for c in chunks {
        log.push(LogStream::Stdout, c);
    }
    log
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("1M lines (80 MB)", million_lines()),
        ("one 10 MB line", huge_line()),
        ("10 MB invalid UTF-8 (30 MB as U+FFFD)", invalid_utf8()),
    ];
    for (name, chunks) in &cases {
        let fed: usize = chunks.iter().map(String::len).sum();
        let log = feed(chunks);
        println!(
            "{name}: fed {fed} bytes, retained {} bytes in {} lines ({} dropped)",
            log.retained_bytes(),
            log.len(),
            log.dropped()
        );
        c.bench_function(&format!("fold {name}"), |b| {
            b.iter(|| black_box(feed(black_box(chunks))))
        });
        c.bench_function(&format!("sanitize kept lines of {name}"), |b| {
            b.iter_batched(
                || feed(chunks),
                |log| {
                    log.lines()
                        .map(|(_, l)| sanitize::line(l, false).len())
                        .sum::<usize>()
                },
                BatchSize::LargeInput,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
