//! Records a run as its events arrive and explains each cache miss on the spot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::reasons::{self, Known};
use super::record::{FileMark, Outcome, RunRecord, Timed};
use stagescope_plan::{BuildEvent, BuilderKind};

/// Log text kept per record; beyond it log lines are counted, not kept.
pub(crate) const MAX_LOG_BYTES: u64 = 4 << 20;

/// What is gathered beside the build, off its path: the digests of the context files
/// COPY/ADD read and the earlier runs (newest first).
pub struct Background {
    pub inputs: BTreeMap<String, FileMark>,
    pub inputs_truncated: bool,
    pub previous: Vec<RunRecord>,
}

pub struct Recorder {
    rec: RunRecord,
    previous: Vec<Known>,
    /// The background facts, until the first miss (or the end) needs them.
    pending: Option<Receiver<Background>>,
    ran: BTreeSet<(usize, usize)>,
    start: Instant,
    log_bytes: u64,
}

impl Recorder {
    /// `rec` holds the run's facts (no events yet); `previous` are earlier runs of the same
    /// Dockerfile, newest first.
    pub fn new(rec: RunRecord, previous: Vec<RunRecord>) -> Recorder {
        Recorder {
            rec,
            previous: previous.into_iter().map(Known::from).collect(),
            pending: None,
            ran: BTreeSet::new(),
            start: Instant::now(),
            log_bytes: 0,
        }
    }

    /// A recorder whose inputs and earlier runs arrive on `facts` while the build runs: a
    /// build that misses nothing never waits for them.
    pub fn pending(rec: RunRecord, facts: Receiver<Background>) -> Recorder {
        Recorder {
            pending: Some(facts),
            ..Recorder::new(rec, Vec::new())
        }
    }

    /// Waits for the background facts, once. On a multi-threaded runtime the worker hands
    /// its other tasks (the build session's connection among them) to the others meanwhile.
    fn ready(&mut self) {
        let Some(rx) = self.pending.take() else {
            return;
        };
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let got = if multi {
            tokio::task::block_in_place(|| rx.recv())
        } else {
            rx.recv()
        };
        if let Ok(b) = got {
            self.rec.inputs = b.inputs;
            self.rec.inputs_truncated = b.inputs_truncated;
            self.previous = b.previous.into_iter().map(Known::from).collect();
        }
    }

    pub fn record(&self) -> &RunRecord {
        &self.rec
    }

    /// Keeps `ev`. For an instruction that ran, returns the [`BuildEvent::CacheMiss`] that
    /// says why, to be delivered before `ev`.
    pub fn on_event(&mut self, ev: &BuildEvent) -> Option<BuildEvent> {
        let at_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.on_event_at(ev, at_ms)
    }

    /// [`Recorder::on_event`] for an event whose time is known: `at_ms` after the run began
    /// (a run replayed from somewhere else's record).
    pub fn on_event_at(&mut self, ev: &BuildEvent, at_ms: u64) -> Option<BuildEvent> {
        let mut miss = None;
        match ev {
            BuildEvent::InstructionFinished {
                stage,
                instruction,
                cached: false,
                ..
            } if *instruction > 0 && !self.settled(*stage, *instruction) => {
                self.ran.insert((*stage, *instruction));
                self.ready();
                let m = reasons::find(&self.rec, &self.ran, &self.previous, *stage, *instruction);
                let e = BuildEvent::CacheMiss {
                    stage: *stage,
                    instruction: *instruction,
                    miss: m,
                };
                self.rec.events.push(Timed {
                    at_ms,
                    event: e.clone(),
                });
                miss = Some(e);
            }
            BuildEvent::BuildStarted { builder, .. } => self.rec.builder = Some(*builder),
            BuildEvent::Log { text, .. } => {
                let n = text.len() as u64;
                if self.log_bytes + n > MAX_LOG_BYTES {
                    self.rec.log_bytes_dropped += n;
                    return None;
                }
                self.log_bytes += n;
            }
            _ => {}
        }
        self.rec.events.push(Timed {
            at_ms,
            event: ev.clone(),
        });
        miss
    }

    /// BuildKit runs nothing for a metadata instruction (no vertex): its badge is settled
    /// from its neighbours, and there is no miss to explain.
    fn settled(&self, stage: usize, instruction: usize) -> bool {
        self.rec.builder == Some(BuilderKind::Buildkit)
            && self
                .rec
                .plan
                .stages
                .get(stage)
                .and_then(|s| s.instructions.get(instruction))
                .is_some_and(|i| i.is_metadata())
    }

    /// The finished record: outcome from the events; wall time up to the build's end (a
    /// front end may stay open long after), else up to now.
    pub fn finish(mut self) -> RunRecord {
        self.ready();
        let end = self.rec.events.iter().rev().find_map(|t| {
            matches!(
                t.event,
                BuildEvent::BuildFinished { .. } | BuildEvent::BuildFailed { .. }
            )
            .then_some(t.at_ms)
        });
        self.rec.wall_ms = end
            .unwrap_or_else(|| u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX));
        let st = self.rec.state();
        self.rec.outcome = if st.failure.is_some() {
            Outcome::Failed
        } else if st.finished.is_some() {
            Outcome::Built
        } else {
            Outcome::Interrupted
        };
        self.rec
    }
}
