//! Why a recorded build failed: the solve error BuildKit keeps in the record, with the
//! details that say where (the Dockerfile and its lines) and which vertex. A record stores
//! them as JSON (`…errdefs.Source+json`), a live solve as protobuf: both are read.

use base64::Engine as _;
use bollard_buildkit_proto::pb;
use prost::Message;

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
pub(super) struct SourceDetail {
    #[prost(message, optional, tag = "1")]
    pub(super) info: Option<pb::SourceInfo>,
    #[prost(message, repeated, tag = "2")]
    pub(super) ranges: Vec<pb::Range>,
}

/// `moby.buildkit.v1.errdefs.Vertex`.
#[derive(Clone, PartialEq, Message)]
pub(super) struct VertexDetail {
    #[prost(string, tag = "1")]
    pub(super) digest: String,
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

pub(super) fn record_error(st: &bollard_buildkit_proto::google::rpc::Status) -> RecordError {
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

#[cfg(test)]
#[path = "record_error_tests.rs"]
mod tests;
