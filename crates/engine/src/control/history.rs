//! BuildKit's own record of the builds it ran (Control API `ListenBuildHistory`, BuildKit
//! 0.11 and later): buildx's, Compose's and stagescope's alike. A record's status stream is
//! replayed by `Status` with its ref (the daemon reads the record's log blob, or follows the
//! build while it runs); the provenance BuildKit writes for every build that produced a
//! result (mode=max) lies in the content store the Control API serves beside it, and holds
//! the Dockerfile and the source map.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1::{
    BuildHistoryEventType, BuildHistoryRecord, BuildHistoryRequest, StatusRequest, StatusResponse,
};
use bollard_buildkit_proto::pb;
use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;

use super::{ANSWER, Buildkit, MAX_MESSAGE, status_line};
use crate::buildkit::VertexMapper;
use crate::error::EngineError;
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

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

/// Why a recorded build failed, with where, when BuildKit says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordError {
    /// The gRPC code: 1 for a build its client cancelled.
    pub code: i32,
    pub message: String,
    /// The source the error points into: its name, its bytes, and the lines (1-based).
    pub source: Option<ErrorSource>,
    /// The vertex that failed.
    pub vertex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorSource {
    pub filename: String,
    pub data: Vec<u8>,
    pub lines: Vec<(u32, u32)>,
}

/// `moby.buildkit.v1.errdefs.Source`, a detail of a solve error.
#[derive(Clone, PartialEq, Message)]
struct SourceDetail {
    #[prost(message, optional, tag = "1")]
    info: Option<pb::SourceInfo>,
    #[prost(message, repeated, tag = "2")]
    ranges: Vec<pb::Range>,
}

/// `moby.buildkit.v1.errdefs.Vertex`.
#[derive(Clone, PartialEq, Message)]
struct VertexDetail {
    #[prost(string, tag = "1")]
    digest: String,
}

/// containerd's `ReadContentRequest`.
#[derive(Clone, PartialEq, Message)]
struct ReadContentRequest {
    #[prost(string, tag = "1")]
    digest: String,
    #[prost(int64, tag = "2")]
    offset: i64,
    #[prost(int64, tag = "3")]
    size: i64,
}

/// containerd's `ReadContentResponse`.
#[derive(Clone, PartialEq, Message)]
struct ReadContentResponse {
    #[prost(int64, tag = "1")]
    offset: i64,
    #[prost(bytes = "vec", tag = "2")]
    data: Vec<u8>,
}

const CONTENT_READ: &str = "/containerd.services.content.v1.Content/Read";

/// A provenance document is JSON of a few hundred kilobytes; a blob far beyond is not one.
const MAX_BLOB: usize = 64 << 20;

fn unix_ms(t: &Option<Timestamp>) -> Option<u64> {
    let t = t.as_ref()?;
    let ms = i128::from(t.seconds) * 1000 + i128::from(t.nanos) / 1_000_000;
    u64::try_from(ms).ok().filter(|ms| *ms > 0)
}

/// One error detail, protobuf or (as a record stores them, `…+json`) JSON.
fn detail(d: &bollard_buildkit_proto::google::protobuf::Any) -> Option<Detail> {
    let json = d.type_url.ends_with("+json");
    let kind = d.type_url.trim_end_matches("+json");
    if kind.ends_with("errdefs.Source") {
        let (info, ranges) = if json {
            let v: serde_json::Value = serde_json::from_slice(&d.value).ok()?;
            let info = v.get("info")?;
            let data = info.get("data").and_then(|d| d.as_str()).unwrap_or("");
            let line = |r: &serde_json::Value, end: &str| {
                r.pointer(&format!("/{end}/line"))
                    .and_then(serde_json::Value::as_u64)
                    .map_or(0, |l| u32::try_from(l).unwrap_or(0))
            };
            let ranges = v
                .get("ranges")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
                .map(|r| (line(r, "start"), line(r, "end")))
                .collect();
            (
                ErrorSource {
                    filename: info
                        .get("filename")
                        .and_then(|f| f.as_str())
                        .unwrap_or("")
                        .to_string(),
                    data: base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .ok()?,
                    lines: Vec::new(),
                },
                ranges,
            )
        } else {
            let s = SourceDetail::decode(d.value.as_slice()).ok()?;
            let info = s.info?;
            let line =
                |p: Option<pb::Position>| p.map_or(0, |p| u32::try_from(p.line).unwrap_or(0));
            (
                ErrorSource {
                    filename: info.filename,
                    data: info.data,
                    lines: Vec::new(),
                },
                s.ranges
                    .iter()
                    .map(|r| (line(r.start), line(r.end)))
                    .collect(),
            )
        };
        return Some(Detail::Source(ErrorSource {
            lines: ranges,
            ..info
        }));
    }
    if kind.ends_with("errdefs.Vertex") {
        let digest = if json {
            let v: serde_json::Value = serde_json::from_slice(&d.value).ok()?;
            v.get("digest")?.as_str()?.to_string()
        } else {
            VertexDetail::decode(d.value.as_slice()).ok()?.digest
        };
        return Some(Detail::Vertex(digest));
    }
    None
}

enum Detail {
    Source(ErrorSource),
    Vertex(String),
}

fn record_error(st: &bollard_buildkit_proto::google::rpc::Status) -> RecordError {
    let mut out = RecordError {
        code: st.code,
        message: st.message.trim().to_string(),
        ..RecordError::default()
    };
    for d in &st.details {
        match detail(d) {
            Some(Detail::Source(s)) => out.source = Some(s),
            Some(Detail::Vertex(v)) => out.vertex = Some(v),
            None => {}
        }
    }
    out
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

    /// Every record BuildKit keeps (or only those of builds still running), newest first.
    pub async fn build_history(
        &self,
        active_only: bool,
    ) -> Result<Vec<HistoryRecord>, EngineError> {
        let mut client = self.client.clone();
        let req = BuildHistoryRequest {
            active_only,
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
        let all = self.build_history(false).await?;
        pick_record(all, wanted)
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

    /// One blob of the content store BuildKit serves with its Control API.
    pub async fn read_blob(&self, digest: &str) -> Result<Vec<u8>, EngineError> {
        let fail = |why: String| EngineError::Buildkit(format!("reading blob {digest}: {why}"));
        let mut grpc =
            tonic::client::Grpc::new(self.channel.clone()).max_decoding_message_size(MAX_MESSAGE);
        grpc.ready().await.map_err(|e| fail(e.to_string()))?;
        let req = tonic::Request::new(ReadContentRequest {
            digest: digest.to_string(),
            offset: 0,
            size: 0,
        });
        let codec = tonic_prost::ProstCodec::<ReadContentRequest, ReadContentResponse>::default();
        let resp = grpc
            .server_streaming(req, PathAndQuery::from_static(CONTENT_READ), codec)
            .await
            .map_err(|s| fail(status_line(&s)))?;
        let mut stream = resp.into_inner();
        let mut out = Vec::new();
        while let Some(chunk) = stream.message().await.map_err(|s| fail(status_line(&s)))? {
            if usize::try_from(chunk.offset).ok() != Some(out.len()) {
                return Err(fail("chunks out of order".into()));
            }
            out.extend_from_slice(&chunk.data);
            if out.len() > MAX_BLOB {
                return Err(fail(format!("larger than {} MiB", MAX_BLOB >> 20)));
            }
        }
        Ok(out)
    }
}

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

/// The one record whose ref is `wanted` or starts with it.
pub fn pick_record(all: Vec<HistoryRecord>, wanted: &str) -> Result<HistoryRecord, String> {
    // buildx prints `builder/node/ref`: its last part is the ref.
    let wanted = wanted.rsplit('/').next().unwrap_or(wanted);
    if wanted.is_empty() {
        return Err("an empty build ref".into());
    }
    if let Some(r) = all.iter().find(|r| r.r#ref == wanted) {
        return Ok(r.clone());
    }
    let mut hits = all.into_iter().filter(|r| r.r#ref.starts_with(wanted));
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(r),
        (Some(_), Some(_)) => Err(format!(
            "build ref {wanted:?} is ambiguous: more than one record starts with it"
        )),
        (None, _) => Err(format!("no build record {wanted:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_buildkit_proto::google::protobuf::Any;
    use bollard_buildkit_proto::google::rpc::Status;

    fn rec(r: &str, created: i64) -> BuildHistoryRecord {
        BuildHistoryRecord {
            r#ref: r.into(),
            frontend: "dockerfile.v0".into(),
            created_at: Some(Timestamp {
                seconds: created,
                nanos: 0,
            }),
            ..BuildHistoryRecord::default()
        }
    }

    #[test]
    fn later_events_replace_earlier_and_deletions_remove() {
        let started = BuildHistoryEventType::Started as i32;
        let complete = BuildHistoryEventType::Complete as i32;
        let deleted = BuildHistoryEventType::Deleted as i32;
        let mut done = rec("a", 10);
        done.completed_at = Some(Timestamp {
            seconds: 12,
            nanos: 500_000_000,
        });
        let out = settle([
            (started, rec("a", 10)),
            (complete, rec("b", 20)),
            (complete, done),
            (complete, rec("c", 5)),
            (deleted, rec("c", 5)),
        ]);
        let refs: Vec<&str> = out.iter().map(|r| r.r#ref.as_str()).collect();
        assert_eq!(refs, ["b", "a"]);
        assert_eq!(out[1].duration_ms(), Some(2500));
        assert!(!out[1].active());
        assert!(out[0].active());
    }

    #[test]
    fn a_ref_is_found_whole_by_prefix_or_as_buildx_prints_it() {
        let all = settle([(1, rec("abc123", 1)), (1, rec("abd456", 2))]);
        assert_eq!(
            pick_record(all.clone(), "abc").map(|r| r.r#ref),
            Ok("abc123".into())
        );
        assert_eq!(
            pick_record(all.clone(), "default/default/abd456").map(|r| r.r#ref),
            Ok("abd456".into())
        );
        assert!(pick_record(all.clone(), "ab").is_err_and(|e| e.contains("ambiguous")));
        assert!(pick_record(all, "zz").is_err_and(|e| e.contains("no build record")));
    }

    #[test]
    fn a_failed_record_carries_its_source_lines_and_vertex() {
        let src = SourceDetail {
            info: Some(pb::SourceInfo {
                filename: "Dockerfile".into(),
                data: b"FROM busybox\nRUN false\n".to_vec(),
                ..pb::SourceInfo::default()
            }),
            ranges: vec![pb::Range {
                start: Some(pb::Position {
                    line: 2,
                    character: 0,
                }),
                end: Some(pb::Position {
                    line: 2,
                    character: 0,
                }),
            }],
        };
        let st = Status {
            code: 2,
            message: "process \"/bin/sh -c false\" did not complete successfully: exit code: 1"
                .into(),
            details: vec![
                Any {
                    type_url: "github.com/moby/buildkit/errdefs.Source".into(),
                    value: src.encode_to_vec(),
                },
                Any {
                    type_url: "github.com/moby/buildkit/errdefs.Vertex".into(),
                    value: VertexDetail {
                        digest: "sha256:ab".into(),
                    }
                    .encode_to_vec(),
                },
            ],
        };
        let e = record_error(&st);
        let s = e.source.expect("source");
        assert_eq!(s.lines, [(2, 2)]);
        assert_eq!(s.filename, "Dockerfile");
        assert_eq!(e.vertex.as_deref(), Some("sha256:ab"));
    }

    #[test]
    fn a_records_json_details_read_the_same() {
        // As BuildKit 0.13 stores a failed build's error in its record.
        let st = Status {
            code: 2,
            message: "exit code: 3".into(),
            details: vec![
                Any {
                    type_url: "github.com/moby/buildkit/stack.Stack+json".into(),
                    value: br#"{"frames":[]}"#.to_vec(),
                },
                Any {
                    type_url: "github.com/moby/buildkit/errdefs.Source+json".into(),
                    value: br#"{"info":{"filename":"Dockerfile","data":"RlJPTSBidXN5Ym94Cg==","language":"Dockerfile"},"ranges":[{"start":{"line":5},"end":{"line":6}}]}"#.to_vec(),
                },
                Any {
                    type_url: "github.com/moby/buildkit/errdefs.Vertex+json".into(),
                    value: br#"{"digest":"sha256:48"}"#.to_vec(),
                },
            ],
        };
        let e = record_error(&st);
        let s = e.source.expect("source");
        assert_eq!(s.lines, [(5, 6)]);
        assert_eq!(s.data, b"FROM busybox\n");
        assert_eq!(e.vertex.as_deref(), Some("sha256:48"));
    }
}
