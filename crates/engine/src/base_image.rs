//! The `busybox:latest` base the tests and the demo build on. Pulled where a registry
//! answers; otherwise made from the host's static busybox, so nothing needs the network.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;

use super::connect::Engine;
use super::error::EngineError;

pub const BASE_IMAGE: &str = "busybox:latest";

const PULL_BUDGET: Duration = Duration::from_secs(20);

/// Where a statically linked busybox usually lives (Debian's busybox-static).
fn host_busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// A root filesystem tar: `bin/busybox` and one symlink per applet. The applet named
/// `busybox` is skipped or its link would replace the binary.
pub(crate) fn rootfs_tar(busybox: &Path) -> Result<Vec<u8>, EngineError> {
    let io = |e: std::io::Error| EngineError::Context(format!("{}: {e}", busybox.display()));
    let list = std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(io)?;
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["bin", "tmp", "etc", "root"] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(if dir == "tmp" { 0o1777 } else { 0o755 });
        h.set_size(0);
        tar.append_data(&mut h, dir, std::io::empty()).map_err(io)?;
    }
    let data = std::fs::read(busybox).map_err(io)?;
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(data.len() as u64);
    tar.append_data(&mut h, "bin/busybox", data.as_slice())
        .map_err(io)?;
    for applet in applets
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        tar.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .map_err(io)?;
    }
    tar.into_inner().map_err(io)
}

async fn has_image(engine: &Engine, reference: &str) -> bool {
    engine.docker.inspect_image(reference).await.is_ok()
}

async fn try_pull(engine: &Engine) -> bool {
    let opts = CreateImageOptionsBuilder::default()
        .from_image("busybox")
        .tag("latest")
        .build();
    let pull = async {
        let mut s = engine.docker.create_image(Some(opts), None, None);
        while let Some(item) = s.next().await {
            if item.is_err() {
                return false;
            }
        }
        true
    };
    matches!(tokio::time::timeout(PULL_BUDGET, pull).await, Ok(true))
}

/// Makes sure `busybox:latest` exists. Returns how it got there.
pub async fn ensure_base_image(engine: &Engine) -> Result<&'static str, EngineError> {
    if has_image(engine, BASE_IMAGE).await {
        return Ok("present");
    }
    if try_pull(engine).await && has_image(engine, BASE_IMAGE).await {
        return Ok("pulled");
    }
    let busybox = host_busybox().ok_or_else(|| {
        EngineError::Context(
            "busybox:latest is missing, no registry answered and no static busybox is on this host \
             (install Debian's busybox-static)"
                .into(),
        )
    })?;
    let tar = rootfs_tar(&busybox)?;
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo("busybox")
        .tag("latest")
        .build();
    let mut s = engine
        .docker
        .create_image(Some(opts), Some(bollard::body_full(tar.into())), None);
    while let Some(item) = s.next().await {
        item?;
    }
    Ok("imported")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_keeps_the_binary_and_links_applets() {
        let Some(bb) = host_busybox() else {
            eprintln!("no host busybox; skipping");
            return;
        };
        let tar = rootfs_tar(&bb).expect("tar");
        let mut ar = tar::Archive::new(tar.as_slice());
        let mut saw_binary = false;
        let mut saw_sh = false;
        for e in ar.entries().expect("entries") {
            let e = e.expect("entry");
            let path = e.path().expect("path").to_string_lossy().into_owned();
            if path == "bin/busybox" {
                saw_binary = e.header().entry_type().is_file();
            }
            if path == "bin/sh" {
                saw_sh = e.link_name().expect("link").is_some();
            }
        }
        assert!(saw_binary && saw_sh);
    }
}
