//! Plain HTTP/1.1 to the engine on a connection of our own: bollard keeps its upgrade and
//! raw-request helpers private, and its BuildKit `build_image` opens a session of its own
//! under the build's session id, which would race ours. Unix sockets (and so ssh://, which
//! reaches the engine through a local socket), plain tcp and tcp with TLS
//! (`DOCKER_CERT_PATH`'s ca.pem, cert.pem, key.pem) are spoken here.

use std::pin::Pin;

use bollard::models::BuildInfo;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use rustls_pki_types::ServerName;

use crate::connect::Engine;
use crate::tls::{TlsFiles, tls_connector};

/// A byte stream to the engine.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
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
    pub fn for_engine(engine: &Engine) -> Option<Dialer> {
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

    async fn dial(&self) -> std::io::Result<Box<dyn Io>> {
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
pub fn api_path(engine: &Engine, path: &str) -> String {
    format!("/v{}{path}", engine.api_version)
}

/// `POST /build` with an empty body (the context comes through the session) and its JSON
/// stream, item by item, as bollard's `build_image` would yield it.
pub fn build(
    dialer: Dialer,
    path_and_query: String,
) -> Pin<Box<dyn Stream<Item = Result<BuildInfo, bollard::errors::Error>> + Send>> {
    use bollard::errors::Error as E;
    let io_err = |e: String| E::IOError {
        err: std::io::Error::other(e),
    };
    let start = async move {
        let req = Request::post(path_and_query)
            .header("Host", "docker")
            .header("Content-Type", "application/x-tar")
            .body(Empty::<Bytes>::new())
            .map_err(|e| io_err(e.to_string()))?;
        let resp = dialer.send(req).await.map_err(io_err)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message")?.as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
            return Err(E::DockerResponseServerError {
                status_code: status.as_u16(),
                message,
            });
        }
        Ok(resp.into_body())
    };
    let stream = futures_util::stream::once(start).flat_map(|body| match body {
        Err(e) => futures_util::stream::iter(vec![Err(e)]).boxed(),
        Ok(body) => json_items(body).boxed(),
    });
    Box::pin(stream)
}

/// The engine's stream of JSON objects, split wherever the chunks fall.
fn json_items(body: Incoming) -> impl Stream<Item = Result<BuildInfo, bollard::errors::Error>> {
    futures_util::stream::unfold(
        (body, Vec::<u8>::new(), false),
        |(mut body, mut buf, done)| async move {
            loop {
                let mut items = serde_json::Deserializer::from_slice(&buf).into_iter::<BuildInfo>();
                match items.next() {
                    Some(Ok(info)) => {
                        let used = items.byte_offset();
                        buf.drain(..used);
                        return Some((Ok(into_result(info)), (body, buf, done)));
                    }
                    Some(Err(e)) if !e.is_eof() => {
                        let err = bollard::errors::Error::JsonSerdeError { err: e };
                        return Some((Err(err), (body, Vec::new(), true)));
                    }
                    _ if done => return None,
                    _ => {}
                }
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            buf.extend_from_slice(&data);
                        }
                    }
                    Some(Err(e)) => {
                        let err = bollard::errors::Error::HyperResponseError { err: e };
                        return Some((Err(err), (body, Vec::new(), true)));
                    }
                    None => {
                        if buf.iter().all(u8::is_ascii_whitespace) {
                            return None;
                        }
                        return Some((
                            Err(bollard::errors::Error::IOError {
                                err: std::io::Error::new(
                                    std::io::ErrorKind::UnexpectedEof,
                                    "the engine's answer stopped mid-message",
                                ),
                            }),
                            (body, Vec::new(), true),
                        ));
                    }
                }
            }
        },
    )
    .map(|r| r.and_then(|x| x))
}

/// An `errorDetail` in the stream is the build's failure, as bollard reports it.
fn into_result(info: BuildInfo) -> Result<BuildInfo, bollard::errors::Error> {
    match info.error_detail.as_ref().and_then(|d| d.message.clone()) {
        Some(error) => Err(bollard::errors::Error::DockerStreamError { error }),
        None => Ok(info),
    }
}
