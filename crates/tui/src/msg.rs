//! What flows through the TUI: the user's [`Action`]s (the key tables' vocabulary), the
//! [`Msg`]s `update` folds into the model, and the [`Cmd`]s it hands back. Types only, below
//! the keymap, the help and `update`, so that the key tables can name actions without
//! importing the code that carries them out.

use crate::diff::keys::DiffKey;
use crate::files::{FilesCmd, FilesKey, FilesMsg};
use crate::model::Pause;
use stagescope_core::session::SharedError;
use stagescope_core::session::StepMode;
use stagescope_plan::BuildEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Slowest,
    Close,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    ToggleFollow,
    ToggleWrap,
    ToggleWholeStage,
    SearchStart,
    ShellInput(char),
    ShellBackspace,
    ShellSubmit,
    ShellCancel,
    SearchInput(char),
    SearchBackspace,
    SearchSubmit,
    SearchCancel,
    NextMatch,
    PrevMatch,
    NextStage,
    Continue,
    ToggleBreakpoint,
    Shell,
    WriteLog,
    /// `d`: the diff view.
    OpenDiff,
    /// A key of the diff view.
    Diff(DiffKey),
    /// `f`: the filesystem of the selected stage or instruction's state.
    OpenFiles,
    /// A key of the filesystem pane.
    Files(FilesKey),
    /// `e`: the Explain pane, in the log's place.
    ToggleExplain,
    /// `t`: the timeline.
    Timeline,
    /// In the timeline: `+` / `-`.
    ZoomIn,
    ZoomOut,
    /// In the timeline: `←` / `→`.
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Action(Action),
    Build(BuildEvent),
    /// The step driver waits for `n` or `c`.
    Paused(Pause),
    /// The build driver stopped; `Err` when it could not go on (daemon gone, bad context).
    Ended(Result<(), SharedError>),
    Tick {
        elapsed_ms: u64,
    },
    Resize(u16, u16),
    Scroll {
        at: (u16, u16),
        down: bool,
    },
    Click {
        at: (u16, u16),
    },
    Notice(String),
    /// Both sides of the diff view are indexed (or could not be).
    DiffIndexed(crate::diff::Indexed),
    /// Both sides' content of the file the diff view's detail shows.
    DiffSides(crate::diff::preview::Sides),
    /// Background work of the filesystem pane.
    Files(FilesMsg),
    /// A stage's numbers for the Explain pane (or the one line of why not).
    ExplainNumbers {
        stage: usize,
        /// The state counted: None for the whole stage, Some(k) for the state after k.
        at: Option<usize>,
        result: Result<stagescope_core::explain::StageNumbers, SharedError>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Quit,
    /// The breakpoints changed: the running build stops when it finishes one of them.
    Breakpoints(Vec<(usize, usize)>),
    /// Let the step driver go on, stopping at these breakpoints.
    Advance {
        mode: StepMode,
        breakpoints: Vec<(usize, usize)>,
    },
    /// A shell in the state after `instruction` of `stage`; `image` when it is known already.
    Shell {
        stage: usize,
        instruction: usize,
        image: Option<String>,
        /// `sh -c` this; None: an interactive `/bin/sh`.
        command: Option<String>,
    },
    /// `text` is what memory holds; the full log on disk wins when there is one.
    WriteLog {
        path: String,
        text: String,
        stage: usize,
        instruction: Option<usize>,
    },
    /// Index stages `from` and `to` (and what provenance needs) in the background;
    /// `images` holds each stage's image where the build made one.
    IndexDiff {
        request: u64,
        from: usize,
        to: usize,
        images: Vec<Option<String>>,
    },
    /// Read both sides of one file of the diff view, in the background.
    FetchSides(crate::diff::preview::FetchSides),
    /// Work of the filesystem pane.
    Files(FilesCmd),
    /// Count stage `stage`'s files for the Explain pane; `images` as in `IndexDiff`.
    ExplainNumbers {
        stage: usize,
        at: Option<usize>,
        images: Vec<Option<String>>,
    },
}
