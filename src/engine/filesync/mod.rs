//! The BuildKit build session with the context in it, as the docker CLI runs it: the build
//! asks for `remote=client-session`, and the daemon pulls the `context` and `dockerfile`
//! directories through the session's FileSync service — only the files whose stat differs
//! from what it kept from the last sync with the same shared key. Several solves (the stage
//! images, a failure's state image) share one session, so the daemon syncs the context once:
//! BuildKit keys the local source by session.
//!
//! The session is a gRPC server we run over the engine's hijacked `/session` connection
//! (HTTP/1.1 upgraded to h2c, the daemon being the gRPC client).

mod provider;
pub mod walk;
pub mod wire;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bollard::models::BuildInfo;
use bollard_buildkit_proto::health::health_server::HealthServer;
use bollard_buildkit_proto::moby::filesync::packet::file_sync_server::FileSyncServer;
use bytes::Bytes;
use futures_util::Stream;
use http_body_util::Empty;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

use super::connect::Engine;
use super::context::BuildContext;
use super::error::EngineError;
use provider::{Dirs, FileSyncService, Health0};
use walk::SyncDir;
use wire::{Dialer, api_path};

/// The methods the session offers, announced when it opens (the daemon asks for no other).
const METHODS: [&str; 4] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/moby.filesync.v1.FileSync/DiffCopy",
    "/moby.filesync.v1.FileSync/TarStream",
];

/// An open session; closed (the daemon forgets it) when dropped.
#[derive(Debug)]
pub struct ContextSession {
    id: String,
    dialer: Dialer,
    dirs: Arc<Dirs>,
    dockerfile_name: String,
    server: tokio::task::JoinHandle<()>,
    /// Why the session's connection ended, once it has.
    closed: Arc<Mutex<Option<String>>>,
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
    /// bollard speaks (TLS) or `STAGESCOPE_BUILDKIT_CONTEXT=tar` asks for the old way (for
    /// comparing, or an engine whose sessions misbehave): such builds upload a tar.
    pub async fn open(engine: &Engine, ctx: &BuildContext) -> Result<Option<Self>, EngineError> {
        if std::env::var("STAGESCOPE_BUILDKIT_CONTEXT").is_ok_and(|v| v == "tar") {
            return Ok(None);
        }
        let Some(dialer) = Dialer::for_engine(engine) else {
            return Ok(None);
        };
        let dockerfile = ctx.dockerfile_path();
        let df_dir = dockerfile
            .parent()
            .unwrap_or(std::path::Path::new("/"))
            .to_path_buf();
        let dockerfile_name = dockerfile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into());
        let dirs = Arc::new(Dirs::default());
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
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = ctx
            .dir()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut req = hyper::Request::post(api_path(engine, "/session"))
            .header("Host", "docker")
            .header("Connection", "Upgrade")
            .header("Upgrade", "h2c")
            .header("X-Docker-Expose-Session-Uuid", &id)
            .header("X-Docker-Expose-Session-Name", name)
            .header("X-Docker-Expose-Session-Sharedkey", shared_key(ctx.dir()));
        for m in METHODS {
            req = req.header("X-Docker-Expose-Session-Grpc-Method", m);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| EngineError::Docker(format!("build session: {e}")))?;
        let resp = dialer
            .send(req)
            .await
            .map_err(|e| EngineError::Docker(format!("build session: {e}")))?;
        if resp.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
            return Err(EngineError::Docker(format!(
                "build session: the engine answered {} to the upgrade",
                resp.status()
            )));
        }
        let upgraded = hyper::upgrade::on(resp)
            .await
            .map_err(|e| EngineError::Docker(format!("build session: {e}")))?;
        let routes = tonic::service::Routes::new(HealthServer::new(Health0))
            .add_service(FileSyncServer::new(FileSyncService(dirs.clone())));
        let service = hyper_util::service::TowerToHyperService::new(routes);
        let closed = Arc::new(Mutex::new(None));
        let noted = closed.clone();
        let server = tokio::spawn(async move {
            // Ends when the daemon drops the session or we do; an error is kept to explain
            // a build that fails because the session went away.
            let r = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(upgraded, service)
                .await;
            let why = match r {
                Ok(()) => "the engine closed it".to_string(),
                Err(e) => e.to_string(),
            };
            if let Ok(mut slot) = noted.lock() {
                *slot = Some(why);
            }
        });
        Ok(Some(ContextSession {
            id,
            dialer,
            dirs,
            dockerfile_name,
            server,
            closed,
        }))
    }

    /// Why the session's connection ended, if it has: a build that fails with the daemon's
    /// "transport is closing" says this too.
    pub fn closed_because(&self) -> Option<String> {
        self.closed.lock().ok().and_then(|c| c.clone())
    }

    /// The session id to name in each build.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// File bytes sent so far (stats and protocol framing not counted).
    pub fn data_bytes(&self) -> u64 {
        self.dirs.sent.load(Ordering::Relaxed)
    }

    /// The Dockerfile to name in a build: the real one, or a file beside it that exists only
    /// in the session, holding `text` (a Dockerfile cut after an instruction). Each text gets
    /// its own name, so solves running at once each read their own.
    pub fn dockerfile_for(&self, text: Option<&str>) -> String {
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
        let path = format!("{}?{query}", api_path(engine, "/build"));
        wire::build(self.dialer.clone(), path)
    }
}
