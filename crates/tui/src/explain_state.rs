//! The Explain pane's state (`e`): open or not, what it is about, its scroll, and the
//! numbers counted so far per stage. The model holds it; [`super::explain`] reads the
//! model to make the pane's text.

use std::collections::BTreeMap;
use std::sync::Arc;

use stagescope_core::explain::StageNumbers;
use stagescope_core::session::SharedError;
use stagescope_dockerfile::{Dockerfile, StageGraph};

/// What the words are made from: the session's Dockerfile and graph, shared, never changed.
#[derive(Debug)]
pub struct Source {
    pub dockerfile: Dockerfile,
    pub graph: StageGraph,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    Ready(Arc<StageNumbers>),
    /// Shown as its first line.
    Failed(SharedError),
}

#[derive(Debug, Clone, Default)]
pub struct ExplainState {
    pub open: bool,
    /// About the selected stage (the Stages pane had the focus last) instead of the
    /// selected instruction.
    pub about_stage: bool,
    /// First wrapped row drawn; clamped when drawn, since only the view knows the width.
    pub scroll: u16,
    /// `None` in tests that do not give it: the pane then says there is nothing to explain.
    pub source: Option<Arc<Source>>,
    /// Numbers per stage, once counted (or the one line of why not).
    pub numbers: BTreeMap<usize, Counted>,
    /// The stage whose numbers are being counted (one job at a time: a newer one aborts it).
    pub counting: Option<usize>,
    /// Stages whose numbers are of a state mid-stage (a pause after instruction k), not of
    /// the finished stage: instructions after k have none yet.
    pub partial: BTreeMap<usize, usize>,
}

impl ExplainState {
    pub fn new(dockerfile: Dockerfile, graph: StageGraph) -> Self {
        ExplainState {
            source: Some(Arc::new(Source { dockerfile, graph })),
            ..ExplainState::default()
        }
    }
}
