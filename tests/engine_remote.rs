//! Remote engines, for real: the binary reaches the daemon over `tcp://` (plain and TLS with
//! client certificates, as `dockerd --tlsverify` wants them), over `ssh://` (Debian's sshd on
//! 127.0.0.1, started by `scripts/sshd-service.sh`) and through docker contexts. The
//! "remote" daemon is the local one behind a loopback proxy this test runs: it accepts on
//! 127.0.0.1, optionally terminates TLS, and pipes each connection to the local socket.

mod common;

use std::sync::atomic::Ordering;

use common::loopback::{Proxy, ca, cert_dir, server_config, stagescope};
use common::{Cleanup, Project, build_plain_with, docker, docker_ok, nonce};
use sha2::{Digest, Sha256};

/// Two stages, each leaving a file named after this run.
fn two_stage_project(id: &str) -> Project {
    Project::new(&format!(
        "FROM busybox AS base\nRUN echo {id} > /base-{id}\n\
         FROM base AS final\nRUN echo {id} > /final-{id}\n"
    ))
}

/// Builds the project through `envs`; the build must succeed and name both stages.
fn build_through(project: &Project, envs: &[(&str, &str)], cleanup: &mut Cleanup) -> String {
    let (code, out) = build_plain_with(stagescope(envs), project.path(), &[], cleanup);
    assert_eq!(code, Some(0), "build through {envs:?}:\n{out}");
    assert!(out.contains("base") && out.contains("final"), "{out}");
    out
}

/// The layers of an image, or none when it is not there.
fn layers(image: &str) -> Vec<String> {
    let out = docker(&[
        "image",
        "inspect",
        "--format",
        "{{range .RootFS.Layers}}{{.}} {{end}}",
        image,
    ]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `tree --stage` tags its own build's stage images and leaves them as cache: register with
/// `cleanup` every build whose `stage` tag has exactly the layers of `ours` less its last
/// `drop` ones (layers made by this run's unique RUN lines, so no one else's build matches;
/// the build itself exported only its target, `final`, whose first layers are `base`'s).
/// `ours` is read before `tree` runs: a run replaces the tags its context's earlier runs left.
fn adopt_builds_like(ours: &[String], drop: usize, stage: &str, cleanup: &mut Cleanup) {
    let mut want = ours.to_vec();
    want.truncate(want.len().saturating_sub(drop));
    assert!(!want.is_empty(), "the build's target has layers");
    let tags = docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    for tag in tags.lines() {
        let Some(id) = tag
            .strip_prefix("stagescope.local/")
            .and_then(|t| t.strip_suffix(&format!(":{stage}")))
        else {
            continue;
        };
        if !cleanup.build_ids.iter().any(|b| b == id) && layers(tag) == want {
            cleanup.build_ids.push(id.to_string());
        }
    }
}

#[test]
fn plain_tcp_builds_and_opens_a_stage_through_the_proxy() {
    require_docker!();
    let proxy = Proxy::start(None);
    let mut cleanup = Cleanup::new();
    let id = nonce();
    let project = two_stage_project(&id);
    let url = proxy.url();
    let envs = [("DOCKER_HOST", url.as_str())];
    build_through(&project, &envs, &mut cleanup);
    let built = cleanup.build_ids.first().cloned().expect("the build's id");
    let target_layers = layers(&format!("stagescope.local/{built}:final"));

    let out = stagescope(&envs)
        .arg("tree")
        .arg(project.path())
        .args(["--stage", "base"])
        .output()
        .expect("run stagescope tree");
    adopt_builds_like(&target_layers, 1, "base", &mut cleanup);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listing.contains(&format!("base-{id}")), "{listing}");
    assert!(!listing.contains(&format!("final-{id}")), "{listing}");
    assert!(
        proxy.accepted.load(Ordering::SeqCst) > 0,
        "nothing went through the proxy"
    );
}

/// Where `scripts/sshd-service.sh` put sshd and the agent holding its key; under `CI` they
/// must be there.
fn ssh_setup() -> Option<(String, String)> {
    // Over ssh the engine is the ssh server's own (`docker system dial-stdio` there), the
    // machine's engine: on the pass where DOCKER_HOST names another engine, this test's
    // docker CLI would look at the wrong one. The transport is the same on every engine.
    if std::env::var_os("DOCKER_HOST").is_some() {
        eprintln!(
            "note: DOCKER_HOST names another engine than ssh reaches; the ssh test runs on the machine's"
        );
        return None;
    }
    let host = std::env::var("STAGESCOPE_SSH_HOST").ok();
    let agent = std::env::var("STAGESCOPE_SSH_AUTH_SOCK").ok();
    match host.zip(agent) {
        Some(both) => Some(both),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but STAGESCOPE_SSH_HOST/STAGESCOPE_SSH_AUTH_SOCK are not: .ci/run starts sshd with scripts/sshd-service.sh"
            );
            eprintln!("note: no sshd set up (scripts/sshd-service.sh); skipping the ssh:// test");
            None
        }
    }
}

/// `DOCKER_HOST=ssh://root@127.0.0.1:PORT`: a port other than 22, keys from the agent; the
/// build runs, a stage opens, and a refused key is one line naming ssh's reason.
#[test]
fn ssh_with_a_port_builds_and_opens_a_stage() {
    require_docker!();
    let Some((host, agent)) = ssh_setup() else {
        return;
    };
    let mut cleanup = Cleanup::new();
    let id = nonce();
    let project = two_stage_project(&id);
    let envs = [
        ("DOCKER_HOST", host.as_str()),
        ("SSH_AUTH_SOCK", agent.as_str()),
    ];
    build_through(&project, &envs, &mut cleanup);
    let built = cleanup.build_ids.first().cloned().expect("the build's id");
    let target_layers = layers(&format!("stagescope.local/{built}:final"));
    let out = stagescope(&envs)
        .arg("tree")
        .arg(project.path())
        .args(["--stage", "final", "--depth", "1"])
        .output()
        .expect("run stagescope tree");
    adopt_builds_like(&target_layers, 0, "final", &mut cleanup);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tree over ssh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listing.contains(&format!("final-{id}")), "{listing}");

    // No key offered: ssh's own reason, in one line, and a hint about keys.
    let empty = tempfile::tempdir().expect("tempdir");
    let no_agent = empty.path().join("none.sock");
    let out = stagescope(&[
        ("DOCKER_HOST", host.as_str()),
        ("SSH_AUTH_SOCK", &no_agent.to_string_lossy()),
    ])
    .arg("build")
    .arg(project.path())
    .output()
    .expect("run stagescope");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Permission denied"), "{err}");
}

#[test]
fn tls_with_client_certificates_builds_and_a_wrong_ca_fails_with_one_line() {
    require_docker!();
    let (ca_pem, issuer) = ca("stagescope test ca");
    let proxy = Proxy::start(Some(server_config(&ca_pem, &issuer)));
    let certs = cert_dir(&ca_pem, &issuer);
    let url = proxy.url();
    let cert_path = certs.path().to_string_lossy().into_owned();
    let mut cleanup = Cleanup::new();
    let project = two_stage_project(&nonce());
    let envs = [
        ("DOCKER_HOST", url.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", cert_path.as_str()),
    ];
    build_through(&project, &envs, &mut cleanup);
    assert!(
        proxy.piped.load(Ordering::SeqCst) > 0,
        "no TLS connection got through"
    );

    // The client trusts another CA: the server's certificate must be refused.
    let (other_ca, _) = ca("another ca");
    std::fs::write(certs.path().join("ca.pem"), other_ca).expect("write ca.pem");
    let piped = proxy.piped.load(Ordering::SeqCst);
    let out = stagescope(&envs)
        .arg("build")
        .arg(project.path())
        .output()
        .expect("run stagescope build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = lines[0];
    assert!(line.contains(&url), "names the address: {line}");
    assert!(
        line.to_lowercase().contains("certificate"),
        "says the certificate was refused: {line}"
    );
    assert_eq!(
        proxy.piped.load(Ordering::SeqCst),
        piped,
        "nothing got through"
    );
}

/// A docker CLI config dir whose contexts point at `hosts` (name, host); `current` is the
/// config's `currentContext`.
fn docker_config(current: &str, hosts: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = serde_json::json!({ "currentContext": current });
    std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config.json");
    for (name, host) in hosts {
        let meta = dir
            .path()
            .join("contexts/meta")
            .join(hex::encode(Sha256::digest(name.as_bytes())));
        std::fs::create_dir_all(&meta).expect("mkdir meta");
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).expect("meta.json");
    }
    dir
}

#[test]
fn docker_contexts_pick_the_endpoint_and_docker_context_wins() {
    require_docker!();
    let current = Proxy::start(None);
    let chosen = Proxy::start(None);
    let (current_url, chosen_url) = (current.url(), chosen.url());
    let config = docker_config(
        "remote",
        &[("remote", &current_url), ("other", &chosen_url)],
    );
    let config_dir = config.path().to_string_lossy().into_owned();
    let mut cleanup = Cleanup::new();
    let project = two_stage_project(&nonce());

    build_through(&project, &[("DOCKER_CONFIG", &config_dir)], &mut cleanup);
    assert!(
        current.accepted.load(Ordering::SeqCst) > 0,
        "currentContext unused"
    );
    assert_eq!(chosen.accepted.load(Ordering::SeqCst), 0);

    let before = current.accepted.load(Ordering::SeqCst);
    build_through(
        &project,
        &[("DOCKER_CONFIG", &config_dir), ("DOCKER_CONTEXT", "other")],
        &mut cleanup,
    );
    assert!(
        chosen.accepted.load(Ordering::SeqCst) > 0,
        "DOCKER_CONTEXT unused"
    );
    assert_eq!(current.accepted.load(Ordering::SeqCst), before);
}

/// A context made with `docker context create --docker host=tcp://…,ca=…,cert=…,key=…` keeps
/// its certificates under `contexts/tls/<digest>/docker/`: they are used, with no
/// `DOCKER_TLS_VERIFY` in sight. And an empty `DOCKER_TLS_VERIFY` means no TLS, as for the
/// docker CLI.
#[test]
fn a_context_with_tls_material_connects_with_it() {
    require_docker!();
    let (ca_pem, issuer) = ca("context ca");
    let tls = Proxy::start(Some(server_config(&ca_pem, &issuer)));
    let certs = cert_dir(&ca_pem, &issuer);
    let tls_url = tls.url();
    let config = docker_config("secure", &[("secure", &tls_url)]);
    let material = config
        .path()
        .join("contexts/tls")
        .join(hex::encode(Sha256::digest(b"secure")))
        .join("docker");
    std::fs::create_dir_all(&material).expect("mkdir tls");
    for f in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::copy(certs.path().join(f), material.join(f)).expect("copy pem");
    }
    let config_dir = config.path().to_string_lossy().into_owned();
    let mut cleanup = Cleanup::new();
    let project = two_stage_project(&nonce());
    build_through(&project, &[("DOCKER_CONFIG", &config_dir)], &mut cleanup);
    assert!(
        tls.piped.load(Ordering::SeqCst) > 0,
        "no TLS connection got through"
    );

    let plain = Proxy::start(None);
    let plain_url = plain.url();
    build_through(
        &project,
        &[("DOCKER_HOST", &plain_url), ("DOCKER_TLS_VERIFY", "")],
        &mut cleanup,
    );
    assert!(
        plain.piped.load(Ordering::SeqCst) > 0,
        "plain http expected"
    );
}
