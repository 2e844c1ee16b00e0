//! Folds BuildEvents into the state a view or a report reads: status, timing, cache and logs
//! per stage and instruction.

use std::collections::VecDeque;

use super::event::{BuildEvent, LogStream};
use super::plan::BuildPlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Waiting,
    Running,
    Done,
    Cached,
    Failed,
    NotNeeded,
}

/// Lines kept in memory per instruction; older ones are dropped (the full log lives on disk
/// with the run, where a front end wants it).
pub const LOG_LINES_KEPT: usize = 5_000;

/// Bytes kept of one line: the rest is counted and the line ends with a marker saying how
/// many bytes were cut (a 10 MB line of minified JS keeps its first 8 KiB).
pub const LINE_BYTES_KEPT: usize = 8 * 1024;

#[derive(Debug, Clone, Default)]
pub struct LogBuffer {
    lines: VecDeque<(LogStream, String)>,
    partial: Option<(LogStream, Partial)>,
    dropped: usize,
}

/// The line being received: at most [`LINE_BYTES_KEPT`] bytes of it, then the cut marker.
#[derive(Debug, Clone, Default)]
struct Partial {
    text: String,
    /// Length of `text` before the marker.
    kept: usize,
    cut: usize,
}

impl Partial {
    fn append(&mut self, s: &str) {
        if self.cut == 0 {
            let room = LINE_BYTES_KEPT.saturating_sub(self.text.len());
            if s.len() <= room {
                self.text.push_str(s);
                return;
            }
            let mut k = room;
            while !s.is_char_boundary(k) {
                k -= 1;
            }
            self.text.push_str(&s[..k]);
            self.kept = self.text.len();
            self.cut = s.len() - k;
        } else {
            self.cut += s.len();
        }
        self.text.truncate(self.kept);
        self.text.push_str(&format!(" … ({} bytes cut)", self.cut));
    }

    fn finish(mut self) -> String {
        if self.cut == 0 && self.text.ends_with('\r') {
            self.text.pop();
        }
        self.text.shrink_to_fit();
        self.text
    }
}

impl LogBuffer {
    /// Text of one stream, in chunks that may cut lines anywhere.
    pub fn push(&mut self, stream: LogStream, text: &str) {
        let mut rest = text;
        while let Some(pos) = rest.find('\n') {
            let mut line = self.partial.take().map(|(_, p)| p).unwrap_or_default();
            line.append(&rest[..pos]);
            self.push_line(stream, line.finish());
            rest = &rest[pos + 1..];
        }
        if !rest.is_empty() {
            self.partial
                .get_or_insert_with(|| (stream, Partial::default()))
                .1
                .append(rest);
        }
    }

    fn push_line(&mut self, stream: LogStream, line: String) {
        if self.lines.len() == LOG_LINES_KEPT {
            self.lines.pop_front();
            self.dropped += 1;
        }
        self.lines.push_back((stream, line));
    }

    /// Complete lines, then the unterminated tail if any.
    pub fn lines(&self) -> impl Iterator<Item = (LogStream, &str)> {
        self.lines
            .iter()
            .map(|(s, l)| (*s, l.as_str()))
            .chain(self.partial.iter().map(|(s, p)| (*s, p.text.as_str())))
    }

    /// Line `i` in the order of [`LogBuffer::lines`], without walking the ones before it.
    pub fn get(&self, i: usize) -> Option<(LogStream, &str)> {
        match self.lines.get(i) {
            Some((s, l)) => Some((*s, l.as_str())),
            None if i == self.lines.len() => {
                self.partial.as_ref().map(|(s, p)| (*s, p.text.as_str()))
            }
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len() + usize::from(self.partial.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Heap bytes the buffer holds (line slots and text), for the memory bench.
    pub fn retained_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(LogStream, String)>();
        self.lines.capacity() * slot
            + self.lines.iter().map(|(_, l)| l.capacity()).sum::<usize>()
            + self.partial.as_ref().map_or(0, |(_, p)| p.text.capacity())
    }
}

#[derive(Debug, Clone)]
pub struct InstructionState {
    pub status: Status,
    pub cached: bool,
    /// Finished without the cache and without doing anything: an instruction that only sets
    /// metadata (ARG, ENV, CMD…), or a FROM that printed nothing (its image was there). On a
    /// rebuild these are what kept a stage from reading 100% cached; they are counted apart.
    pub no_work: bool,
    pub duration_ms: Option<u64>,
    pub image: Option<String>,
    pub log: LogBuffer,
    /// Why it ran instead of coming from the cache (when the run is recorded).
    pub miss: Option<super::Miss>,
}

#[derive(Debug, Clone)]
pub struct StageState {
    pub status: Status,
    pub image: Option<String>,
    pub instructions: Vec<InstructionState>,
}

impl StageState {
    pub fn duration_ms(&self) -> u64 {
        self.instructions.iter().filter_map(|i| i.duration_ms).sum()
    }

    /// Instructions the builder served from its cache.
    pub fn cached_count(&self) -> usize {
        self.instructions.iter().filter(|i| i.cached).count()
    }

    /// Instructions that finished with no work to do ([`InstructionState::no_work`]).
    pub fn no_work_count(&self) -> usize {
        self.instructions.iter().filter(|i| i.no_work).count()
    }

    /// Of the finished instructions that had work to do, the share served from the cache, in
    /// percent; 100 for a finished stage where none had any (nothing ran: wholly cached),
    /// `None` while none with work has finished in a stage still going (a FROM alone says
    /// nothing of the cache yet).
    pub fn cached_percent(&self) -> Option<usize> {
        let finished = self.instructions.iter().filter(|i| i.duration_ms.is_some());
        let (mut worked, mut cached) = (0, 0);
        for i in finished.filter(|i| !i.no_work) {
            worked += 1;
            cached += usize::from(i.cached);
        }
        if worked == 0 {
            let done = self.instructions.iter().all(|i| i.duration_ms.is_some());
            return done.then_some(100);
        }
        Some(cached * 100 / worked)
    }
}

/// Whether an instruction that did not come from the cache did nothing: metadata only (BuildKit
/// makes no vertex for it; the classic builder commits a config), or a FROM that printed
/// nothing (no pull).
fn did_no_work(keyword: &str, instruction: usize, log: &LogBuffer) -> bool {
    super::plan::METADATA_KEYWORDS.contains(&keyword)
        || (instruction == 0 && keyword == "FROM" && log.is_empty())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub stage: Option<usize>,
    pub instruction: Option<usize>,
    pub message: String,
    pub exit_code: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct BuildState {
    pub plan: BuildPlan,
    pub stages: Vec<StageState>,
    pub failure: Option<Failure>,
    pub finished: Option<(Option<String>, u64)>,
    pub context_bytes: u64,
    /// What the context transfer took, once it is over: bytes, files, milliseconds.
    pub context_sent: Option<(u64, Option<u64>, u64)>,
}

impl BuildState {
    pub fn new(plan: BuildPlan) -> Self {
        let stages = plan
            .stages
            .iter()
            .map(|s| {
                let status = if s.needed {
                    Status::Waiting
                } else {
                    Status::NotNeeded
                };
                StageState {
                    status,
                    image: None,
                    instructions: s
                        .instructions
                        .iter()
                        .map(|_| InstructionState {
                            status,
                            cached: false,
                            no_work: false,
                            duration_ms: None,
                            image: None,
                            log: LogBuffer::default(),
                            miss: None,
                        })
                        .collect(),
                }
            })
            .collect();
        BuildState {
            plan,
            stages,
            failure: None,
            finished: None,
            context_bytes: 0,
            context_sent: None,
        }
    }

    fn instruction_mut(
        &mut self,
        stage: usize,
        instruction: usize,
    ) -> Option<&mut InstructionState> {
        self.stages
            .get_mut(stage)?
            .instructions
            .get_mut(instruction)
    }

    pub fn apply(&mut self, event: &BuildEvent) {
        match event {
            BuildEvent::ContextProgress { bytes } => self.context_bytes = *bytes,
            BuildEvent::ContextSent {
                bytes,
                files,
                duration_ms,
            } => {
                self.context_bytes = *bytes;
                self.context_sent = Some((*bytes, *files, *duration_ms));
            }
            BuildEvent::StageStarted { stage } => {
                if let Some(s) = self.stages.get_mut(*stage) {
                    s.status = Status::Running;
                }
            }
            BuildEvent::InstructionStarted { stage, instruction } => {
                if let Some(s) = self.stages.get_mut(*stage) {
                    s.status = Status::Running;
                }
                if let Some(i) = self.instruction_mut(*stage, *instruction) {
                    i.status = Status::Running;
                }
            }
            BuildEvent::Log {
                stage,
                instruction,
                stream,
                text,
            } => {
                if let Some(i) = self.instruction_mut(*stage, *instruction) {
                    i.log.push(*stream, text);
                }
            }
            BuildEvent::InstructionFinished {
                stage,
                instruction,
                cached,
                duration_ms,
            } => {
                let keyword = self
                    .plan
                    .stages
                    .get(*stage)
                    .and_then(|s| s.instructions.get(*instruction))
                    .map(|p| p.keyword.clone())
                    .unwrap_or_default();
                if let Some(i) = self.instruction_mut(*stage, *instruction) {
                    i.status = if *cached {
                        Status::Cached
                    } else {
                        Status::Done
                    };
                    i.cached = *cached;
                    i.no_work = !*cached && did_no_work(&keyword, *instruction, &i.log);
                    i.duration_ms = Some(*duration_ms);
                }
            }
            BuildEvent::CacheMiss {
                stage,
                instruction,
                miss,
            } => {
                if let Some(i) = self.instruction_mut(*stage, *instruction) {
                    i.miss = Some(miss.clone());
                }
            }
            BuildEvent::StageFinished { stage, image } => {
                if let Some(s) = self.stages.get_mut(*stage) {
                    // Nothing ran: every instruction came from the cache or had nothing to do.
                    let all_cached = s.instructions.iter().all(|i| i.cached || i.no_work);
                    s.status = if all_cached {
                        Status::Cached
                    } else {
                        Status::Done
                    };
                    if image.is_some() {
                        s.image.clone_from(image);
                    }
                }
            }
            BuildEvent::StageImage { stage, image } => {
                if let Some(s) = self.stages.get_mut(*stage) {
                    s.image = Some(image.clone());
                }
            }
            BuildEvent::StateImage {
                stage,
                instruction,
                image,
            } => {
                if let Some(i) = self.instruction_mut(*stage, *instruction) {
                    i.image = Some(image.clone());
                }
            }
            BuildEvent::BuildFailed {
                stage,
                instruction,
                message,
                exit_code,
            } => {
                if let Some(s) = stage.and_then(|s| self.stages.get_mut(s)) {
                    s.status = Status::Failed;
                }
                if let (Some(s), Some(k)) = (stage, instruction)
                    && let Some(i) = self.instruction_mut(*s, *k)
                {
                    i.status = Status::Failed;
                }
                self.failure = Some(Failure {
                    stage: *stage,
                    instruction: *instruction,
                    message: message.clone(),
                    exit_code: *exit_code,
                });
            }
            BuildEvent::BuildFinished { image, duration_ms } => {
                self.finished = Some((image.clone(), *duration_ms));
            }
            BuildEvent::BuildStarted { .. }
            | BuildEvent::InternalStarted { .. }
            | BuildEvent::InternalFinished { .. } => {}
        }
    }

    pub fn stage_durations(&self) -> Vec<u64> {
        self.stages.iter().map(StageState::duration_ms).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan_of, three_stages};

    fn finish(st: &mut BuildState, stage: usize, instruction: usize, cached: bool) {
        st.apply(&BuildEvent::InstructionFinished {
            stage,
            instruction,
            cached,
            duration_ms: 0,
        });
    }

    #[test]
    fn a_fully_cached_rebuild_reads_100_percent() {
        // What BuildKit 20.10 says of a rebuild: the FROM vertex uncached, ARG and CMD
        // settled with the FROM, every RUN and COPY cached.
        let plan = plan_of("FROM busybox\nARG V=1\nRUN echo $V\nCOPY a /a\nCMD [\"sh\"]\n");
        let mut st = BuildState::new(plan);
        for (k, cached) in [(0, false), (1, false), (2, true), (3, true), (4, true)] {
            finish(&mut st, 0, k, cached);
        }
        st.apply(&BuildEvent::StageFinished {
            stage: 0,
            image: None,
        });
        let s = &st.stages[0];
        assert_eq!((s.cached_count(), s.no_work_count()), (3, 2));
        assert_eq!(s.cached_count() + s.no_work_count(), s.instructions.len());
        assert_eq!(s.cached_percent(), Some(100));
        assert_eq!(s.status, Status::Cached);
        assert!(s.instructions[0].no_work && s.instructions[1].no_work);
    }

    #[test]
    fn no_work_is_not_counted_as_cached_when_something_ran() {
        let plan = plan_of("FROM busybox\nENV A=1\nRUN one\nRUN two\n");
        let mut st = BuildState::new(plan.clone());
        for (k, cached) in [(0, false), (1, false), (2, true), (3, false)] {
            finish(&mut st, 0, k, cached);
        }
        assert_eq!(st.stages[0].cached_percent(), Some(50));
        assert_eq!(st.stages[0].no_work_count(), 2);
        // A FROM that printed something (a pull) did work; a RUN never counts as no work.
        let mut st = BuildState::new(plan);
        st.apply(&BuildEvent::Log {
            stage: 0,
            instruction: 0,
            stream: LogStream::Stdout,
            text: "Pulling from library/busybox\n".into(),
        });
        finish(&mut st, 0, 0, false);
        finish(&mut st, 0, 2, false);
        assert!(!st.stages[0].instructions[0].no_work);
        assert!(!st.stages[0].instructions[2].no_work);
        assert_eq!(st.stages[0].cached_percent(), Some(0));
        // A stage under way whose FROM alone finished says nothing of the cache yet.
        let mut st = BuildState::new(plan_of("FROM busybox\nRUN one\n"));
        finish(&mut st, 0, 0, false);
        assert_eq!(st.stages[0].cached_percent(), None);
        // A stage in which nothing ran at all.
        let plan = plan_of("FROM busybox\nCMD [\"sh\"]\n");
        let mut st = BuildState::new(plan);
        finish(&mut st, 0, 0, false);
        finish(&mut st, 0, 1, false);
        assert_eq!(st.stages[0].cached_percent(), Some(100));
    }

    #[test]
    fn log_buffer_joins_partial_lines_and_bounds_memory() {
        let mut log = LogBuffer::default();
        log.push(LogStream::Stdout, "hel");
        log.push(LogStream::Stdout, "lo\r\nworld\npart");
        let lines: Vec<_> = log.lines().map(|(_, l)| l).collect();
        assert_eq!(lines, vec!["hello", "world", "part"]);
        for i in 0..LOG_LINES_KEPT + 10 {
            log.push(LogStream::Stderr, &format!("{i}\n"));
        }
        assert_eq!(log.dropped(), 12);
        assert_eq!(
            log.len(),
            LOG_LINES_KEPT,
            "\"part\" joined the first pushed line"
        );
    }

    #[test]
    fn a_huge_line_keeps_its_head_and_says_what_was_cut() {
        let mut log = LogBuffer::default();
        // 10 MiB of a two-byte char after one byte: the cut must fall between chars.
        let big = "é".repeat(5 << 20);
        log.push(LogStream::Stdout, "x");
        log.push(LogStream::Stdout, &big);
        let marker = format!(" … ({} bytes cut)", big.len() - 8190);
        let (_, open) = log.get(0).expect("partial");
        assert!(open.ends_with(&marker), "an open line shows the cut too");
        log.push(LogStream::Stdout, "tail\nnext\n");
        let (_, line) = log.get(0).expect("line");
        assert_eq!(line.len(), 8191 + " … (".len() + 8 + " bytes cut)".len());
        assert!(line.starts_with("xéé"));
        assert!(line.ends_with(&format!(" … ({} bytes cut)", big.len() - 8190 + 4)));
        assert_eq!(log.get(1).map(|l| l.1), Some("next"));
        assert!(log.retained_bytes() < 3 * LINE_BYTES_KEPT);
    }

    #[test]
    fn a_million_lines_keep_the_newest_in_bounded_memory() {
        let mut log = LogBuffer::default();
        let chunk: String = (0..1000).map(|i| format!("line {i:>70}\n")).collect();
        for _ in 0..1000 {
            log.push(LogStream::Stdout, &chunk);
        }
        assert_eq!(log.len(), LOG_LINES_KEPT);
        assert_eq!(log.dropped(), 1_000_000 - LOG_LINES_KEPT);
        // 5 000 lines of 76 bytes and their slots: well under a megabyte.
        assert!(log.retained_bytes() < 1 << 20, "{}", log.retained_bytes());
    }

    #[test]
    fn events_fold_into_status_timing_and_failure() {
        let mut st = BuildState::new(three_stages());
        st.apply(&BuildEvent::InstructionStarted {
            stage: 1,
            instruction: 2,
        });
        assert_eq!(st.stages[1].status, Status::Running);
        st.apply(&BuildEvent::InstructionFinished {
            stage: 1,
            instruction: 2,
            cached: false,
            duration_ms: 1500,
        });
        st.apply(&BuildEvent::InstructionFinished {
            stage: 1,
            instruction: 1,
            cached: true,
            duration_ms: 0,
        });
        assert_eq!(st.stages[1].duration_ms(), 1500);
        assert_eq!(st.stages[1].cached_count(), 1);
        st.apply(&BuildEvent::BuildFailed {
            stage: Some(2),
            instruction: Some(1),
            message: "exit code: 3".into(),
            exit_code: Some(3),
        });
        assert_eq!(st.stages[2].status, Status::Failed);
        assert_eq!(st.stages[2].instructions[1].status, Status::Failed);
        assert_eq!(st.failure.as_ref().and_then(|f| f.exit_code), Some(3));
    }
}
