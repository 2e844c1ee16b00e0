//! The content store BuildKit serves beside its Control API (read-only, the history's
//! namespace first): containerd's `Content/Read`, its two messages written out by hand.

use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;

use super::{Buildkit, MAX_MESSAGE, status_line};
use crate::error::EngineError;

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

impl Buildkit {
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
