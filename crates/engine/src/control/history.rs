//! BuildKit's own record of the builds it ran (Control API `ListenBuildHistory`, BuildKit
//! 0.11 and later): buildx's, Compose's and stagescope's alike. A record's status stream is
//! replayed by `Status` with its ref (the daemon reads the record's log blob, or follows the
//! build while it runs); the provenance BuildKit writes for every build that produced a
//! result (mode=max) lies in the content store the Control API serves beside it, and holds
//! the Dockerfile and the source map.

use std::collections::BTreeMap;

use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1::{
    BuildHistoryEventType, BuildHistoryRecord, BuildHistoryRequest, StatusRequest, StatusResponse,
};

use super::record_error::record_error;
pub use super::record_error::{ErrorSource, RecordError};
use super::{ANSWER, Buildkit, status_line};
use crate::error::EngineError;

/// One build as BuildKit remembers it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryRecord {
    /// The solve's ref: what `buildx` prints as the last part of `buildx.build.ref`.
    pub r#ref: String,
    /// `dockerfile.v0`, `gateway.v0`…
    pub frontend: String,
    /// The frontend's options: `filename`, `target`, `build-arg:K`, `platform`, `no-cache`…
    pub attrs: BTreeMap<String, String>,
    /// Milliseconds since the Unix epoch.
    pub created_ms: Option<u64>,
    pub completed_ms: Option<u64>,
    pub error: Option<RecordError>,
    pub steps: u32,
    pub cached_steps: u32,
    pub completed_steps: u32,
    /// The digests of the record's provenance attestations (absent for a failed build).
    pub provenance: Vec<String>,
    /// Names the exporter gave the result (`image.name`), when it exported an image (a
    /// Docker engine's own builds do not say).
    pub image_names: Vec<String>,
    /// The result's digest: on a Docker engine, the id of the image it made.
    pub result_digest: Option<String>,
}

impl HistoryRecord {
    /// Still running: BuildKit has not completed it.
    pub fn active(&self) -> bool {
        self.completed_ms.is_none()
    }

    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.completed_ms?.saturating_sub(self.created_ms?))
    }

    /// The Dockerfile's name as the build asked for it (`Dockerfile` when it did not say).
    pub fn dockerfile_name(&self) -> Option<&str> {
        // Docker's own builds leave the frontend empty: the Dockerfile frontend.
        if !matches!(self.frontend.as_str(), "" | "dockerfile.v0") {
            return self.attrs.get("filename").map(String::as_str);
        }
        Some(
            self.attrs
                .get("filename")
                .map_or("Dockerfile", String::as_str),
        )
    }

    pub fn target(&self) -> Option<&str> {
        self.attrs
            .get("target")
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }

    pub fn build_args(&self) -> BTreeMap<String, String> {
        self.attrs
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("build-arg:")?.to_string(), v.clone())))
            .collect()
    }
}

pub(super) fn unix_ms(t: &Option<Timestamp>) -> Option<u64> {
    let t = t.as_ref()?;
    let ms = i128::from(t.seconds) * 1000 + i128::from(t.nanos) / 1_000_000;
    u64::try_from(ms).ok().filter(|ms| *ms > 0)
}

fn from_proto(r: BuildHistoryRecord) -> HistoryRecord {
    let provenance = r
        .result
        .iter()
        .chain(r.results.values())
        .flat_map(|res| res.attestations.iter())
        .map(|d| d.digest.clone())
        .collect();
    // The image exporter's `name` (tags, comma-separated), as the build asked for it.
    let image_names = r
        .exporters
        .iter()
        .filter_map(|e| e.attrs.get("name"))
        .chain(r.exporter_response.get("image.name"))
        .flat_map(|n| n.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .fold(Vec::new(), |mut all: Vec<String>, n| {
            if !all.iter().any(|a| a == n) {
                all.push(n.to_string());
            }
            all
        });
    let result_digest = r.result.as_ref().and_then(|res| {
        res.result_deprecated
            .as_ref()
            .or_else(|| res.results.values().next())
            .map(|d| d.digest.clone())
    });
    HistoryRecord {
        result_digest,
        created_ms: unix_ms(&r.created_at),
        completed_ms: unix_ms(&r.completed_at),
        error: r.error.as_ref().map(record_error),
        steps: r.num_total_steps.max(0) as u32,
        cached_steps: r.num_cached_steps.max(0) as u32,
        completed_steps: r.num_completed_steps.max(0) as u32,
        attrs: r.frontend_attrs.into_iter().collect(),
        r#ref: r.r#ref,
        frontend: r.frontend,
        provenance,
        image_names,
    }
}

/// The records a history stream leaves: a later event of a ref replaces an earlier one, a
/// deletion removes it. Newest first.
fn settle(events: impl IntoIterator<Item = (i32, BuildHistoryRecord)>) -> Vec<HistoryRecord> {
    let mut by_ref: BTreeMap<String, HistoryRecord> = BTreeMap::new();
    for (kind, rec) in events {
        if kind == BuildHistoryEventType::Deleted as i32 {
            by_ref.remove(&rec.r#ref);
        } else {
            let r = from_proto(rec);
            by_ref.insert(r.r#ref.clone(), r);
        }
    }
    let mut out: Vec<HistoryRecord> = by_ref.into_values().collect();
    out.sort_by(|a, b| {
        b.created_ms
            .cmp(&a.created_ms)
            .then_with(|| a.r#ref.cmp(&b.r#ref))
    });
    out
}

impl Buildkit {
    fn no_history(&self, s: &tonic::Status) -> EngineError {
        if s.code() == tonic::Code::Unimplemented {
            EngineError::NoHistory(self.describe())
        } else {
            EngineError::Buildkit(format!(
                "{}: build history: {}",
                self.describe(),
                status_line(s)
            ))
        }
    }

    /// Every record BuildKit keeps, the builds still running among them, newest first.
    pub async fn build_history(&self) -> Result<Vec<HistoryRecord>, EngineError> {
        let mut client = self.client.clone();
        let req = BuildHistoryRequest {
            early_exit: true,
            ..BuildHistoryRequest::default()
        };
        let call = tokio::time::timeout(ANSWER, client.listen_build_history(req))
            .await
            .map_err(|_| self.silent())?;
        let mut stream = call.map_err(|s| self.no_history(&s))?.into_inner();
        let mut events = Vec::new();
        loop {
            match tokio::time::timeout(ANSWER, stream.message()).await {
                Err(_) => return Err(self.silent()),
                Ok(Err(s)) => return Err(self.no_history(&s)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(ev))) => {
                    if let Some(rec) = ev.record {
                        events.push((ev.r#type, rec));
                    }
                }
            }
        }
        Ok(settle(events))
    }

    /// The record whose ref is `wanted`, or starts with it (one only).
    pub async fn find_record(&self, wanted: &str) -> Result<HistoryRecord, EngineError> {
        let all = self.build_history().await?;
        self.pick_record(&all, wanted)
    }

    /// The record of `all` (this BuildKit's) whose ref is `wanted`, or starts with it.
    pub fn pick_record(
        &self,
        all: &[HistoryRecord],
        wanted: &str,
    ) -> Result<HistoryRecord, EngineError> {
        pick_record(all, wanted)
            .cloned()
            .map_err(|e| EngineError::Buildkit(format!("{e} in {}", self.describe())))
    }

    fn silent(&self) -> EngineError {
        EngineError::Buildkit(format!(
            "{} did not answer in {} s",
            self.describe(),
            ANSWER.as_secs()
        ))
    }

    /// The status stream of build `r#ref`: replayed from its record when it has ended,
    /// followed live while it runs (the call returns when the build ends).
    pub async fn record_status(
        &self,
        r#ref: &str,
        mut on_status: impl FnMut(&StatusResponse),
    ) -> Result<(), EngineError> {
        let mut client = self.client.clone();
        let resp = client
            .status(StatusRequest {
                r#ref: r#ref.to_string(),
            })
            .await
            .map_err(|s| {
                EngineError::Buildkit(format!(
                    "the status of build {}: {}",
                    r#ref,
                    status_line(&s)
                ))
            })?;
        let mut stream = resp.into_inner();
        loop {
            match stream.message().await {
                Ok(Some(m)) => on_status(&m),
                Ok(None) => return Ok(()),
                Err(s) => {
                    return Err(EngineError::Buildkit(format!(
                        "the status of build {}: {}",
                        r#ref,
                        status_line(&s)
                    )));
                }
            }
        }
    }
}

/// The one record whose ref is `wanted` or starts with it.
fn pick_record<'a>(all: &'a [HistoryRecord], wanted: &str) -> Result<&'a HistoryRecord, String> {
    // buildx prints `builder/node/ref`: its last part is the ref.
    let wanted = wanted.rsplit('/').next().unwrap_or(wanted);
    if wanted.is_empty() {
        return Err("an empty build ref".into());
    }
    if let Some(r) = all.iter().find(|r| r.r#ref == wanted) {
        return Ok(r);
    }
    let mut hits = all.iter().filter(|r| r.r#ref.starts_with(wanted));
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(r),
        (Some(_), Some(_)) => Err(format!(
            "build ref {wanted:?} is ambiguous: more than one record starts with it"
        )),
        (None, _) => Err(format!("no build record {wanted:?}")),
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
