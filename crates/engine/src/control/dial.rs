//! A gRPC channel to BuildKit's Control API: a unix socket, tcp (plain or mutual TLS, ALPN
//! h2 as grpc-go requires), or the engine's `/grpc` endpoint upgraded to h2c (what the docker
//! CLI's buildx docker driver speaks).

use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tonic::transport::{Channel, Endpoint};

use super::addr::BuildkitAddr;
use crate::connect::Engine;
use crate::dial::{Dialer, Io, UpgradeError, api_path};
use crate::tls::tls_connector;

/// How long reaching the daemon may take before the address is called unreachable.
const CONNECT: Duration = Duration::from_secs(5);

/// A BuildKit's own socket, or the engine's `/grpc` upgraded to h2c.
#[derive(Clone)]
enum Route {
    Direct(Dialer),
    Engine(Dialer, String),
}

async fn dial(route: Route) -> std::io::Result<Box<dyn Io>> {
    match route {
        Route::Direct(d) => d.dial().await,
        Route::Engine(d, path) => match d.upgrade_h2c(path, Vec::new()).await {
            Ok(io) => Ok(Box::new(TokioIo::new(io))),
            Err(UpgradeError::Refused(status)) => Err(std::io::Error::other(format!(
                "the engine answered {status} to /grpc (its BuildKit API needs Docker 18.09+ with BuildKit on)"
            ))),
            Err(UpgradeError::Io(e)) => Err(std::io::Error::other(e)),
        },
    }
}

/// A channel to `addr`; the first connection is made here, so an unreachable address or a
/// refused certificate fails now, with why.
pub(super) async fn channel(
    addr: &BuildkitAddr,
    engine: Option<&Engine>,
) -> Result<Channel, String> {
    let how = match addr {
        BuildkitAddr::Unix(p) => Route::Direct(Dialer::Unix(p.clone())),
        BuildkitAddr::Tcp { host, port, tls } => {
            let at = match host.contains(':') {
                true => format!("[{host}]:{port}"),
                false => format!("{host}:{port}"),
            };
            match tls {
                None => Route::Direct(Dialer::Tcp(at)),
                Some(t) => {
                    let name = t.server_name.clone().unwrap_or_else(|| host.clone());
                    let name = ServerName::try_from(name.clone())
                        .map_err(|e| format!("TLS server name {name:?}: {e}"))?;
                    Route::Direct(Dialer::Tls(at, name, tls_connector(t, b"h2")?))
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
            Route::Engine(dialer, api_path(engine, "/grpc"))
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
