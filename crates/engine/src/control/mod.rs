//! Builds on any BuildKit through its Control API, as `buildctl` and buildx drive it: a
//! daemon on a unix socket, on tcp (with mutual TLS), or the engine's own through `/grpc`.
//! The context goes through a session carried by the same connection; the solve's status
//! stream feeds the same vertex mapper as an engine build; a state's filesystem comes back
//! through the tar exporter ([`build`]).

pub mod addr;
pub mod build;
mod content;
mod dial;
pub mod history;
pub mod provenance;
mod record_error;
mod record_events;

use std::collections::HashMap;
use std::time::Duration;

use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use bollard_buildkit_proto::moby::buildkit::v1::{
    InfoRequest, ListWorkersRequest, SolveRequest, StatusRequest, StatusResponse,
};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::connect::{Engine, with_causes};
use super::error::EngineError;
use super::filesync::ContextSession;
use crate::request::BuildRequest;
use addr::BuildkitAddr;

/// Status messages carry whole vertex logs: far above gRPC's 4 MiB default.
pub(crate) const MAX_MESSAGE: usize = 64 * 1024 * 1024;
pub(crate) const ANSWER: Duration = Duration::from_secs(10);

/// A BuildKit daemon that answered.
#[derive(Debug, Clone)]
pub struct Buildkit {
    pub addr: BuildkitAddr,
    client: ControlClient<Channel>,
    /// The same connection, for the content store the Control API serves beside it.
    channel: Channel,
    /// "v0.12.5", when the daemon says (BuildKit before 0.11 has no Info call).
    version: Option<String>,
    /// The engine `docker` goes through.
    engine: Option<Engine>,
}

/// A gRPC status as one line: its message and what lies under it (a refused certificate, a
/// closed connection).
fn status_line(s: &tonic::Status) -> String {
    let msg = s.message().lines().next().unwrap_or("").trim().to_string();
    let under = std::error::Error::source(s)
        .map(with_causes)
        .unwrap_or_default();
    match (msg.is_empty(), under.is_empty()) {
        (false, true) => msg,
        (true, false) => under,
        (true, true) => format!("{:?}", s.code()),
        (false, false) if msg.contains(&under) => msg,
        (false, false) if under.starts_with(&msg) => under,
        (false, false) => format!("{msg}: {under}"),
    }
}

/// What to do about a refused TLS handshake, when that is what happened.
fn tls_hint(why: &str) -> &'static str {
    if why.contains("CertificateRequired") || why.contains("BadCertificate") {
        "; the builder wants a client certificate it trusts (--buildkit-tls-cert, --buildkit-tls-key)"
    } else if why.contains("UnknownIssuer") || why.contains("invalid peer certificate") {
        "; --buildkit-tls-ca must hold the CA that signed the builder's certificate (and --buildkit-tls-servername its name)"
    } else {
        ""
    }
}

/// Whether a failed solve means the connection, not the build, failed.
fn connection_lost(s: &tonic::Status) -> bool {
    matches!(s.code(), tonic::Code::Unavailable | tonic::Code::Cancelled)
        || (s.code() == tonic::Code::Unknown && std::error::Error::source(s).is_some())
        || s.message().contains("transport")
}

/// What one solve asks for.
pub(crate) struct SolveSpec<'a> {
    pub req: &'a BuildRequest,
    pub session: &'a ContextSession,
    /// A Dockerfile cut after an instruction, served from the session; None: the real one.
    pub dockerfile_text: Option<&'a str>,
    pub target: Option<String>,
    /// `tar`, `moby` (the engine's image store, `docker` only), or none: the result stays in
    /// the builder's cache.
    pub exporter: Option<(&'static str, HashMap<String, String>)>,
}

impl Buildkit {
    /// Connects and asks the daemon for its workers: an address that does not speak
    /// BuildKit's API fails here, in one line.
    pub async fn connect(addr: BuildkitAddr, engine: Option<Engine>) -> Result<Buildkit, String> {
        let channel = dial::channel(&addr, engine.as_ref())
            .await
            .map_err(|e| format!("cannot reach BuildKit at {addr}: {e}{}", tls_hint(&e)))?;
        let mut client = ControlClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        let workers =
            tokio::time::timeout(ANSWER, client.list_workers(ListWorkersRequest::default()))
                .await
                .map_err(|_| {
                    format!(
                        "BuildKit at {addr} did not answer in {} s",
                        ANSWER.as_secs()
                    )
                })?
                .map_err(|s| {
                    let why = status_line(&s);
                    format!("BuildKit at {addr}: {why}{}", tls_hint(&why))
                })?;
        if workers.get_ref().record.is_empty() {
            return Err(format!("BuildKit at {addr} has no workers to build with"));
        }
        let version = match tokio::time::timeout(ANSWER, client.info(InfoRequest {})).await {
            Ok(Ok(info)) => info
                .into_inner()
                .buildkit_version
                .map(|v| v.version)
                .filter(|v| !v.is_empty()),
            _ => None,
        };
        Ok(Buildkit {
            addr,
            client,
            channel,
            version,
            engine,
        })
    }

    /// "BuildKit v0.12.5 at tcp://10.0.0.2:1234", "BuildKit of docker 20.10.24 (API 1.41)".
    pub fn describe(&self) -> String {
        let version = self
            .version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default();
        match (&self.addr, &self.engine) {
            (BuildkitAddr::Docker, Some(e)) => format!("BuildKit{version} of {}", e.describe()),
            (addr, _) => format!("BuildKit{version} at {addr}"),
        }
    }

    /// Opens a session carrying `ctx` (and the request's secrets and agents).
    pub async fn session(
        &self,
        ctx: &stagescope_context::BuildContext,
        req: &BuildRequest,
    ) -> Result<ContextSession, EngineError> {
        ContextSession::over_control(&self.client, ctx, &req.grants).await
    }

    /// One solve with the Dockerfile frontend; `on_status` sees the status stream as it
    /// comes. Ok(Some(why)) is a build that failed; Err, a builder that could not be asked
    /// or dropped the connection.
    pub(crate) async fn solve(
        &self,
        spec: SolveSpec<'_>,
        mut on_status: impl FnMut(&StatusResponse),
    ) -> Result<Option<String>, EngineError> {
        let r#ref = uuid::Uuid::new_v4().simple().to_string();
        let attrs = frontend_attrs(&spec);
        let (exporter, exporter_attrs) = spec.exporter.unwrap_or_default();
        let request = SolveRequest {
            r#ref: r#ref.clone(),
            session: spec.session.id().to_string(),
            frontend: "dockerfile.v0".into(),
            frontend_attrs: attrs,
            exporter_deprecated: exporter.to_string(),
            exporter_attrs_deprecated: exporter_attrs,
            ..SolveRequest::default()
        };
        let (st_tx, mut st_rx) = mpsc::unbounded_channel();
        let mut status_client = self.client.clone();
        let status_ref = r#ref.clone();
        // Status and solve run side by side, as buildctl runs them: the daemon answers the
        // status call only once the solve it names exists.
        let status = tokio::spawn(async move {
            let Ok(resp) = status_client
                .status(StatusRequest { r#ref: status_ref })
                .await
            else {
                return;
            };
            let mut stream = resp.into_inner();
            while let Ok(Some(m)) = stream.message().await {
                if st_tx.send(m).is_err() {
                    return;
                }
            }
        });
        let mut client = self.client.clone();
        let solve = client.solve(request);
        tokio::pin!(solve);
        let result = loop {
            tokio::select! {
                biased;
                Some(m) = st_rx.recv() => on_status(&m),
                r = &mut solve => break r,
            }
        };
        // The last vertexes' completion may still be on its way.
        let rest = async {
            while let Some(m) = st_rx.recv().await {
                on_status(&m);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), rest).await;
        status.abort();
        match result {
            Ok(_) => Ok(None),
            Err(s) if connection_lost(&s) => {
                let why = match spec.session.closed_because() {
                    Some(c) => format!("{} (the session ended: {c})", status_line(&s)),
                    None => status_line(&s),
                };
                Err(EngineError::Buildkit(format!(
                    "the connection to {} was lost mid-build: {why}",
                    self.addr
                )))
            }
            Err(s) => Ok(Some(s.message().trim().to_string())),
        }
    }
}

/// The Dockerfile frontend's options, as `docker buildx build` sends them.
fn frontend_attrs(spec: &SolveSpec<'_>) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    attrs.insert(
        "filename".to_string(),
        spec.session.dockerfile_for(spec.dockerfile_text),
    );
    if let Some(t) = &spec.target {
        attrs.insert("target".into(), t.clone());
    }
    for (k, v) in &spec.req.build_args {
        attrs.insert(format!("build-arg:{k}"), v.clone());
    }
    if let Some(p) = &spec.req.platform {
        attrs.insert("platform".into(), p.clone());
    }
    if spec.req.no_cache {
        attrs.insert("no-cache".into(), String::new());
    }
    attrs
}
