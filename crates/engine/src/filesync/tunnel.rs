//! A session carried by BuildKit's `Control/Session` call, as buildctl's grpchijack does: the
//! call's byte messages, both ways, are one connection on which we serve the session's
//! HTTP/2 (the daemon being the gRPC client inside it).

use bollard_buildkit_proto::moby::buildkit::v1::BytesMessage;
use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};

use crate::error::EngineError;

/// Bytes per message: BuildKit's own side uses 32 KiB too.
const CHUNK: usize = 32 * 1024;

/// Starts the call and returns our end of the connection. The call runs in the background:
/// the daemon may wait for our server's first frames before it answers, so serving must not
/// wait for the call's answer.
pub(super) async fn open(
    client: &ControlClient<tonic::transport::Channel>,
    headers: &[(&'static str, String)],
) -> Result<TokioIo<DuplexStream>, EngineError> {
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in headers {
        let key = AsciiMetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
            .map_err(|e| EngineError::Docker(format!("session header {k}: {e}")))?;
        // A directory name beyond ASCII is only a label: kept readable, not exact.
        let ascii: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let value = AsciiMetadataValue::try_from(ascii.as_str())
            .map_err(|e| EngineError::Docker(format!("session header {k}: {e}")))?;
        metadata.append(key, value);
    }
    let (ours, theirs) = tokio::io::duplex(4 * CHUNK);
    let (mut rd, mut wr) = tokio::io::split(theirs);
    let (tx, mut rx) = mpsc::channel::<BytesMessage>(16);
    tokio::spawn(async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let m = BytesMessage {
                        data: buf[..n].to_vec(),
                    };
                    if tx.send(m).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    let outbound = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut request = tonic::Request::new(outbound);
    *request.metadata_mut() = metadata;
    let mut client = client.clone();
    tokio::spawn(async move {
        // A refused call closes our end: the server sees the connection end, and a solve
        // naming this session fails saying the session is gone.
        let Ok(response) = client.session(request).await else {
            let _ = wr.shutdown().await;
            return;
        };
        let mut inbound = response.into_inner();
        while let Ok(Some(m)) = inbound.message().await {
            if wr.write_all(&m.data).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    Ok(TokioIo::new(ours))
}
