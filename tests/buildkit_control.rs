//! Builds on BuildKit through its Control API, for real. The remote builder is the engine's
//! own BuildKit behind a loopback forwarder (`common::loopback::Proxy::start_buildkit`): each
//! connection is upgraded with `POST /grpc` on the engine socket and then piped, so on the
//! wire it is a `buildkitd` at tcp://127.0.0.1:PORT (with mutual TLS when asked). The binary
//! runs with DOCKER_HOST pointing nowhere: everything goes through the builder address.

mod common;

use std::os::unix::net::UnixListener;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;

use common::loopback::{Proxy, ca, cert_dir, server_config, stagescope, upgrade_to_grpc};
use common::{Cleanup, Project, build_plain_with, nonce};

/// No engine anywhere: a build that needed one would fail.
const NO_ENGINE: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/docker.sock");

fn run(mut cmd: Command) -> (Option<i32>, String, String) {
    let out: Output = cmd.output().expect("run stagescope");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A builder stage leaving a file and a `.env`, and a release copying one file of it.
fn two_stages(id: &str) -> Project {
    Project::new(&format!(
        "FROM busybox AS builder\n\
         RUN echo {id} > /built-{id} && echo TOKEN=x > /app.env\n\
         FROM busybox AS release\n\
         COPY --from=builder /built-{id} /released-{id}\n"
    ))
}

#[test]
fn a_tcp_buildkit_builds_lists_and_compares_stages_with_no_engine() {
    require_docker!();
    let proxy = Proxy::start_buildkit(None);
    let id = nonce();
    let project = two_stages(&id);
    let addr = proxy.url();

    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("build")
        .arg(project.path())
        .args(["--buildkit-addr", &addr]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("[builder 2/2] RUN echo"), "{out}");
    assert!(out.contains("[release 2/2] COPY --from=builder"), "{out}");

    // BUILDKIT_HOST as buildctl reads it; the stage's files come from the tar exporter.
    let mut cmd = stagescope(&[NO_ENGINE, ("BUILDKIT_HOST", &addr)]);
    cmd.arg("tree")
        .arg(project.path())
        .args(["--stage", "builder", "--depth", "1"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("built-{id}")), "{out}");
    assert!(out.contains("bin/"), "{out}");

    // The state after the FROM: the base alone.
    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("tree")
        .arg(project.path())
        .args(["--stage", "builder", "--at", "0", "--depth", "1"])
        .args(["--buildkit-addr", &addr]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains(&format!("built-{id}")), "{out}");

    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("diff")
        .arg(project.path())
        .args(["--buildkit-addr", &addr, "--format", "json"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains(&format!("/released-{id}")), "{out}");
    assert!(proxy.accepted.load(Ordering::SeqCst) > 0);
}

/// A `buildkitd` on a unix socket, as rootless BuildKit or a forwarded pod socket is: the
/// same forwarder on a socket of the test's own.
#[test]
fn a_unix_socket_buildkit_builds() {
    require_docker!();
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("buildkitd.sock");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(async { tokio::net::UnixListener::bind(&socket) })
        .expect("bind");
    runtime.spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut engine) =
                    tokio::net::UnixStream::connect(common::loopback::socket()).await
                else {
                    return;
                };
                if upgrade_to_grpc(&mut engine).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                }
            });
        }
    });
    let id = nonce();
    let project = two_stages(&id);
    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("tree")
        .arg(project.path())
        .args(["--stage", "release", "--depth", "1"])
        .args(["--buildkit-addr", &format!("unix://{}", socket.display())]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains(&format!("released-{id}")), "{out}");
}

#[test]
fn mutual_tls_builds_and_a_refused_certificate_is_one_line() {
    require_docker!();
    let (ca_pem, issuer) = ca("stagescope buildkit ca");
    let proxy = Proxy::start_buildkit(Some(server_config(&ca_pem, &issuer)));
    let certs = cert_dir(&ca_pem, &issuer);
    let file = |n: &str| certs.path().join(n).to_string_lossy().into_owned();
    let project = Project::new(&format!("FROM busybox\nRUN echo {} > /tls\n", nonce()));
    let addr = proxy.url();

    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("build").arg(project.path()).args([
        "--buildkit-addr",
        &addr,
        "--buildkit-tls-ca",
        &file("ca.pem"),
        "--buildkit-tls-cert",
        &file("cert.pem"),
        "--buildkit-tls-key",
        &file("key.pem"),
    ]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("RUN echo"), "{out}");

    // A server nobody here trusts, then a client without a certificate.
    let (other_ca, _) = ca("someone else");
    let other = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(other.path(), other_ca).expect("write ca");
    let wrong_ca = other.path().to_string_lossy().into_owned();
    for args in [
        vec!["--buildkit-tls-ca", wrong_ca.as_str()],
        vec!["--buildkit-tls-ca", &file("ca.pem")],
    ] {
        let mut cmd = stagescope(&[NO_ENGINE]);
        cmd.arg("build")
            .arg(project.path())
            .args(["--buildkit-addr", &addr])
            .args(&args);
        let (code, out, err) = run(cmd);
        assert_eq!(code, Some(1), "{args:?}: {out}\n{err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(&format!("BuildKit at {addr}")), "{err}");
    }
}

#[test]
fn unreachable_and_dropped_builders_are_one_line() {
    require_docker!();
    let project = Project::new(&format!("FROM busybox\nRUN echo {} && sleep 20\n", nonce()));
    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("build")
        .arg(project.path())
        .args(["--buildkit-addr", "tcp://127.0.0.1:1"]);
    let (code, _, err) = run(cmd);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach BuildKit at tcp://127.0.0.1:1"),
        "{err}"
    );

    // The forwarder goes away while the RUN sleeps: the build ends, saying so.
    let proxy = Proxy::start_buildkit(None);
    let mut cmd = stagescope(&[NO_ENGINE]);
    cmd.arg("build")
        .arg(project.path())
        .args(["--buildkit-addr", &proxy.url()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn stagescope");
    std::thread::sleep(std::time::Duration::from_secs(4));
    drop(proxy);
    let out = child.wait_with_output().expect("wait for stagescope");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.trim().lines().last().unwrap_or("");
    assert!(last.contains("lost mid-build"), "{err}");
}

/// The binary on the engine DOCKER_HOST names: where `Cleanup` removes what it built. (With
/// DOCKER_HOST removed, as the tests of a BuildKit with no engine run it, the builds went to
/// the machine's engine while the cleanup went to DOCKER_HOST's: the run on Docker 26 left
/// its tags on Docker 20.10.)
fn on_engine() -> Command {
    let mut cmd = Command::new(common::BIN);
    cmd.stdin(std::process::Stdio::null());
    cmd
}

#[test]
fn secrets_and_ssh_agents_reach_run_mounts_on_both_paths() {
    require_docker!();
    let id = nonce();
    let project = Project::new(&format!(
        "FROM busybox\n\
         RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = \"s3cret-{id}\"\n\
         RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent-{id}\n"
    ));
    let secret = project.write("../secret-token", &format!("s3cret-{id}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = dir.path().join("agent.sock");
    // Only a socket is checked in the build; nothing needs to answer on it.
    let _listener = UnixListener::bind(&agent).expect("bind the agent socket");
    let secret_flag = format!("id=tok,src={}", secret.display());
    let ssh_flag = format!("default={}", agent.display());
    // The engine's BuildKit through its /session, then through its Control API. What each
    // build tags (the target; the failed one's state before its RUN) is cleaned by build id.
    let mut cleanup = Cleanup::new();
    for via in [None, Some("docker")] {
        let via_flags: &[&str] = match via {
            Some(addr) => &["--buildkit-addr", addr],
            None => &[],
        };
        let mut args = vec![
            "--builder",
            "buildkit",
            "--secret",
            &secret_flag,
            "--ssh",
            &ssh_flag,
        ];
        args.extend(via_flags);
        let (code, out) = build_plain_with(on_engine(), project.path(), &args, &mut cleanup);
        assert_eq!(code, Some(0), "{via:?}: {out}");
        // Without the secret the first RUN fails: the mount had nothing. (A secret is not
        // part of the cache key, hence --no-cache.)
        let mut args = vec!["--builder", "buildkit", "--no-cache", "--ssh", &ssh_flag];
        args.extend(via_flags);
        let (code, out) = build_plain_with(on_engine(), project.path(), &args, &mut cleanup);
        assert_eq!(code, Some(1), "{via:?}: {out}");
    }
    let _ = std::fs::remove_file(secret);
}

#[test]
fn bad_flags_are_one_line_usage_errors() {
    let project = Project::new("FROM busybox\n");
    for args in [
        vec!["--buildkit-addr", "kube-pod://p"],
        vec!["--buildkit-addr", "tcp://nohost"],
        vec!["--buildkit-addr", "docker", "--builder", "classic"],
        vec!["--buildkit-tls-ca", "/etc/hostname"],
        vec!["--secret", "src=/etc/hostname"],
        vec!["--ssh", "default=/etc/hostname"],
    ] {
        let mut cmd = stagescope(&[NO_ENGINE]);
        cmd.arg("build").arg(project.path()).args(&args);
        let (code, _, err) = run(cmd);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
