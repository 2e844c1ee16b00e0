//! `s`: `/bin/sh` in a new container from a state's image, on the real terminal; the
//! container is removed when the shell exits.

use std::io::Write;

use crate::build::StageRef;
use crate::engine::names::BUILD_LABEL;
use crate::session::{Events, Session};

/// Runs the shell (the terminal is the shell's meanwhile); returns a line for the status bar.
pub async fn run(
    s: &Session,
    events: &Events,
    at: StageRef,
    image: Option<String>,
    command: Option<String>,
) -> String {
    let image = match image {
        Some(i) => i,
        None => {
            println!("making the image of that state (served from the build cache)…");
            match s.state_image(&[], at, events).await {
                Ok(i) => i,
                Err(e) => return format!("no image for that state: {e}"),
            }
        }
    };
    let name = format!(
        "stagescope-{}-sh-{}-{}",
        s.build_id,
        at.stage,
        at.at.unwrap_or_default()
    );
    println!("shell in {name}; exit to return to stagescope");
    let _ = std::io::stdout().flush();
    let mut cmd = std::process::Command::new("docker");
    cmd.env("DOCKER_HOST", &s.engine.endpoint.host).args([
        "run",
        "--rm",
        "-it",
        "--name",
        &name,
        "--label",
        &format!("{BUILD_LABEL}={}", s.build_id),
        "--entrypoint",
        "/bin/sh",
        &image,
    ]);
    if let Some(c) = &command {
        cmd.args(["-c", c]);
    }
    let status = tokio::task::spawn_blocking(move || cmd.status()).await;
    // `--rm` removes it; this catches a shell killed before docker could.
    let host = s.engine.endpoint.host.clone();
    let rm = name.clone();
    let _ = tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker")
            .env("DOCKER_HOST", host)
            .args(["rm", "-f", &rm])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
    })
    .await;
    if command.is_some() {
        // The command's output stays on the screen until the user has read it.
        println!("\n[press Enter to return to stagescope]");
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    }
    match status {
        Ok(Ok(st)) => format!("shell exited ({st})"),
        Ok(Err(e)) => format!("cannot run docker: {e}"),
        Err(e) => format!("shell: {e}"),
    }
}
