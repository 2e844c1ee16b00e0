//! Everything the screen shows, as plain data. Views read it; only `update` changes it.

use std::collections::BTreeSet;

use ratatui::layout::Rect;

use crate::diff::DiffState;
use crate::explain_state::ExplainState;
use crate::files::FilesPane;
use crate::layout::{Areas, areas};
pub use stagescope_core::session::Pause;
use stagescope_core::session::SharedError;
use stagescope_dockerfile::lint::Warning;
use stagescope_fs::cache::MemoryCache;
use stagescope_plan::{BuildPlan, BuildState, BuilderKind, LogStream, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Graph,
    Instructions,
    Log,
    /// The Explain pane, in the Log pane's place while it is open.
    Explain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The slowest instructions of the build, best first; the index is the selected row.
    Slowest(usize),
    /// The engine went away or the build could not run: drawn over everything.
    Error(SharedError),
    /// `t`: the run along wall-clock time.
    Timeline(TimelineView),
}

/// How much of the timeline shows: `zoom` 0 fits the whole run, each step halves the time
/// shown; `left_ms` is the first millisecond shown; `top` the first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimelineView {
    pub zoom: u8,
    pub left_ms: u64,
    pub top: usize,
}

/// Zoom steps of the timeline.
pub(crate) const MAX_ZOOM: u8 = 8;

impl TimelineView {
    /// Milliseconds shown of a run `span_ms` long.
    pub fn window(&self, span_ms: u64) -> u64 {
        (span_ms >> self.zoom.min(MAX_ZOOM)).max(1)
    }

    /// Zoom in (`by` > 0) or out, keeping the middle in place.
    pub(crate) fn zoom_by(&mut self, by: i8, span_ms: u64) {
        let mid = self.left_ms + self.window(span_ms) / 2;
        self.zoom = self.zoom.saturating_add_signed(by).min(MAX_ZOOM);
        self.left_ms = mid.saturating_sub(self.window(span_ms) / 2);
        self.clamp(span_ms);
    }

    /// Pan a quarter window right (`dir` > 0) or left.
    pub(crate) fn pan(&mut self, dir: i8, span_ms: u64) {
        let step = self.window(span_ms) / 4;
        self.left_ms = if dir > 0 {
            self.left_ms + step
        } else {
            self.left_ms.saturating_sub(step)
        };
        self.clamp(span_ms);
    }

    fn clamp(&mut self, span_ms: u64) {
        self.left_ms = self
            .left_ms
            .min(span_ms.saturating_sub(self.window(span_ms)));
    }
}

/// A shell about to open in the state after `instruction` of `stage`: the command is typed
/// first (empty: an interactive `/bin/sh`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellPrompt {
    pub stage: usize,
    pub instruction: usize,
    pub image: Option<String>,
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogView {
    /// Keep the newest line in view.
    pub follow: bool,
    /// First line drawn when not following.
    pub top: usize,
    pub wrap: bool,
    /// The whole stage's log instead of the selected instruction's.
    pub whole_stage: bool,
    /// The active search, matched case-insensitively.
    pub search: Option<String>,
    /// The search being typed after `/`.
    pub input: Option<String>,
    /// The line of the current match.
    pub current_match: Option<usize>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView {
            follow: true,
            top: 0,
            wrap: false,
            whole_stage: false,
            search: None,
            input: None,
            current_match: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub state: BuildState,
    pub builder: Option<BuilderKind>,
    /// "docker 20.10.24 (API 1.41)" or similar; empty in tests.
    pub engine: String,
    pub build_id: Option<String>,
    pub elapsed_ms: u64,
    pub focus: Focus,
    pub stage: usize,
    pub instruction: usize,
    /// Selection moves with the running instruction until the user selects something.
    pub track_build: bool,
    pub log: LogView,
    pub overlay: Option<Overlay>,
    pub step_mode: bool,
    pub pause: Option<Pause>,
    pub breakpoints: BTreeSet<(usize, usize)>,
    /// The build driver has stopped (finished, failed or gave up).
    pub ended: bool,
    /// One line of feedback in the status bar ("wrote build.log").
    pub notice: Option<String>,
    /// `s` asks which command to run in the state before running it.
    pub shell_prompt: Option<ShellPrompt>,
    /// First line of the `?` overlay shown: at 80x24 the key list is taller than the screen.
    pub help_scroll: u16,
    pub size: (u16, u16),
    /// `NO_COLOR`: draw without colour (bold and reverse still mark what matters).
    pub monochrome: bool,
    pub quit: bool,
    /// `d`: the diff view and what it compares by default.
    pub diff: DiffState,
    /// `f`: the filesystem pane, full screen while open.
    pub files: Option<FilesPane>,
    /// Request ids of the filesystem pane: each open gets the next.
    pub files_seq: u64,
    /// The last indexes opened (with their waste), by image id: reopening one is instant.
    pub files_cache: MemoryCache<crate::files::Kept>,
    /// Build-check warnings of the Dockerfile, in line order.
    pub warnings: Vec<Warning>,
    /// `e`: the Explain pane.
    pub explain: ExplainState,
    /// `stagescope tour`: step mode that also pauses after every instruction.
    pub tour: bool,
    /// `stagescope replay`: the id of the recorded run shown; no engine behind it.
    pub replay: Option<String>,
    /// Instructions starting and finishing, stamped when they arrived: the timeline's input.
    pub timeline: Vec<stagescope_core::history::Timed>,
}

impl Model {
    pub fn new(plan: BuildPlan, step_mode: bool) -> Self {
        let stage = plan.target.min(plan.stages.len().saturating_sub(1));
        Model {
            state: BuildState::new(plan),
            builder: None,
            engine: String::new(),
            build_id: None,
            elapsed_ms: 0,
            focus: Focus::Graph,
            stage,
            instruction: 0,
            track_build: true,
            log: LogView::default(),
            overlay: None,
            step_mode,
            pause: None,
            breakpoints: BTreeSet::new(),
            ended: false,
            notice: None,
            help_scroll: 0,
            shell_prompt: None,
            size: (80, 24),
            monochrome: false,
            quit: false,
            diff: DiffState::default(),
            files: None,
            files_seq: 0,
            files_cache: MemoryCache::new(4),
            warnings: Vec::new(),
            explain: ExplainState::default(),
            tour: false,
            replay: None,
            timeline: Vec::new(),
        }
    }

    /// Warnings on instruction `k` of `stage` (0 is the FROM): those from its first line
    /// up to the next instruction's.
    pub(crate) fn warnings_at(&self, stage: usize, k: usize) -> Vec<&Warning> {
        let plan = self.plan();
        let Some(ins) = plan.stages.get(stage).map(|s| &s.instructions) else {
            return Vec::new();
        };
        let Some(start) = ins.get(k).map(|i| i.line) else {
            return Vec::new();
        };
        let next = ins.get(k + 1).map(|i| i.line).or_else(|| {
            plan.stages
                .get(stage + 1)
                .and_then(|s| s.instructions.first())
                .map(|i| i.line)
        });
        self.warnings
            .iter()
            .filter(|w| w.line >= start && next.is_none_or(|n| w.line < n))
            .collect()
    }

    /// Any warning on the lines of `stage`.
    pub(crate) fn stage_has_warnings(&self, stage: usize) -> bool {
        let n = self
            .plan()
            .stages
            .get(stage)
            .map_or(0, |s| s.instructions.len());
        (0..n).any(|k| !self.warnings_at(stage, k).is_empty())
    }

    /// "Now" for the timeline: a running build's clock; nothing once it ended.
    pub(crate) fn timeline_now(&self) -> u64 {
        if self.state.finished.is_some() || self.ended {
            0
        } else {
            self.elapsed_ms
        }
    }

    /// The run along wall-clock time, as far as it got.
    pub fn timeline(&self) -> stagescope_core::history::timeline::Timeline {
        stagescope_core::history::timeline::Timeline::of(
            self.plan(),
            &self.timeline,
            self.timeline_now(),
        )
    }

    pub fn plan(&self) -> &BuildPlan {
        &self.state.plan
    }

    pub fn screen(&self) -> Rect {
        Rect::new(0, 0, self.size.0, self.size.1)
    }

    pub(crate) fn areas(&self) -> Areas {
        areas(self.screen())
    }

    pub(crate) fn stage_count(&self) -> usize {
        self.state.stages.len()
    }

    pub fn instruction_count(&self) -> usize {
        self.state
            .stages
            .get(self.stage)
            .map_or(0, |s| s.instructions.len())
    }

    /// Lines of the log pane's current selection.
    pub(crate) fn log_len(&self) -> usize {
        let Some(st) = self.state.stages.get(self.stage) else {
            return 0;
        };
        if self.log.whole_stage {
            st.instructions.iter().map(|i| i.log.len()).sum()
        } else {
            st.instructions
                .get(self.instruction)
                .map_or(0, |i| i.log.len())
        }
    }

    pub(crate) fn log_line(&self, mut n: usize) -> Option<(LogStream, &str)> {
        let st = self.state.stages.get(self.stage)?;
        if !self.log.whole_stage {
            return st.instructions.get(self.instruction)?.log.get(n);
        }
        for i in &st.instructions {
            if n < i.log.len() {
                return i.log.get(n);
            }
            n -= i.log.len();
        }
        None
    }

    /// Rows of log text the log pane shows (inside its border).
    pub(crate) fn log_rows(&self) -> usize {
        usize::from(self.areas().log.height.saturating_sub(2))
    }

    /// The first log line drawn, following or not.
    pub(crate) fn log_top(&self) -> usize {
        let len = self.log_len();
        let rows = self.log_rows();
        if self.log.follow {
            len.saturating_sub(rows)
        } else {
            self.log.top.min(len.saturating_sub(1))
        }
    }

    /// Status the build is in, as the status bar says it.
    pub fn phase(&self) -> &'static str {
        if self.state.failure.is_some() {
            "failed"
        } else if self.state.finished.is_some() {
            "done"
        } else if matches!(self.pause, Some(Pause::BeforeStage(_))) {
            "paused"
        } else if matches!(self.pause, Some(Pause::Breakpoint(..))) {
            "breakpoint"
        } else if self.builder.is_some() {
            "building"
        } else {
            "starting"
        }
    }

    /// The instruction whose state `f` and `s` open: the selected one, or with the Stages
    /// pane focused the stage's last (the stage as built).
    pub(crate) fn selected_state(&self) -> usize {
        let last = self.instruction_count().saturating_sub(1);
        if self.focus == Focus::Graph {
            last
        } else {
            self.instruction.min(last)
        }
    }

    /// The image holding the state after the selected instruction, when one was made.
    pub fn selected_image(&self) -> Option<&str> {
        let st = self.state.stages.get(self.stage)?;
        let ins = st.instructions.get(self.instruction)?;
        if let Some(i) = &ins.image {
            return Some(i);
        }
        if self.instruction + 1 == st.instructions.len() && st.status != Status::Failed {
            return st.image.as_deref();
        }
        None
    }

    /// (duration, stage, instruction) of every finished instruction, slowest first.
    pub fn slowest(&self) -> Vec<(u64, usize, usize)> {
        let mut all: Vec<(u64, usize, usize)> = self
            .state
            .stages
            .iter()
            .enumerate()
            .flat_map(|(s, st)| {
                st.instructions
                    .iter()
                    .enumerate()
                    .filter_map(move |(k, i)| i.duration_ms.map(|d| (d, s, k)))
            })
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        all
    }
}
