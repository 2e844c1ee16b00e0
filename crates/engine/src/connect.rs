//! Finding and reaching the Docker engine: `--host`, `DOCKER_HOST`, the current docker
//! context, the default socket, then Podman's sockets — the order the docker CLI uses, with
//! Podman as a last resort.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use sha2::{Digest, Sha256};

/// The whole search must answer within this: a user waiting on a dead daemon gets told fast.
pub(crate) const CONNECT_BUDGET: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    DockerHost,
    Context(String),
    DefaultSocket,
    Podman,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => f.write_str("--host"),
            Source::DockerHost => f.write_str("DOCKER_HOST"),
            Source::Context(name) => write!(f, "docker context {name:?}"),
            Source::DefaultSocket => f.write_str("default socket"),
            Source::Podman => f.write_str("podman socket"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub source: Source,
    /// For tcp://: the directory holding ca.pem, cert.pem and key.pem, when TLS is on.
    pub tls: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach the Docker daemon (tried {tried}) — {hint}")]
    Unreachable { tried: String, hint: &'static str },
}

/// What the environment says, read once so the search itself is a pure function.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub flag_host: Option<String>,
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `DOCKER_TLS_VERIFY` set to anything but the empty string, as the docker CLI reads it.
    pub tls_verify: bool,
    pub cert_path: Option<PathBuf>,
}

impl Environment {
    pub fn from_process(flag_host: Option<String>) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Environment {
            flag_host,
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
        }
    }

    /// The certificates `DOCKER_TLS_VERIFY` asks for: `DOCKER_CERT_PATH`, else the config
    /// directory.
    fn env_tls(&self) -> Option<PathBuf> {
        if !self.tls_verify {
            return None;
        }
        self.cert_path.clone().or_else(|| self.config_dir())
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }

    fn current_context(&self) -> Option<String> {
        if let Some(c) = &self.docker_context {
            return Some(c.clone());
        }
        let config = std::fs::read(self.config_dir()?.join("config.json")).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&config).ok()?;
        v.get("currentContext")?.as_str().map(str::to_string)
    }
}

/// The docker CLI stores a context's endpoint under `contexts/meta/<sha256 of its name>`,
/// and its TLS material under `contexts/tls/<the same>/docker/`.
fn context_endpoint(config_dir: &Path, name: &str) -> Option<(String, Option<PathBuf>)> {
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let meta = std::fs::read(
        config_dir
            .join("contexts/meta")
            .join(&digest)
            .join("meta.json"),
    )
    .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&meta).ok()?;
    let host = v.pointer("/Endpoints/docker/Host")?.as_str()?.to_string();
    let tls = config_dir.join("contexts/tls").join(digest).join("docker");
    Some((host, tls.join("ca.pem").is_file().then_some(tls)))
}

/// Where to look, in order. An explicit choice (`--host`, `DOCKER_HOST`, a context) is the
/// only candidate: falling back behind the user's back would build on the wrong engine.
pub fn candidates(env: &Environment) -> Vec<Endpoint> {
    if let Some(h) = &env.flag_host {
        return vec![Endpoint {
            host: h.clone(),
            source: Source::Flag,
            tls: env.env_tls(),
        }];
    }
    if let Some(h) = &env.docker_host {
        return vec![Endpoint {
            host: h.clone(),
            source: Source::DockerHost,
            tls: env.env_tls(),
        }];
    }
    if let Some(name) = env.current_context().filter(|n| n != "default") {
        let (host, tls) = env
            .config_dir()
            .and_then(|dir| context_endpoint(&dir, &name))
            .unwrap_or_else(|| (format!("<context {name} has no docker endpoint>"), None));
        return vec![Endpoint {
            host,
            source: Source::Context(name),
            tls,
        }];
    }
    let mut out = vec![Endpoint {
        host: "unix:///var/run/docker.sock".into(),
        source: Source::DefaultSocket,
        tls: None,
    }];
    if let Some(run) = &env.xdg_runtime_dir {
        out.push(Endpoint {
            host: format!("unix://{}", run.join("podman/podman.sock").display()),
            source: Source::Podman,
            tls: None,
        });
    }
    out.push(Endpoint {
        host: "unix:///run/podman/podman.sock".into(),
        source: Source::Podman,
        tls: None,
    });
    out
}

/// A connected engine, its API version negotiated.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    pub endpoint: Endpoint,
    pub api_version: String,
    pub server_version: String,
    pub os: String,
    /// Podman's Docker-compatible API: same calls, but builds go to buildah, never BuildKit.
    pub podman: bool,
    /// An ssh:// engine's bridge, alive as long as any handle to the engine.
    pub ssh: Option<std::sync::Arc<super::ssh::SshBridge>>,
}

impl Engine {
    /// BuildKit sessions need API 1.39+ and a Linux Docker engine; Podman accepts the
    /// BuildKit flag and quietly builds with buildah.
    pub fn offers_buildkit(&self) -> bool {
        let (major, minor) = parse_api(&self.api_version);
        !self.podman && self.os == "linux" && (major, minor) >= (1, 39)
    }

    /// "docker 20.10.24 (API 1.41)", "podman 4.3.1 (API 1.41)": which engine this is.
    pub fn describe(&self) -> String {
        let kind = if self.podman { "podman" } else { "docker" };
        format!("{kind} {} (API {})", self.server_version, self.api_version)
    }
}

fn parse_api(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// An error and its causes, each once: bollard's own message for a refused TLS handshake is
/// "client error (Connect)", and only the causes say the certificate was the problem.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out = format!("{out}: {text}");
        }
        cause = c.source();
    }
    out
}

/// A unix or tcp handle. TLS is decided here, not by bollard, which turns it on whenever
/// `DOCKER_TLS_VERIFY` exists (even empty) and never for a context's certificates.
fn open(ep: &Endpoint) -> Result<Docker, bollard::errors::Error> {
    let tcp = ep.host.starts_with("tcp://") || ep.host.starts_with("https://");
    match &ep.tls {
        Some(dir) if tcp => Docker::connect_with_ssl(
            &ep.host,
            &dir.join("key.pem"),
            &dir.join("cert.pem"),
            &dir.join("ca.pem"),
            120,
            bollard::API_DEFAULT_VERSION,
        ),
        _ if ep.host.starts_with("tcp://") => {
            Docker::connect_with_http(&ep.host, 120, bollard::API_DEFAULT_VERSION)
        }
        _ => Docker::connect_with_host(&ep.host),
    }
}

/// Why one endpoint gave no engine, by what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// What ssh said (a refused key, an unknown host): over ssh, the reason worth showing.
    Ssh(String),
    /// The client's own error and its causes.
    Other(String),
    /// Nothing within the connect budget.
    NoAnswer,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Ssh(said) => write!(f, "ssh: {said}"),
            Failure::Other(e) => f.write_str(e),
            Failure::NoAnswer => f.write_str("no answer in time"),
        }
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Other(e)
    }
}

async fn try_endpoint(ep: &Endpoint) -> Result<Engine, Failure> {
    let (docker, ssh) = match ep.host.starts_with("ssh://") {
        true => {
            let bridge = super::ssh::bridge(super::ssh::parse(&ep.host)?)?;
            let socket = bridge.socket();
            let docker = Docker::connect_with_unix(
                &socket.to_string_lossy(),
                120,
                bollard::API_DEFAULT_VERSION,
            )
            .map_err(|e| with_causes(&e))?;
            (docker, Some(std::sync::Arc::new(bridge)))
        }
        false => (open(ep).map_err(|e| with_causes(&e))?, None),
    };
    // Over ssh, what ssh said (a refused key, an unknown host) is the reason worth showing.
    let why = |e: bollard::errors::Error| match ssh.as_ref().map(|b| b.last_error()) {
        Some(said) if !said.is_empty() => Failure::Ssh(said),
        _ => Failure::Other(with_causes(&e)),
    };
    let docker = docker.negotiate_version().await.map_err(why)?;
    let version = docker.version().await.map_err(why)?;
    let podman = version
        .components
        .iter()
        .flatten()
        .any(|c| c.name.to_ascii_lowercase().contains("podman"));
    Ok(Engine {
        podman,
        ssh,
        api_version: docker.client_version().to_string(),
        server_version: version.version.unwrap_or_default(),
        os: version.os.unwrap_or_else(|| "linux".into()),
        docker,
        endpoint: ep.clone(),
    })
}

fn short_error(e: &str) -> String {
    let line = e.lines().next().unwrap_or(e);
    if line.len() > 120 {
        format!("{}…", &line[..line.floor_char_boundary(120)])
    } else {
        line.to_string()
    }
}

/// What to do next, from why the endpoints failed: a daemon that answered with a certificate
/// nobody trusts is running, and starting it again would not help.
fn hint_for(failures: &[Failure]) -> &'static str {
    // A refused certificate reaches us only as the words of hyper and rustls under bollard's
    // "client error (Connect)", so those are read; ssh's own failures have their variant.
    let tls = |e: &str| e.contains("certificate") || e.contains("tls:") || e.contains("TLS");
    if failures.iter().any(|f| matches!(f, Failure::Ssh(_))) {
        "check that `ssh [-p PORT] user@host docker version` works without a prompt (a key in ssh-agent or ~/.ssh/config)"
    } else if failures
        .iter()
        .any(|f| matches!(f, Failure::Other(e) if tls(e)))
    {
        "check the TLS certificates: DOCKER_CERT_PATH must hold the daemon's ca.pem and a client cert.pem and key.pem it trusts"
    } else {
        "is it running? Start it, or point DOCKER_HOST or --host at it"
    }
}

pub async fn connect(env: &Environment) -> Result<Engine, ConnectError> {
    let deadline = tokio::time::Instant::now() + CONNECT_BUDGET;
    let mut tried = Vec::new();
    let mut failures = Vec::new();
    for ep in candidates(env) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let why = match tokio::time::timeout(left, try_endpoint(&ep)).await {
            Ok(Ok(engine)) => return Ok(engine),
            Ok(Err(e)) => e,
            Err(_) => Failure::NoAnswer,
        };
        tried.push(format!(
            "{} {} ({})",
            ep.source,
            ep.host,
            short_error(&why.to_string())
        ));
        failures.push(why);
    }
    Err(ConnectError::Unreachable {
        hint: hint_for(&failures),
        tried: tried.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_follows_the_failure() {
        let other = |e: &str| Failure::Other(e.into());
        let refused = other("client error (Connect): Connection refused (os error 111)");
        assert!(hint_for(&[refused.clone(), Failure::NoAnswer]).starts_with("is it running?"));
        let untrusted = other("client error (Connect): invalid peer certificate: UnknownIssuer");
        assert!(hint_for(&[refused.clone(), untrusted]).contains("DOCKER_CERT_PATH"));
        let ssh = Failure::Ssh("Permission denied (publickey).".into());
        assert!(hint_for(&[refused, ssh.clone()]).contains("ssh-agent"));
        assert_eq!(ssh.to_string(), "ssh: Permission denied (publickey).");
    }

    #[test]
    fn explicit_choices_are_the_only_candidate() {
        let env = Environment {
            flag_host: Some("tcp://1.2.3.4:2375".into()),
            docker_host: Some("unix:///x.sock".into()),
            ..Default::default()
        };
        assert_eq!(candidates(&env).len(), 1);
        assert_eq!(candidates(&env)[0].source, Source::Flag);
        let env = Environment {
            docker_host: Some("unix:///x.sock".into()),
            ..Default::default()
        };
        assert_eq!(candidates(&env)[0].host, "unix:///x.sock");
    }

    #[test]
    fn current_context_is_read_from_the_cli_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = dir.path();
        std::fs::write(cfg.join("config.json"), r#"{"currentContext":"remote"}"#).expect("write");
        let meta = cfg
            .join("contexts/meta")
            .join(hex::encode(Sha256::digest(b"remote")));
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://10.9.9.9:2376"}}}"#,
        )
        .expect("write");
        let env = Environment {
            docker_config: Some(cfg.to_path_buf()),
            ..Default::default()
        };
        assert_eq!(
            candidates(&env),
            vec![Endpoint {
                host: "tcp://10.9.9.9:2376".into(),
                source: Source::Context("remote".into()),
                tls: None,
            }]
        );
        // `docker context create --docker host=…,ca=…,cert=…,key=…` puts them here.
        let tls = cfg
            .join("contexts/tls")
            .join(hex::encode(Sha256::digest(b"remote")))
            .join("docker");
        std::fs::create_dir_all(&tls).expect("mkdir");
        std::fs::write(tls.join("ca.pem"), "x").expect("write");
        assert_eq!(candidates(&env)[0].tls, Some(tls));
    }

    #[test]
    fn tls_verify_is_on_when_set_to_anything_and_reads_the_cert_path() {
        let env = |verify: bool, cert: Option<&str>| Environment {
            docker_host: Some("tcp://h:2376".into()),
            home: Some("/home/u".into()),
            tls_verify: verify,
            cert_path: cert.map(PathBuf::from),
            ..Default::default()
        };
        assert_eq!(candidates(&env(false, Some("/c")))[0].tls, None);
        assert_eq!(
            candidates(&env(true, Some("/c")))[0].tls,
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            candidates(&env(true, None))[0].tls,
            Some(PathBuf::from("/home/u/.docker"))
        );
    }

    #[test]
    fn defaults_fall_back_to_podman() {
        let env = Environment {
            xdg_runtime_dir: Some("/run/user/1000".into()),
            home: Some("/nonexistent".into()),
            ..Default::default()
        };
        let c = candidates(&env);
        assert_eq!(c[0].host, "unix:///var/run/docker.sock");
        assert_eq!(c[1].host, "unix:///run/user/1000/podman/podman.sock");
        assert!(c.iter().skip(1).all(|e| e.source == Source::Podman));
    }

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn errors_name_their_causes_once() {
        let e = Layer(
            "client error (Connect)",
            Some(Box::new(Layer(
                "invalid peer certificate: UnknownIssuer",
                Some(Box::new(Layer("UnknownIssuer", None))),
            ))),
        );
        assert_eq!(
            with_causes(&e),
            "client error (Connect): invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn api_versions_compare_numerically() {
        assert_eq!(parse_api("1.41"), (1, 41));
        assert!(parse_api("1.9") < parse_api("1.39"));
    }
}
