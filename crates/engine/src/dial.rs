//! The one way stagescope opens a connection of its own to an engine or a BuildKit: bollard
//! keeps its upgrade and raw-request helpers private. Unix sockets (and so ssh://, which
//! reaches the engine through a local socket), plain tcp and tcp with TLS (an engine's
//! `DOCKER_CERT_PATH` ca.pem, cert.pem, key.pem; a BuildKit's mutual TLS) are spoken here,
//! HTTP/1.1 requests and the h2c upgrade that both the build session (`/session`) and
//! BuildKit's API behind the engine (`/grpc`) start with.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::connect::Engine;
use crate::tls::{TlsFiles, tls_connector};

/// A byte stream to the engine.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// How to open a connection to this engine, when we can.
#[derive(Clone)]
pub enum Dialer {
    Unix(std::path::PathBuf),
    Tcp(String),
    Tls(String, ServerName<'static>, tokio_rustls::TlsConnector),
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dialer::Unix(p) => write!(f, "Unix({})", p.display()),
            Dialer::Tcp(a) => write!(f, "Tcp({a})"),
            Dialer::Tls(a, n, _) => write!(f, "Tls({a}, {n:?})"),
        }
    }
}

impl Dialer {
    /// None for transports left to bollard (named pipes, TLS material we cannot read).
    pub(crate) fn for_engine(engine: &Engine) -> Option<Dialer> {
        if let Some(bridge) = &engine.ssh {
            return Some(Dialer::Unix(bridge.socket()));
        }
        let host = engine.endpoint.host.as_str();
        if let Some(path) = host.strip_prefix("unix://") {
            return Some(Dialer::Unix(path.into()));
        }
        let addr = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("https://"))?
            .trim_end_matches('/')
            .to_string();
        let Some(dir) = &engine.endpoint.tls else {
            return Some(Dialer::Tcp(addr));
        };
        let files = TlsFiles {
            ca: Some(dir.join("ca.pem")),
            cert: Some(dir.join("cert.pem")),
            key: Some(dir.join("key.pem")),
            server_name: None,
        };
        let host = match addr.rsplit_once(':') {
            Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
            None => addr.as_str(),
        };
        let name = ServerName::try_from(host.to_string()).ok()?;
        let tls = tls_connector(&files, b"http/1.1").ok()?;
        Some(Dialer::Tls(addr, name, tls))
    }

    pub(crate) async fn dial(&self) -> std::io::Result<Box<dyn Io>> {
        Ok(match self {
            Dialer::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
            Dialer::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a).await?),
            Dialer::Tls(a, name, tls) => {
                let tcp = tokio::net::TcpStream::connect(a).await?;
                Box::new(tls.connect(name.clone(), tcp).await?)
            }
        })
    }

    /// Sends `req` on a fresh connection that may later be upgraded.
    pub async fn send(
        &self,
        req: Request<Empty<Bytes>>,
    ) -> Result<hyper::Response<Incoming>, String> {
        let io = self.dial().await.map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // Ends with the response body or the upgraded stream; its error is the
            // request's.
            let _ = conn.with_upgrades().await;
        });
        sender.send_request(req).await.map_err(|e| e.to_string())
    }
}

/// The API path with the negotiated version in front.
pub(crate) fn api_path(engine: &Engine, path: &str) -> String {
    format!("/v{}{path}", engine.api_version)
}

/// Why an h2c upgrade did not happen.
#[derive(Debug)]
pub(crate) enum UpgradeError {
    /// The engine answered, but not `101 Switching Protocols`.
    Refused(hyper::StatusCode),
    /// No connection, or it broke.
    Io(String),
}

impl Dialer {
    /// `POST path` with `headers`, upgraded to h2c on a fresh connection: the stream the
    /// HTTP/2 side (our gRPC server for a session, a client for `/grpc`) then speaks on.
    pub(crate) async fn upgrade_h2c(
        &self,
        path: String,
        headers: Vec<(&'static str, String)>,
    ) -> Result<hyper::upgrade::Upgraded, UpgradeError> {
        let mut req = Request::post(path)
            .header("Host", "docker")
            .header("Connection", "Upgrade")
            .header("Upgrade", "h2c");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .map_err(|e| UpgradeError::Io(e.to_string()))?;
        let resp = self.send(req).await.map_err(UpgradeError::Io)?;
        if resp.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
            return Err(UpgradeError::Refused(resp.status()));
        }
        hyper::upgrade::on(resp)
            .await
            .map_err(|e| UpgradeError::Io(e.to_string()))
    }
}
