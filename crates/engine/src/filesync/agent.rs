//! ssh-agent forwarding (`--ssh default`, `--ssh ID=SOCKET`, as `docker buildx build` spells
//! it): the session's `moby.sshforward.v1.SSH` service connects a `RUN --mount=type=ssh` to
//! an agent socket on this machine. Keys never leave the agent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;

use bollard_buildkit_proto::moby::sshforward::v1::ssh_server::Ssh;
use bollard_buildkit_proto::moby::sshforward::v1::{
    BytesMessage, CheckAgentRequest, CheckAgentResponse,
};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{Request, Response, Status, Streaming};

/// BuildKit's id when a mount names none.
const DEFAULT_ID: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSpec {
    pub id: String,
    pub socket: PathBuf,
}

impl SshSpec {
    /// `default` (the agent of `$SSH_AUTH_SOCK`), `ID=SOCKET`. Key files, which buildx also
    /// takes, are refused: load the key into an agent instead.
    pub fn parse(spec: &str) -> Result<SshSpec, String> {
        let (id, path) = match spec.split_once('=') {
            Some((id, path)) => (id.trim(), Some(path.trim())),
            None => (spec.trim(), None),
        };
        if id.is_empty() {
            return Err(format!("--ssh {spec:?}: no id (default, or ID=SOCKET)"));
        }
        let socket = match path {
            Some(p) if p.contains(',') => {
                return Err(format!("--ssh {spec}: one agent socket per id"));
            }
            Some(p) => PathBuf::from(p),
            None => std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    format!("--ssh {spec}: SSH_AUTH_SOCK is not set (start ssh-agent, or give {id}=SOCKET)")
                })?,
        };
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(&socket) {
            Ok(m) if m.file_type().is_socket() => {}
            Ok(_) => {
                return Err(format!(
                    "--ssh {spec}: {} is not an agent socket (key files are not taken: add the key to ssh-agent)",
                    socket.display()
                ));
            }
            Err(e) => return Err(format!("--ssh {spec}: {}: {e}", socket.display())),
        }
        Ok(SshSpec {
            id: id.to_string(),
            socket,
        })
    }
}

/// The agents a session offers, by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Agents(HashMap<String, PathBuf>);

impl Agents {
    pub(crate) fn new(specs: &[SshSpec]) -> Self {
        Agents(
            specs
                .iter()
                .map(|s| (s.id.clone(), s.socket.clone()))
                .collect(),
        )
    }

    fn socket(&self, id: &str) -> Result<&PathBuf, Status> {
        let id = if id.is_empty() { DEFAULT_ID } else { id };
        self.0
            .get(id)
            .ok_or_else(|| Status::not_found(format!("no ssh agent {id:?} given (--ssh {id})")))
    }
}

type Out = Pin<Box<dyn Stream<Item = Result<BytesMessage, Status>> + Send>>;

#[tonic::async_trait]
impl Ssh for Agents {
    type ForwardAgentStream = Out;

    async fn check_agent(
        &self,
        request: Request<CheckAgentRequest>,
    ) -> Result<Response<CheckAgentResponse>, Status> {
        self.socket(&request.get_ref().id)?;
        Ok(Response::new(CheckAgentResponse {}))
    }

    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Out>, Status> {
        let id = request
            .metadata()
            .get("buildkit.ssh.id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(DEFAULT_ID)
            .to_string();
        let socket = self.socket(&id)?.clone();
        let conn = tokio::net::UnixStream::connect(&socket)
            .await
            .map_err(|e| Status::unavailable(format!("ssh agent {}: {e}", socket.display())))?;
        let (mut rd, mut wr) = conn.into_split();
        let mut incoming = request.into_inner();
        // The build's agent requests go to the socket as they come; its answers come back
        // as messages, until either side ends.
        tokio::spawn(async move {
            while let Some(Ok(m)) = incoming.next().await {
                if wr.write_all(&m.data).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<BytesMessage, Status>>(16);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let m = BytesMessage {
                            data: buf[..n].to_vec(),
                        };
                        if tx.send(Ok(m)).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let out = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Response::new(Box::pin(out)))
    }
}
