//! Recording a session's run into the history: the facts gathered before the build (what
//! each instruction's cache depends on, digests of the context files COPY/ADD read, base
//! image ids, earlier runs), every event on its way to the front end, each cache miss
//! explained as it happens, and the record written when the run ends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Events, Session, SessionError, SessionEvent};
use crate::history::Recorder;
use crate::history::facts::step_facts;
use crate::history::inputs::digest_inputs;
use crate::history::record::{FORMAT, Outcome, RunRecord};
use crate::history::recorder::Background;
use crate::history::store::{self, Store};
use stagescope_dockerfile::GraphOptions;
use stagescope_engine::fetch::image_id;

/// Earlier runs read to explain misses: the newest that finished each instruction counts.
const PREVIOUS_RUNS: usize = 3;

/// A run being recorded. Cloned handles share it.
#[derive(Clone)]
pub struct Recording {
    recorder: Arc<Mutex<Option<Recorder>>>,
    store: Option<Store>,
    file: Option<PathBuf>,
}

impl Session {
    /// Starts recording this session's run into the user's history (and into `file`).
    pub async fn start_recording(&self, file: Option<PathBuf>) -> Recording {
        self.start_recording_in(Store::user(), file).await
    }

    /// [`Session::start_recording`] into `store` (None: only `file`).
    pub(crate) async fn start_recording_in(
        &self,
        store: Option<Store>,
        file: Option<PathBuf>,
    ) -> Recording {
        let opts = GraphOptions {
            target: self.request.target.clone(),
            build_args: self.request.build_args.clone(),
            platform: self.request.platform.clone(),
        };
        let steps = step_facts(&self.dockerfile, &opts);
        let context = self.context.dir().to_path_buf();
        let dockerfile = self.context.dockerfile_path().to_path_buf();
        // Earlier runs and the digests are gathered beside the build; the first cache miss
        // (or the end) waits for them.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let (store, c, d) = (store.clone(), context.clone(), dockerfile.clone());
            let (ctx, steps) = (self.context.clone(), steps.clone());
            tokio::task::spawn_blocking(move || {
                let previous = store.map_or_else(Vec::new, |s| s.previous(&c, &d, PREVIOUS_RUNS));
                let known = previous.first().map(|r| &r.inputs);
                // A context that cannot be read fails the build itself, with its own message.
                let (inputs, inputs_truncated) =
                    digest_inputs(&ctx, &steps, known).unwrap_or_default();
                let _ = tx.send(Background {
                    inputs,
                    inputs_truncated,
                    previous,
                });
            });
        }
        // The base images' ids: each distinct base asked once, all at the same time.
        let bases: std::collections::BTreeSet<&str> = self
            .plan
            .stages
            .iter()
            .filter(|st| st.base_stage.is_none() && st.base != "scratch")
            .map(|st| st.base.as_str())
            .collect();
        let ids: std::collections::BTreeMap<&str, Option<String>> =
            futures_util::future::join_all(bases.into_iter().map(|b| async move {
                let id = match self.engine() {
                    Ok(engine) => image_id(engine, b).await.ok(),
                    Err(_) => None,
                };
                (b, id)
            }))
            .await
            .into_iter()
            .collect();
        let base_ids: Vec<Option<String>> = self
            .plan
            .stages
            .iter()
            .map(|st| {
                st.base_stage
                    .is_none()
                    .then(|| ids.get(st.base.as_str()).cloned().flatten())
                    .flatten()
            })
            .collect();
        let rec = RunRecord {
            format: FORMAT,
            id: self.build_id.clone(),
            started_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0)),
            context,
            dockerfile,
            dockerfile_text: self.dockerfile.source().to_string(),
            target: self.request.target.clone(),
            build_args: self.request.build_args.clone(),
            platform: self.request.platform.clone(),
            no_cache: self.request.no_cache,
            builder: None,
            engine: self.engine_label(),
            plan: self.plan.clone(),
            steps,
            base_ids,
            inputs: Default::default(),
            inputs_truncated: false,
            events: Vec::new(),
            log_bytes_dropped: 0,
            outcome: Outcome::Interrupted,
            wall_ms: 0,
        };
        Recording {
            recorder: Arc::new(Mutex::new(Some(Recorder::pending(rec, rx)))),
            store,
            file,
        }
    }
}

impl Recording {
    /// Events that are recorded, and preceded by the reason of each cache miss, on their
    /// way to `inner`.
    pub fn wrap(&self, inner: Events) -> Events {
        let rec = self.recorder.clone();
        Events::new(move |ev| {
            if let SessionEvent::Build(b) = &ev {
                let miss = rec
                    .lock()
                    .ok()
                    .and_then(|mut r| r.as_mut().and_then(|r| r.on_event(b)));
                if let Some(m) = miss {
                    inner.build(m);
                }
            }
            inner.send(ev);
        })
    }

    /// Ends the recording (later calls do nothing) and writes it: into the history, and into
    /// the `--record` file. Returns where it went, or why it could not be written.
    pub fn finish(&self) -> Result<Vec<PathBuf>, SessionError> {
        let Some(r) = self.recorder.lock().ok().and_then(|mut r| r.take()) else {
            return Ok(Vec::new());
        };
        let rec = r.finish();
        let mut written = Vec::new();
        if let Some(s) = &self.store {
            let p = s.save(&rec).map_err(SessionError::History)?;
            written.push(p);
        }
        if let Some(f) = &self.file {
            store::write_file(&rec, f).map_err(|source| SessionError::RecordFile {
                path: f.clone(),
                source,
            })?;
            written.push(f.clone());
        }
        Ok(written)
    }
}
