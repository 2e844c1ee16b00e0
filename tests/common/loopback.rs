//! Loopback stand-ins for remote daemons: a TCP listener on 127.0.0.1 that pipes each
//! connection to the local docker socket (optionally terminating TLS with client
//! certificates, optionally upgrading to the engine's BuildKit first), and the certificates
//! such tests need.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::net::{TcpListener, UnixStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

use super::BIN;

/// The engine's unix socket the tests stand in front of: the one `DOCKER_HOST` names (CI runs
/// the engine tests once per engine that way), else the default.
pub fn socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

/// A loopback TCP listener piping every connection to the local docker socket. It stops (its
/// runtime, listener and connections with it) when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    /// Connections accepted on the TCP side.
    pub accepted: Arc<AtomicUsize>,
    /// Connections that reached the socket (after the TLS handshake, when there is one).
    pub piped: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    pub fn start(tls: Option<Arc<ServerConfig>>) -> Proxy {
        Proxy::start_piping(tls, false)
    }

    /// On the wire, a `buildkitd` at tcp://127.0.0.1:PORT: each connection is upgraded to
    /// the engine's BuildKit (`POST /grpc`, h2c) before the bytes are piped, as the issue's
    /// forwarder does.
    pub fn start_buildkit(tls: Option<Arc<ServerConfig>>) -> Proxy {
        Proxy::start_piping(tls, true)
    }

    fn start_piping(tls: Option<Arc<ServerConfig>>, grpc: bool) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let piped = Arc::new(AtomicUsize::new(0));
        let (acc, pip) = (accepted.clone(), piped.clone());
        runtime.spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    continue;
                };
                acc.fetch_add(1, Ordering::SeqCst);
                let (tls, pip) = (tls.clone(), pip.clone());
                tokio::spawn(async move {
                    let mut tls_stream = match tls {
                        Some(cfg) => match TlsAcceptor::from(cfg).accept(&mut tcp).await {
                            Ok(s) => Some(s),
                            Err(_) => return,
                        },
                        None => None,
                    };
                    let Ok(mut unix) = UnixStream::connect(socket()).await else {
                        return;
                    };
                    if grpc && upgrade_to_grpc(&mut unix).await.is_err() {
                        return;
                    }
                    pip.fetch_add(1, Ordering::SeqCst);
                    let _ = match tls_stream.as_mut() {
                        Some(s) => tokio::io::copy_bidirectional(s, &mut unix).await,
                        None => tokio::io::copy_bidirectional(&mut tcp, &mut unix).await,
                    };
                });
            }
        });
        Proxy {
            addr,
            accepted,
            piped,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }
}

/// `POST /grpc` with `Upgrade: h2c` on the engine socket, reading the answer up to its
/// blank line: after a 101 the connection speaks BuildKit's gRPC.
pub async fn upgrade_to_grpc(unix: &mut UnixStream) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    unix.write_all(
        b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n",
    )
    .await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if unix.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Err(std::io::Error::other("the engine closed /grpc"));
        }
        head.push(byte[0]);
    }
    match head.starts_with(b"HTTP/1.1 101") {
        true => Ok(()),
        false => Err(std::io::Error::other(
            String::from_utf8_lossy(&head).into_owned(),
        )),
    }
}

/// The binary with no docker settings inherited: each test says where the engine is.
pub fn stagescope(envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    for k in [
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
    ] {
        cmd.env_remove(k);
    }
    cmd.envs(envs.iter().copied()).stdin(Stdio::null());
    cmd
}

/// A CA: its certificate in PEM and what signs with it.
pub fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = KeyPair::generate().expect("ca key");
    let cert = params.self_signed(&key).expect("self-sign the ca");
    (cert.pem(), Issuer::new(params, key))
}

/// A certificate signed by `issuer` for `names` (an IP address becomes an IP SAN), and its key.
pub fn leaf(names: &[&str], issuer: &Issuer<'static, KeyPair>) -> (rcgen::Certificate, KeyPair) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = CertificateParams::new(names).expect("leaf params");
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("sign the leaf");
    (cert, key)
}

/// What `dockerd --tlsverify` does: a server certificate for 127.0.0.1, and client
/// certificates required and checked against the CA.
pub fn server_config(ca_pem: &str, issuer: &Issuer<'static, KeyPair>) -> Arc<ServerConfig> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let (cert, key) = leaf(&["127.0.0.1"], issuer);
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem"))
        .expect("trust the ca");
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .expect("client verifier");
    let config = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    Arc::new(config)
}

/// `DOCKER_CERT_PATH` as the docker CLI reads it: ca.pem, cert.pem, key.pem.
pub fn cert_dir(ca_pem: &str, issuer: &Issuer<'static, KeyPair>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = leaf(&["client"], issuer);
    std::fs::write(dir.path().join("ca.pem"), ca_pem).expect("write ca.pem");
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).expect("write cert.pem");
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).expect("write key.pem");
    dir
}
