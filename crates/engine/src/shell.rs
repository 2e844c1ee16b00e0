//! An interactive `/bin/sh` in a new container, through the engine API alone (no docker
//! CLI, so Podman's Docker-compatible API serves too): create it with a TTY and open stdin,
//! attach, start, then pump the caller's input into it and its output back out, resizing
//! its TTY when asked. The container is removed on every path out.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ResizeContainerTTYOptions,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::UnboundedReceiver;

use super::connect::Engine;
use super::error::EngineError;
use super::export::{ContainerGuard, create_guarded};
use super::names::BUILD_LABEL;

/// How long output may still arrive after the container is seen to exit.
const DRAIN: Duration = Duration::from_millis(500);

/// The shell to run: in what, called what, labelled with which build.
#[derive(Debug, Clone)]
pub struct ShellSpec {
    pub image: String,
    pub name: String,
    pub build_id: String,
    /// `sh -c COMMAND` instead of an interactive shell.
    pub command: Option<String>,
    /// The terminal's (columns, rows) when the shell starts.
    pub size: Option<(u16, u16)>,
}

/// What the person at the terminal sends the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellInput {
    /// Bytes for the shell's stdin, as a terminal sends them.
    Bytes(Vec<u8>),
    /// The terminal is now this many columns and rows.
    Resize { cols: u16, rows: u16 },
    /// stagescope is being ended (SIGTERM, SIGINT): stop the shell now, so its container
    /// goes with it.
    Hangup,
}

fn create_body(spec: &ShellSpec) -> ContainerCreateBody {
    let cmd = spec
        .command
        .as_ref()
        .map(|c| vec!["-c".to_string(), c.clone()]);
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: Some(vec!["/bin/sh".to_string()]),
        // An empty Cmd, not the image's: its CMD would be arguments to /bin/sh.
        cmd: Some(cmd.unwrap_or_default()),
        tty: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        labels: Some(HashMap::from([(
            BUILD_LABEL.to_string(),
            spec.build_id.clone(),
        )])),
        host_config: spec.size.map(|(cols, rows)| HostConfig {
            // Height first; engines that do not know it resize after the start instead.
            console_size: Some(vec![usize::from(rows), usize::from(cols)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Runs the shell of `spec`: `input` goes to its stdin (and resizes its TTY), its output to
/// `output` as it arrives. Returns the shell's exit code once the container has exited and
/// been removed. `input` is dropped as soon as the container exits, so its sender can tell.
pub async fn run_shell(
    engine: &Engine,
    spec: &ShellSpec,
    input: UnboundedReceiver<ShellInput>,
    output: impl FnMut(&[u8]),
) -> Result<i64, EngineError> {
    let options = CreateContainerOptionsBuilder::default()
        .name(&spec.name)
        .build();
    let guard = create_guarded(engine, Some(options), create_body(spec)).await?;
    let ran = attach_and_run(engine, &guard, spec.size, input, output).await;
    let removed = guard.remove().await;
    let code = ran?;
    removed?;
    Ok(code)
}

async fn attach_and_run(
    engine: &Engine,
    guard: &ContainerGuard,
    size: Option<(u16, u16)>,
    mut input: UnboundedReceiver<ShellInput>,
    mut output: impl FnMut(&[u8]),
) -> Result<i64, EngineError> {
    let docker = &engine.docker;
    let id = guard.id();
    // Attached before the start, so not a byte of the first output is missed.
    let opts = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .build();
    let attached = docker.attach_container(id, Some(opts)).await?;
    let (mut out, mut stdin) = (attached.output, attached.input);
    docker.start_container(id, None).await?;
    if let Some((cols, rows)) = size {
        resize(engine, id, cols, rows).await;
    }
    let wait = exit_code(engine, id);
    let mut wait = std::pin::pin!(wait);
    let mut typing = true;
    let code = loop {
        tokio::select! {
            chunk = out.next() => match chunk {
                Some(Ok(chunk)) => output(&chunk.into_bytes()),
                Some(Err(e)) => return Err(e.into()),
                None => break wait.as_mut().await?,
            },
            msg = input.recv(), if typing => match msg {
                Some(ShellInput::Bytes(b)) => {
                    // A shell that has just exited no longer reads: its exit code says why.
                    if stdin.write_all(&b).await.is_ok() {
                        let _ = stdin.flush().await;
                    }
                }
                Some(ShellInput::Resize { cols, rows }) => resize(engine, id, cols, rows).await,
                Some(ShellInput::Hangup) => {
                    typing = false;
                    let _ = docker.kill_container(id, None::<bollard::query_parameters::KillContainerOptions>).await;
                }
                // The sender gave up: the shell runs on until it exits.
                None => typing = false,
            },
            code = wait.as_mut() => {
                let code = code?;
                // The last output may still be on its way.
                let _ = tokio::time::timeout(DRAIN, async {
                    while let Some(Ok(chunk)) = out.next().await {
                        output(&chunk.into_bytes());
                    }
                })
                .await;
                break code;
            }
        }
    };
    drop(input);
    Ok(code)
}

/// A resize that fails (the shell has just exited) changes nothing worth reporting.
async fn resize(engine: &Engine, id: &str, cols: u16, rows: u16) {
    let opts = ResizeContainerTTYOptions {
        w: i32::from(cols),
        h: i32::from(rows),
    };
    let _ = engine.docker.resize_container_tty(id, opts).await;
}

/// Waits for the container to exit; its exit code (bollard reports a non-zero one as an
/// error, which here it is not).
async fn exit_code(engine: &Engine, id: &str) -> Result<i64, EngineError> {
    let mut wait = engine.docker.wait_container(id, None);
    match wait.next().await {
        Some(Ok(r)) => Ok(r.status_code),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(e.into()),
        None => Err(EngineError::Docker(
            "the engine did not say how the shell exited".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: Option<&str>) -> ShellSpec {
        ShellSpec {
            image: "sha256:abc".into(),
            name: "stagescope-b1-sh-0-2".into(),
            build_id: "b1".into(),
            command: command.map(str::to_string),
            size: Some((100, 30)),
        }
    }

    #[test]
    fn an_interactive_shell_is_bin_sh_with_a_tty_and_open_stdin() {
        let body = create_body(&spec(None));
        assert_eq!(body.entrypoint, Some(vec!["/bin/sh".to_string()]));
        assert_eq!(body.cmd, Some(vec![]));
        assert_eq!(body.tty, Some(true));
        assert_eq!(body.open_stdin, Some(true));
        assert_eq!(body.stdin_once, Some(true));
        assert_eq!(
            body.labels.and_then(|l| l.get(BUILD_LABEL).cloned()),
            Some("b1".to_string())
        );
        assert_eq!(
            body.host_config.and_then(|h| h.console_size),
            Some(vec![30, 100])
        );
    }

    #[test]
    fn a_typed_command_runs_with_sh_c() {
        let body = create_body(&spec(Some("echo hi; ls")));
        assert_eq!(
            body.cmd,
            Some(vec!["-c".to_string(), "echo hi; ls".to_string()])
        );
    }
}
