//! What a BuildKit build says as its status arrives, whichever way the status comes (the
//! engine's `/build` stream or the Control API's `Status`): the context counter, the failed
//! vertexes kept for the failure's location, and the time spent loading the context. The
//! two build drivers (`run` for an engine, `control::build` for a Control API BuildKit)
//! share it so that they report a build the same way.

use std::time::Instant;

use bollard::moby::buildkit::v1::{StatusResponse, Vertex};
use tokio::sync::mpsc::UnboundedSender;

use crate::buildkit::VertexMapper;
use stagescope_plan::{BuildEvent, BuilderKind};

/// One build's start and status, reported into `tx`.
pub(crate) struct StatusReport<'a> {
    tx: &'a UnboundedSender<BuildEvent>,
    started: Instant,
    last_sent: u64,
    context_ms: u64,
    failed: Vec<Vertex>,
}

impl<'a> StatusReport<'a> {
    /// Says the build started (after its checks and its session: what fails there is no
    /// build) and starts its clock.
    pub(crate) fn start(
        tx: &'a UnboundedSender<BuildEvent>,
        builder: BuilderKind,
        build_id: &str,
    ) -> Self {
        emit(
            tx,
            [BuildEvent::BuildStarted {
                builder,
                build_id: build_id.to_string(),
            }],
        );
        StatusReport {
            tx,
            started: Instant::now(),
            last_sent: 0,
            context_ms: 0,
            failed: Vec::new(),
        }
    }

    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    pub(crate) fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The context bytes sent so far, reported when they changed.
    pub(crate) fn sent(&mut self, bytes: u64) {
        if bytes != self.last_sent {
            self.last_sent = bytes;
            emit(self.tx, [BuildEvent::ContextProgress { bytes }]);
        }
    }

    /// One status message through the plan's mapper.
    pub(crate) fn status(&mut self, mapper: &mut VertexMapper, status: &StatusResponse) {
        self.failed.extend(
            status
                .vertexes
                .iter()
                .filter(|v| !v.error.is_empty())
                .cloned(),
        );
        let evs = mapper.on_status(status);
        self.context_ms += loading_context_ms(&evs);
        emit(self.tx, evs);
    }

    /// One event of the build's own.
    pub(crate) fn say(&self, ev: BuildEvent) {
        emit(self.tx, [ev]);
    }

    /// The build's failure, placed where the failed vertexes say.
    pub(crate) fn failure(&self, mapper: &mut VertexMapper, error: &str) -> BuildEvent {
        mapper.failure(error, &self.failed)
    }

    /// What the context cost, as buildx prints it: bytes, files when known, time.
    pub(crate) fn context_sent(&self, bytes: u64, files: Option<u64>) -> BuildEvent {
        BuildEvent::ContextSent {
            bytes,
            files,
            duration_ms: self.context_ms,
        }
    }
}

/// What one build call did besides its steps: the final image id, the failure message, and
/// the context it sent.
pub(crate) struct Solved {
    pub(crate) image: Option<String>,
    pub(crate) failure: Option<String>,
    pub(crate) context: BuildEvent,
}

pub(crate) fn emit(tx: &UnboundedSender<BuildEvent>, events: impl IntoIterator<Item = BuildEvent>) {
    for e in events {
        // A closed receiver means nobody is watching any more; the build still finishes
        // its cleanup.
        let _ = tx.send(e);
    }
}

/// How long BuildKit's "load build context" steps among `evs` took.
pub(crate) fn loading_context_ms(evs: &[BuildEvent]) -> u64 {
    evs.iter()
        .filter_map(|e| match e {
            BuildEvent::InternalFinished {
                step, duration_ms, ..
            } if step.name.contains("load build context") => Some(*duration_ms),
            _ => None,
        })
        .sum()
}
