//! A generated tar of 1M small files, for the memory benches (shared by `#[path]`).

use std::io::Read;

pub const DIRS: u32 = 1000;
pub const FILES: u32 = 1000;

/// The tar stream of `DIRS` x `FILES` files (or the range `next..end` of them), made header
/// by header as it is read.
pub struct MillionFiles {
    next: u32,
    end: u32,
    pub served: u64,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

impl MillionFiles {
    /// Files `from..to` of the `DIRS` x `FILES` (all: `0..DIRS * FILES`).
    pub fn range(from: u32, to: u32) -> Self {
        MillionFiles {
            next: from,
            end: to,
            served: 0,
            buf: Vec::new(),
            at: 0,
            done: false,
        }
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.at = 0;
        if self.next >= self.end {
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
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
