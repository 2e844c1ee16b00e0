//! The BuildKit build session with the context in it, as the docker CLI runs it: the build
//! asks for `remote=client-session`, and the daemon pulls the `context` and `dockerfile`
//! directories through the session's FileSync service — only the files whose stat differs
//! from what it kept from the last sync with the same shared key. Several solves (the stage
//! images, a failure's state image) share one session, so the daemon syncs the context once:
//! BuildKit keys the local source by session.
//!
//! The session is a gRPC server we run over the engine's hijacked `/session` connection
//! (HTTP/1.1 upgraded to h2c, the daemon being the gRPC client), or, with BuildKit's Control
//! API, over a `Control/Session` call ([`tunnel`]). Besides the files it offers the build's
//! secrets ([`secrets`]), ssh agents ([`agent`]) and receives tar exports ([`receive`]).

pub mod agent;
mod memory;
mod provider;
pub mod receive;
pub mod secrets;
mod tunnel;
pub mod walk;
pub mod wire;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bollard::models::BuildInfo;
use bollard_buildkit_proto::health::health_server::HealthServer;
use bollard_buildkit_proto::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use bollard_buildkit_proto::moby::buildkit::v1::control_client::ControlClient;
use bollard_buildkit_proto::moby::filesync::packet::file_sync_server::FileSyncServer;
use bollard_buildkit_proto::moby::filesync::v1::file_send_server::FileSendServer;
use bollard_buildkit_proto::moby::sshforward::v1::ssh_server::SshServer;
use futures_util::Stream;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

use super::connect::Engine;
use super::error::EngineError;
use crate::dial::{Dialer, UpgradeError, api_path};
use agent::{Agents, SshSpec};
use provider::{Dirs, FileSyncService, Health0};
use receive::ExportTarget;
use secrets::{SecretSpec, SecretStore};
use stagescope_context::BuildContext;
use walk::SyncDir;

/// The methods every session offers, announced when it opens (the daemon asks for no other).
const METHODS: [&str; 5] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSync/TarStream",
    "/moby.filesync.v1.FileSend/DiffCopy",
];
const SECRET_METHODS: [&str; 1] = ["/moby.buildkit.secrets.v1.Secrets/GetSecret"];
const SSH_METHODS: [&str; 2] = [
    "/moby.sshforward.v1.SSH/CheckAgent",
    "/moby.sshforward.v1.SSH/ForwardAgent",
];

/// The session connection's receive window (see `Offer::serve`).
const SESSION_WINDOW: u32 = 64 << 20;

/// What the user lets a build reach on this machine: secrets and ssh agents for its
/// `RUN --mount=type=secret|ssh`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub secrets: Vec<SecretSpec>,
    pub ssh: Vec<SshSpec>,
}

/// An open session; closed (the daemon forgets it) when dropped.
#[derive(Debug)]
pub struct ContextSession {
    id: String,
    /// The engine to send `/build` to, for a session opened on an engine.
    dialer: Option<Dialer>,
    dirs: Arc<Dirs>,
    dockerfile_name: String,
    export: ExportTarget,
    server: tokio::task::JoinHandle<()>,
    /// Why the session's connection ended, once it has.
    closed: Arc<Mutex<Option<String>>>,
}

/// What a session offers, before it is served on a connection.
struct Offer {
    id: String,
    name: String,
    shared_key: String,
    dirs: Arc<Dirs>,
    dockerfile_name: String,
    grants: Grants,
}

impl Offer {
    fn new(ctx: &BuildContext, grants: &Grants) -> Result<Offer, EngineError> {
        let dockerfile = ctx.dockerfile_path();
        let df_dir = dockerfile
            .parent()
            .unwrap_or(std::path::Path::new("/"))
            .to_path_buf();
        let dockerfile_name = dockerfile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into());
        let shared_key = shared_key(ctx.dir());
        let dirs = Arc::new(Dirs {
            memory: std::sync::Mutex::new(memory::SyncMemory::load(&shared_key)),
            ..Dirs::default()
        });
        {
            let mut map = dirs
                .dirs
                .lock()
                .map_err(|_| EngineError::Docker("session state".into()))?;
            let context = SyncDir {
                root: ctx.dir().to_path_buf(),
                reset_owner: true,
                virtual_files: BTreeMap::new(),
            };
            map.insert("context".into(), (context, ctx.dockerignore_patterns()));
            let df = SyncDir {
                root: df_dir,
                reset_owner: false,
                virtual_files: BTreeMap::new(),
            };
            map.insert("dockerfile".into(), (df, Vec::new()));
        }
        Ok(Offer {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: ctx
                .dir()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            shared_key,
            dirs,
            dockerfile_name,
            grants: grants.clone(),
        })
    }

    /// The session's headers as the daemon reads them when it opens (HTTP headers on the
    /// engine's `/session`, gRPC metadata on `Control/Session`).
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("X-Docker-Expose-Session-Uuid", self.id.clone()),
            ("X-Docker-Expose-Session-Name", self.name.clone()),
            ("X-Docker-Expose-Session-Sharedkey", self.shared_key.clone()),
        ];
        let mut methods: Vec<&str> = METHODS.to_vec();
        if !self.grants.secrets.is_empty() {
            methods.extend(SECRET_METHODS);
        }
        if !self.grants.ssh.is_empty() {
            methods.extend(SSH_METHODS);
        }
        out.extend(
            methods
                .into_iter()
                .map(|m| ("X-Docker-Expose-Session-Grpc-Method", m.to_string())),
        );
        out
    }

    /// Serves the session on `io` until either side drops it.
    fn serve<I>(self, io: I, dialer: Option<Dialer>) -> ContextSession
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let export = ExportTarget::default();
        let mut routes = tonic::service::Routes::new(HealthServer::new(Health0))
            .add_service(FileSyncServer::new(FileSyncService(self.dirs.clone())))
            .add_service(FileSendServer::new(export.clone()));
        if !self.grants.secrets.is_empty() {
            routes = routes.add_service(SecretsServer::new(SecretStore::new(&self.grants.secrets)));
        }
        if !self.grants.ssh.is_empty() {
            routes = routes.add_service(SshServer::new(Agents::new(&self.grants.ssh)));
        }
        let service = hyper_util::service::TowerToHyperService::new(routes);
        let closed = Arc::new(Mutex::new(None));
        let noted = closed.clone();
        let server = tokio::spawn(async move {
            // Ends when the daemon drops the session or we do; an error is kept to explain
            // a build that fails because the session went away.
            // The daemon asks for each file in a small message of its own: 100k files are
            // 100k small DATA frames. h2 (0.4.20 on) ends a connection whose small frames
            // wait unread beyond a budget of half the connection window — on a loaded
            // machine that ended 100k-file syncs ("too_many_data_frames"). A window as large
            // as the daemon's own lets them queue.
            let r = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .initial_connection_window_size(SESSION_WINDOW)
                .initial_stream_window_size(SESSION_WINDOW / 2)
                .serve_connection(io, service)
                .await;
            let why = match r {
                Ok(()) => "the daemon closed it".to_string(),
                // hyper's own words ("http2 error") say little: the causes say what broke.
                Err(e) => {
                    let mut why = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        why.push_str(&format!(": {c}"));
                        cause = c.source();
                    }
                    why
                }
            };
            if let Ok(mut slot) = noted.lock() {
                *slot = Some(why);
            }
        });
        ContextSession {
            id: self.id,
            dialer,
            dirs: self.dirs,
            dockerfile_name: self.dockerfile_name,
            export,
            server,
            closed,
        }
    }
}

impl Drop for ContextSession {
    fn drop(&mut self) {
        // Dropping the connection ends the session on the daemon's side.
        self.server.abort();
    }
}

/// Same directory, same key, across runs: the daemon finds what it kept from the last sync
/// (the docker CLI hashes the directory with a node id the same way).
fn shared_key(dir: &std::path::Path) -> String {
    hex::encode(Sha256::digest(
        format!("stagescope:{}", dir.display()).as_bytes(),
    ))
}

impl ContextSession {
    /// Opens a session offering `ctx`, or `None` when the engine's transport is one only
    /// bollard speaks (a named pipe, TLS files we cannot read) or
    /// `STAGESCOPE_BUILDKIT_CONTEXT=tar` asks for the old way (for comparing, or an engine
    /// whose sessions misbehave): such builds upload a tar.
    pub async fn open(
        engine: &Engine,
        ctx: &BuildContext,
        grants: &Grants,
    ) -> Result<Option<Self>, EngineError> {
        if std::env::var("STAGESCOPE_BUILDKIT_CONTEXT").is_ok_and(|v| v == "tar") {
            return Ok(None);
        }
        let Some(dialer) = Dialer::for_engine(engine) else {
            return Ok(None);
        };
        let offer = Offer::new(ctx, grants)?;
        let upgraded = dialer
            .upgrade_h2c(api_path(engine, "/session"), offer.headers())
            .await
            .map_err(|e| {
                EngineError::Docker(match e {
                    UpgradeError::Refused(status) => {
                        format!("build session: the engine answered {status} to the upgrade")
                    }
                    UpgradeError::Io(e) => format!("build session: {e}"),
                })
            })?;
        Ok(Some(offer.serve(upgraded, Some(dialer))))
    }

    /// Opens a session through BuildKit's Control API (`Control/Session`), as buildctl and
    /// buildx do: for builds solved with [`ControlClient::solve`] naming [`Self::id`].
    pub(crate) async fn over_control(
        client: &ControlClient<tonic::transport::Channel>,
        ctx: &BuildContext,
        grants: &Grants,
    ) -> Result<Self, EngineError> {
        let offer = Offer::new(ctx, grants)?;
        let io = tunnel::open(client, &offer.headers()).await?;
        Ok(offer.serve(io, None))
    }

    /// Where the next tar export of a solve naming this session arrives.
    pub(crate) fn export_target(&self) -> &ExportTarget {
        &self.export
    }

    /// Why the session's connection ended, if it has: a build that fails with the daemon's
    /// "transport is closing" says this too.
    pub(crate) fn closed_because(&self) -> Option<String> {
        self.closed.lock().ok().and_then(|c| c.clone())
    }

    /// The session id to name in each build.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Context file bytes sent so far (stats, framing and the Dockerfile not counted).
    pub(crate) fn data_bytes(&self) -> u64 {
        self.dirs.sent.load(Ordering::Relaxed)
    }

    /// Context files whose contents were sent so far.
    pub(crate) fn files_sent(&self) -> u64 {
        self.dirs.files_sent.load(Ordering::Relaxed)
    }

    /// The Dockerfile to name in a build: the real one, or a file beside it that exists only
    /// in the session, holding `text` (a Dockerfile cut after an instruction). Each text gets
    /// its own name, so solves running at once each read their own.
    pub(crate) fn dockerfile_for(&self, text: Option<&str>) -> String {
        let Some(text) = text else {
            return self.dockerfile_name.clone();
        };
        let tag = &hex::encode(Sha256::digest(text.as_bytes()))[..12];
        let name = format!("{}.stagescope-{tag}", self.dockerfile_name);
        if let Ok(mut map) = self.dirs.dirs.lock()
            && let Some((dir, _)) = map.get_mut("dockerfile")
        {
            dir.virtual_files
                .insert(name.clone(), Arc::from(text.as_bytes()));
        }
        name
    }

    /// Starts a build whose context is this session's: `options` as for bollard's
    /// `build_image`, sent with `remote=client-session` and this session's id.
    pub fn build(
        &self,
        engine: &Engine,
        mut options: bollard::query_parameters::BuildImageOptions,
    ) -> Pin<Box<dyn Stream<Item = Result<BuildInfo, bollard::errors::Error>> + Send>> {
        options.remote = Some("client-session".into());
        options.session = Some(self.id.clone());
        let query = match serde_urlencoded::to_string(&options) {
            Ok(q) => q,
            Err(e) => {
                let err = bollard::errors::Error::URLEncodedError { err: e };
                return Box::pin(futures_util::stream::iter([Err(err)]));
            }
        };
        let Some(dialer) = self.dialer.clone() else {
            let err = bollard::errors::Error::DockerStreamError {
                error: "this build session is not on an engine".into(),
            };
            return Box::pin(futures_util::stream::iter([Err(err)]));
        };
        let path = format!("{}?{query}", api_path(engine, "/build"));
        wire::build(dialer, path)
    }
}
