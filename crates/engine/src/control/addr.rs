//! Where a BuildKit daemon answers, as `buildctl --addr` and `BUILDKIT_HOST` spell it, plus
//! `docker`: the engine's own BuildKit through its `/grpc` endpoint.

use std::fmt;
use std::path::PathBuf;

pub use crate::tls::TlsFiles;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildkitAddr {
    /// The engine's BuildKit, reached through the engine's `/grpc` upgrade.
    Docker,
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
        tls: Option<TlsFiles>,
    },
}

impl fmt::Display for BuildkitAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildkitAddr::Docker => write!(f, "docker"),
            BuildkitAddr::Unix(p) => write!(f, "unix://{}", p.display()),
            BuildkitAddr::Tcp { host, port, .. } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            BuildkitAddr::Tcp { host, port, .. } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

impl BuildkitAddr {
    /// Reads `addr` (the flag, else `BUILDKIT_HOST`); TLS files make a tcp address use TLS.
    pub fn parse(addr: &str, tls: &TlsFiles) -> Result<BuildkitAddr, String> {
        let addr = addr.trim();
        let bad = |why: &str| format!("--buildkit-addr {addr}: {why}");
        let parsed = if addr == "docker" || addr == "docker://" {
            BuildkitAddr::Docker
        } else if let Some(path) = addr.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(bad("no socket path (unix:///run/buildkit/buildkitd.sock)"));
            }
            BuildkitAddr::Unix(PathBuf::from(path))
        } else if let Some(rest) = addr.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, port) = split_host_port(rest).ok_or_else(|| {
                bad("a tcp address is tcp://HOST:PORT (buildkitd has no default port)")
            })?;
            BuildkitAddr::Tcp {
                host,
                port,
                tls: (!tls.is_empty()).then(|| tls.clone()),
            }
        } else if let Some((scheme, _)) = addr.split_once("://") {
            return Err(bad(&format!(
                "{scheme}:// is not reached directly; use unix://, tcp:// or docker (for a buildx container or pod, forward its socket to tcp://)"
            )));
        } else {
            return Err(bad("use unix://PATH, tcp://HOST:PORT or docker"));
        };
        if !tls.is_empty() && !matches!(parsed, BuildkitAddr::Tcp { .. }) {
            return Err(bad("--buildkit-tls-* apply to tcp:// addresses only"));
        }
        if let BuildkitAddr::Tcp { tls: Some(t), .. } = &parsed
            && t.cert.is_some() != t.key.is_some()
        {
            return Err(bad(
                "--buildkit-tls-cert and --buildkit-tls-key go together",
            ));
        }
        Ok(parsed)
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = match s.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            (host, rest.strip_prefix(':')?)
        }
        None => s.rsplit_once(':')?,
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_buildctl_reads_them() {
        let none = TlsFiles::default();
        assert_eq!(
            BuildkitAddr::parse("docker", &none),
            Ok(BuildkitAddr::Docker)
        );
        assert_eq!(
            BuildkitAddr::parse("unix:///run/buildkit/buildkitd.sock", &none),
            Ok(BuildkitAddr::Unix("/run/buildkit/buildkitd.sock".into()))
        );
        let tcp = BuildkitAddr::parse("tcp://127.0.0.1:1234", &none).unwrap();
        assert_eq!(tcp.to_string(), "tcp://127.0.0.1:1234");
        let v6 = BuildkitAddr::parse("tcp://[::1]:1234/", &none).unwrap();
        assert_eq!(v6.to_string(), "tcp://[::1]:1234");
        let tls = TlsFiles {
            ca: Some("ca.pem".into()),
            ..TlsFiles::default()
        };
        assert!(matches!(
            BuildkitAddr::parse("tcp://b:1", &tls),
            Ok(BuildkitAddr::Tcp { tls: Some(_), .. })
        ));
        for bad in [
            "tcp://host",
            "tcp://:1234",
            "tcp://h:99999",
            "unix://",
            "docker-container://buildx_buildkit_x0",
            "kube-pod://p",
            "somewhere",
        ] {
            let e = BuildkitAddr::parse(bad, &none).unwrap_err();
            assert!(e.starts_with("--buildkit-addr "), "{e}");
        }
        assert!(BuildkitAddr::parse("unix:///s", &tls).is_err());
        let half = TlsFiles {
            cert: Some("c.pem".into()),
            ..TlsFiles::default()
        };
        assert!(BuildkitAddr::parse("tcp://h:1", &half).is_err());
    }
}
