//! The receiving end of BuildKit's tar exporter: the daemon calls the session's
//! `moby.filesync.v1.FileSend/DiffCopy` and streams the tar of the solved filesystem as
//! plain byte messages, which go to whoever asked for that export.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bollard_buildkit_proto::moby::filesync::v1::BytesMessage;
use bollard_buildkit_proto::moby::filesync::v1::file_send_server::FileSend;
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

/// One chunk of an export, or why it stopped short.
pub(crate) type Chunk = Result<Bytes, String>;

/// Where the next export's bytes go. BuildKit names no export in the call, so one session
/// receives one export at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExportTarget(Arc<Mutex<Option<mpsc::Sender<Chunk>>>>);

impl ExportTarget {
    /// The receiver of the next export's bytes.
    pub(crate) fn expect(&self) -> mpsc::Receiver<Chunk> {
        let (tx, rx) = mpsc::channel(16);
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(tx);
        }
        rx
    }

    pub(crate) fn forget(&self) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }
}

type Out = Pin<Box<dyn Stream<Item = Result<BytesMessage, Status>> + Send>>;

#[tonic::async_trait]
impl FileSend for ExportTarget {
    type DiffCopyStream = Out;

    async fn diff_copy(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Out>, Status> {
        let sink = self
            .0
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| Status::failed_precondition("this session expects no export"))?;
        let mut incoming = request.into_inner();
        // Read to the end before answering: the daemon closes its side when the tar is
        // written, and our (empty) answer then ends the call.
        loop {
            match incoming.message().await {
                Ok(Some(m)) => {
                    if sink.send(Ok(Bytes::from(m.data))).await.is_err() {
                        return Err(Status::cancelled("the export is no longer wanted"));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = sink.send(Err(e.message().to_string())).await;
                    return Err(e);
                }
            }
        }
        Ok(Response::new(Box::pin(futures_util::stream::empty())))
    }
}
