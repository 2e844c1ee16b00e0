//! A record's events: its status stream (replayed, or followed while the build runs) cut
//! into moments and mapped to the BuildEvents of a live build, placed by the record's
//! source map when it has one.

use std::collections::HashMap;

use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;

use super::Buildkit;
use super::history::{HistoryRecord, unix_ms};
use crate::buildkit::VertexMapper;
use crate::error::EngineError;
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

/// A status message cut into one message per moment, in time order: each vertex's start,
/// its end (a replayed record sends a vertex started and completed at once), each log
/// chunk. Updates without a time (waiting vertexes) come first.
fn moments(m: &StatusResponse) -> Vec<(Option<u64>, StatusResponse)> {
    let mut out = Vec::new();
    for v in &m.vertexes {
        if let (Some(_), Some(_)) = (&v.started, &v.completed) {
            let mut started = v.clone();
            started.completed = None;
            started.error.clear();
            out.push((
                unix_ms(&v.started),
                StatusResponse {
                    vertexes: vec![started],
                    ..StatusResponse::default()
                },
            ));
        }
        let at = unix_ms(&v.completed).or_else(|| unix_ms(&v.started));
        out.push((
            at,
            StatusResponse {
                vertexes: vec![v.clone()],
                ..StatusResponse::default()
            },
        ));
    }
    for l in &m.logs {
        out.push((
            unix_ms(&l.timestamp),
            StatusResponse {
                logs: vec![l.clone()],
                ..StatusResponse::default()
            },
        ));
    }
    out.sort_by_key(|(at, _)| at.map_or(0, |t| t.saturating_add(1)));
    out
}

impl Buildkit {
    /// What build `rec` did, as the events of a build stagescope runs, each with its time in
    /// milliseconds after the build began: replayed from the record, or followed until the
    /// build ends when it still runs. `lines` is the record's source map (vertex digest:
    /// Dockerfile lines); without one, vertexes are placed by their labels. Returns the
    /// record as it stands once the events end.
    pub async fn record_events(
        &self,
        rec: &HistoryRecord,
        plan: BuildPlan,
        lines: Option<&HashMap<String, Vec<u32>>>,
        mut on: impl FnMut(u64, BuildEvent),
    ) -> Result<HistoryRecord, EngineError> {
        let mut mapper = match lines {
            Some(l) => VertexMapper::with_source_lines(plan, l),
            None => VertexMapper::new(plan),
        };
        let start = rec.created_ms.unwrap_or(0);
        let since =
            |at: Option<u64>, last: u64| at.map_or(last, |t| t.saturating_sub(start).max(last));
        on(
            0,
            BuildEvent::BuildStarted {
                builder: BuilderKind::Buildkit,
                build_id: rec.r#ref.clone(),
            },
        );
        let mut last = 0;
        let mut failed_vertexes = Vec::new();
        self.record_status(&rec.r#ref, |m| {
            for (at, part) in moments(m) {
                last = since(at, last);
                failed_vertexes.extend(
                    part.vertexes
                        .iter()
                        .filter(|v| !v.error.is_empty())
                        .cloned(),
                );
                for ev in mapper.on_status(&part) {
                    on(last, ev);
                }
            }
        })
        .await?;
        // A build that ran to its end while followed: its record now says how it ended.
        let end = if rec.active() {
            self.find_record(&rec.r#ref).await?
        } else {
            rec.clone()
        };
        let end_ms = end.duration_ms().unwrap_or(last).max(last);
        match &end.error {
            Some(e) => on(end_ms, mapper.failure(&e.message, &failed_vertexes)),
            None => {
                for ev in mapper.settle_needed_stages() {
                    on(end_ms, ev);
                }
                on(
                    end_ms,
                    BuildEvent::BuildFinished {
                        image: end.image_names.first().cloned(),
                        duration_ms: end_ms,
                    },
                );
            }
        }
        Ok(end)
    }
}
