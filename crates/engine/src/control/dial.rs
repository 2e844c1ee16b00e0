//! A gRPC channel to BuildKit's Control API: a unix socket, tcp (plain or mutual TLS, ALPN
//! h2 as grpc-go requires), or the engine's `/grpc` endpoint upgraded to h2c (what the docker
//! CLI's buildx docker driver speaks).

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tonic::transport::{Channel, Endpoint};

use super::addr::BuildkitAddr;
use crate::connect::Engine;
use crate::filesync::wire::{Dialer, Io, api_path};
use crate::tls::tls_connector;

/// How long reaching the daemon may take before the address is called unreachable.
const CONNECT: Duration = Duration::from_secs(5);

#[derive(Clone)]
enum Dial {
    Unix(PathBuf),
    Tcp(String),
    Tls(String, ServerName<'static>, tokio_rustls::TlsConnector),
    Engine(Dialer, String),
}

async fn dial(d: Dial) -> std::io::Result<Box<dyn Io>> {
    Ok(match d {
        Dial::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
        Dial::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a).await?),
        Dial::Tls(a, name, tls) => {
            let tcp = tokio::net::TcpStream::connect(a).await?;
            Box::new(tls.connect(name, tcp).await?)
        }
        Dial::Engine(dialer, path) => {
            let req = hyper::Request::post(path)
                .header("Host", "docker")
                .header("Connection", "Upgrade")
                .header("Upgrade", "h2c")
                .body(Empty::<Bytes>::new())
                .map_err(std::io::Error::other)?;
            let resp = dialer.send(req).await.map_err(std::io::Error::other)?;
            if resp.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
                return Err(std::io::Error::other(format!(
                    "the engine answered {} to /grpc (its BuildKit API needs Docker 18.09+ with BuildKit on)",
                    resp.status()
                )));
            }
            let upgraded = hyper::upgrade::on(resp)
                .await
                .map_err(std::io::Error::other)?;
            Box::new(TokioIo::new(upgraded))
        }
    })
}

/// A channel to `addr`; the first connection is made here, so an unreachable address or a
/// refused certificate fails now, with why.
pub(super) async fn channel(
    addr: &BuildkitAddr,
    engine: Option<&Engine>,
) -> Result<Channel, String> {
    let how = match addr {
        BuildkitAddr::Unix(p) => Dial::Unix(p.clone()),
        BuildkitAddr::Tcp { host, port, tls } => {
            let at = match host.contains(':') {
                true => format!("[{host}]:{port}"),
                false => format!("{host}:{port}"),
            };
            match tls {
                None => Dial::Tcp(at),
                Some(t) => {
                    let name = t.server_name.clone().unwrap_or_else(|| host.clone());
                    let name = ServerName::try_from(name.clone())
                        .map_err(|e| format!("TLS server name {name:?}: {e}"))?;
                    Dial::Tls(at, name, tls_connector(t, b"h2")?)
                }
            }
        }
        BuildkitAddr::Docker => {
            let engine = engine.ok_or("no Docker engine to reach its BuildKit through")?;
            let dialer = Dialer::for_engine(engine).ok_or_else(|| {
                format!(
                    "{} is reached by a transport --buildkit-addr docker does not speak; give its BuildKit's own address",
                    engine.describe()
                )
            })?;
            Dial::Engine(dialer, api_path(engine, "/grpc"))
        }
    };
    let connector = tower::service_fn(move |_: hyper::Uri| {
        let how = how.clone();
        async move { dial(how).await.map(TokioIo::new) }
    });
    Endpoint::from_static("http://buildkitd")
        .connect_timeout(CONNECT)
        .connect_with_connector(connector)
        .await
        .map_err(|e| crate::connect::with_causes(&e))
}
