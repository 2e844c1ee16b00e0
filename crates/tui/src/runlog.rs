//! The full log of the run on disk, one file per instruction: memory keeps only the newest
//! lines of each instruction, `w` writes everything. The directory goes when the run ends.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ansi;
use stagescope_plan::BuildEvent;

pub(crate) struct RunLog {
    dir: PathBuf,
    files: HashMap<(usize, usize), BufWriter<File>>,
    /// Writing stopped (disk full, no temp dir): `w` falls back to what memory holds.
    broken: bool,
}

impl RunLog {
    pub(crate) fn new(build_id: &str) -> Self {
        Self::in_dir(std::env::temp_dir().join(format!("stagescope-{build_id}")))
    }

    pub(crate) fn in_dir(dir: PathBuf) -> Self {
        RunLog {
            dir,
            files: HashMap::new(),
            broken: false,
        }
    }

    fn path(&self, stage: usize, instruction: usize) -> PathBuf {
        self.dir.join(format!("{stage}-{instruction}.log"))
    }

    pub(crate) fn record(&mut self, ev: &BuildEvent) {
        let BuildEvent::Log {
            stage,
            instruction,
            text,
            ..
        } = ev
        else {
            return;
        };
        if self.broken {
            return;
        }
        let key = (*stage, *instruction);
        if !self.files.contains_key(&key) {
            let path = self.path(key.0, key.1);
            match std::fs::create_dir_all(&self.dir).and_then(|()| File::create(path)) {
                Ok(f) => {
                    self.files.insert(key, BufWriter::new(f));
                }
                Err(_) => {
                    self.broken = true;
                    return;
                }
            }
        }
        if let Some(f) = self.files.get_mut(&key)
            && f.write_all(text.as_bytes()).is_err()
        {
            self.broken = true;
        }
    }

    /// Writes the whole log of one instruction, or of `instructions` instructions of a
    /// stage, as plain text to `dest`, a line at a time: a log of millions of lines never
    /// sits in memory whole. None when the disk copy cannot be trusted.
    pub(crate) fn write_full(
        &mut self,
        stage: usize,
        instruction: Option<usize>,
        instructions: usize,
        dest: &Path,
    ) -> Option<std::io::Result<()>> {
        use std::io::BufRead;
        if self.broken {
            return None;
        }
        for f in self.files.values_mut() {
            f.flush().ok()?;
        }
        let ks: Vec<usize> = match instruction {
            Some(k) => vec![k],
            None => (0..instructions).collect(),
        };
        let copy = || -> std::io::Result<()> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(dest)?);
            let mut line = Vec::new();
            for k in &ks {
                let Ok(file) = std::fs::File::open(self.path(stage, *k)) else {
                    continue;
                };
                let mut reader = std::io::BufReader::new(file);
                loop {
                    line.clear();
                    if reader.read_until(b'\n', &mut line)? == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&line);
                    out.write_all(ansi::plain(text.trim_end_matches('\n')).as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()
        };
        Some(copy())
    }
}

impl Drop for RunLog {
    fn drop(&mut self) {
        self.files.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::LogStream;
    use stagescope_plan::state::LOG_LINES_KEPT;

    fn log(stage: usize, instruction: usize, text: &str) -> BuildEvent {
        BuildEvent::Log {
            stage,
            instruction,
            stream: LogStream::Stdout,
            text: text.into(),
        }
    }

    #[test]
    fn keeps_every_line_memory_drops() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("run");
        let mut r = RunLog::in_dir(dir.clone());
        for i in 0..LOG_LINES_KEPT + 10 {
            r.record(&log(1, 2, &format!("\x1b[1mline {i}\x1b[0m\n")));
        }
        r.record(&log(1, 0, "from\n"));
        let out = tmp.path().join("out.log");
        let read = |r: &mut RunLog, k: Option<usize>, n: usize| {
            r.write_full(1, k, n, &out)
                .expect("trusted")
                .expect("written");
            std::fs::read_to_string(&out).expect("read")
        };
        let one = read(&mut r, Some(2), 3);
        assert_eq!(one.lines().count(), LOG_LINES_KEPT + 10);
        assert!(one.starts_with("line 0\n"));
        let all = read(&mut r, None, 3);
        assert!(all.starts_with("from\nline 0\n"));
        r.write_full(0, None, 2, &out)
            .expect("trusted")
            .expect("written");
        assert_eq!(std::fs::read_to_string(&out).expect("read"), "");
        drop(r);
        assert!(!dir.exists());
    }
}
