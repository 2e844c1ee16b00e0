//! `ssh://[user@]host[:port]` engines, reached the way the docker CLI reaches them: every
//! connection is `ssh … docker system dial-stdio` on the remote, its stdin and stdout the
//! connection. bollard's own ssh connector hands the whole `user@host:port` to ssh as a host
//! name, so any port but 22 fails; here a private unix socket bridges each connection
//! bollard opens to a fresh ssh child, and bollard speaks to the socket.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::UnixListener;
use tokio::process::Command;

/// Where an `ssh://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

pub(crate) fn parse(url: &str) -> Result<SshTarget, String> {
    let rest = url
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("{url:?} is not an ssh:// address"))?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(format!(
            "{url:?}: an ssh:// address takes no path (ssh://[user@]host[:port])"
        ));
    }
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, authority),
    };
    let (host, port) = match hostport.strip_prefix('[') {
        // [::1]:22
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed '['"))?;
            (host, after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| format!("{url:?}: {p:?} is not a port"))
        })
        .transpose()?;
    if host.is_empty() || host.starts_with('-') || user.as_deref().is_some_and(str::is_empty) {
        return Err(format!("{url:?}: expected ssh://[user@]host[:port]"));
    }
    Ok(SshTarget {
        user,
        host: host.to_string(),
        port,
    })
}

impl SshTarget {
    /// ssh's arguments: never a prompt (a password prompt would land in the TUI); keys come
    /// from the agent or the user's ssh config, as for `docker -H ssh://`.
    fn args(&self) -> Vec<String> {
        let mut a = vec![
            "-T".to_string(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ConnectTimeout=5".into(),
        ];
        if let Some(user) = &self.user {
            a.extend(["-l".into(), user.clone()]);
        }
        if let Some(port) = self.port {
            a.extend(["-p".into(), port.to_string()]);
        }
        a.extend([
            "--".into(),
            self.host.clone(),
            "docker".into(),
            "system".into(),
            "dial-stdio".into(),
        ]);
        a
    }
}

/// The bridge's socket; the directory goes when the engine handle does.
#[derive(Debug)]
pub struct SshBridge {
    dir: PathBuf,
    last_error: Arc<Mutex<String>>,
}

impl SshBridge {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("engine.sock")
    }

    /// What ssh last said on stderr (why a connection failed), if anything.
    pub(crate) fn last_error(&self) -> String {
        self.last_error
            .lock()
            .map(|e| e.trim().lines().last().unwrap_or_default().to_string())
            .unwrap_or_default()
    }
}

impl Drop for SshBridge {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the bridge on the current tokio runtime.
pub(crate) fn bridge(target: SshTarget) -> Result<SshBridge, String> {
    let dir = private_dir()?;
    let bridge = SshBridge {
        dir,
        last_error: Arc::default(),
    };
    let listener =
        UnixListener::bind(bridge.socket()).map_err(|e| format!("ssh bridge socket: {e}"))?;
    let args = Arc::new(target.args());
    let last_error = bridge.last_error.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(carry(conn, args.clone(), last_error.clone()));
        }
    });
    Ok(bridge)
}

fn private_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!(
        "stagescope-ssh-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("ssh bridge directory {}: {e}", dir.display()))?;
    Ok(dir)
}

/// One connection: a fresh ssh child, bytes both ways until either side closes.
async fn carry(
    conn: tokio::net::UnixStream,
    args: Arc<Vec<String>>,
    last_error: Arc<Mutex<String>>,
) {
    let child = Command::new("ssh")
        .args(args.iter())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            if let Ok(mut last) = last_error.lock() {
                *last = format!("cannot run ssh: {e}");
            }
            return;
        }
    };
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };
    let (mut from_client, mut to_client) = conn.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut from_client, &mut stdin).await;
        drop(stdin);
    };
    let down = async {
        let _ = tokio::io::copy(&mut stdout, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    let errors = async {
        let mut text = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut text).await;
        let text = String::from_utf8_lossy(&text).into_owned();
        if !text.trim().is_empty()
            && let Ok(mut last) = last_error.lock()
        {
            *last = text;
        }
    };
    tokio::join!(up, down, errors);
    let _ = child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_the_docker_cli_takes_them() {
        let t = parse("ssh://me@10.0.0.5:2222").expect("parse");
        assert_eq!(
            t,
            SshTarget {
                user: Some("me".into()),
                host: "10.0.0.5".into(),
                port: Some(2222)
            }
        );
        assert_eq!(
            t.args()[t.args().len() - 5..],
            ["--", "10.0.0.5", "docker", "system", "dial-stdio"]
        );
        assert!(t.args().windows(2).any(|w| w == ["-p", "2222"]));
        assert_eq!(parse("ssh://host").expect("plain").port, None);
        assert_eq!(parse("ssh://[::1]:22").expect("v6").host, "::1");
        for bad in [
            "ssh://",
            "ssh://h/path",
            "ssh://h:port",
            "ssh://-oProxyCommand=x",
            "ssh://@h",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
