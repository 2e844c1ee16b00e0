//! A build on a Control API BuildKit, and the filesystem of any of its states through the
//! tar exporter: no engine, no image store, nothing written to the host.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;

use super::addr::BuildkitAddr;
use super::{Buildkit, SolveSpec};
use crate::buildkit::VertexMapper;
use crate::error::EngineError;
use crate::export::pipe_to_blocking;
use crate::request::BuildRequest;
use crate::status::{Solved, StatusReport};
use stagescope_context::BuildContext;
use stagescope_fs::preview::FetchedFile;
use stagescope_fs::{FsIndex, IndexBuilder, Kind};

/// An exporter's name and attributes.
pub(crate) type Exporter = (&'static str, HashMap<String, String>);

/// Where a Control API build's result goes: nowhere (BuildKit keeps it in its cache) unless
/// tags are asked for, which only a BuildKit behind an engine can honour.
pub(crate) fn exporter(bk: &Buildkit, req: &BuildRequest) -> Result<Option<Exporter>, EngineError> {
    match (&bk.addr, req.tags.is_empty()) {
        (_, true) => Ok(None),
        (BuildkitAddr::Docker, false) => Ok(Some((
            "moby",
            HashMap::from([("name".to_string(), req.tags.join(","))]),
        ))),
        (addr, false) => Err(EngineError::Buildkit(format!(
            "--tag: BuildKit at {addr} has no image store here; its result stays in its cache (tag with an engine's builder)"
        ))),
    }
}

/// One solve on the Control API, its status through the plan's mapper: the driver's
/// (`run::run_build`) solve step for a Control API BuildKit.
pub(crate) async fn solve(
    bk: &Buildkit,
    spec: SolveSpec<'_>,
    mapper: &mut VertexMapper,
    report: &mut StatusReport<'_>,
) -> Result<Solved, EngineError> {
    let session = spec.session;
    let failure = bk
        .solve(spec, |status| {
            report.sent(session.data_bytes());
            report.status(mapper, status);
        })
        .await?;
    if let Some(why) = &failure {
        report.say(report.failure(mapper, why));
    }
    Ok(Solved {
        image: None,
        failure,
        context: report.context_sent(session.data_bytes(), Some(session.files_sent())),
    })
}

/// What to export: the Dockerfile text (None: the real one) and the target.
pub struct Export {
    pub dockerfile_text: Option<String>,
    pub target: Option<String>,
}

/// Solves `what` from cache with the tar exporter and hands the tar, as it arrives, to
/// `consume` on a blocking thread. Returns how the solve ended (why it failed, or that the
/// connection went) beside what `consume` made of the bytes: a consumer that stops early
/// may make the export fail, and on BuildKit 0.13 that cancels the whole call.
async fn export<T: Send + 'static>(
    bk: &Buildkit,
    req: &BuildRequest,
    ctx: &BuildContext,
    what: Export,
    consume: impl FnOnce(crate::export::ChannelReader) -> T + Send + 'static,
) -> Result<(Result<Option<String>, EngineError>, T), EngineError> {
    // From cache, as an engine's stage images are: the build just made every vertex.
    let req = BuildRequest {
        no_cache: false,
        tags: Vec::new(),
        ..req.clone()
    };
    let session = bk.session(ctx, &req).await?;
    // Owned by the stream: when the consumer is done the receiver goes, and the daemon's
    // export is told so instead of waiting on a full channel.
    let stream = chunk_stream(session.export_target().expect());
    let spec = SolveSpec {
        req: &req,
        session: &session,
        dockerfile_text: what.dockerfile_text.as_deref(),
        target: what.target,
        exporter: Some(("tar", HashMap::new())),
    };
    let (solved, consumed) = tokio::join!(
        async {
            let r = bk.solve(spec, |_| {}).await;
            // A solve that ends without exporting sends nothing: the reader must not wait.
            session.export_target().forget();
            r
        },
        pipe_to_blocking(stream, consume)
    );
    Ok((solved, consumed?))
}

/// The export's chunks as the stream `pipe_to_blocking` reads.
fn chunk_stream(
    mut rx: tokio::sync::mpsc::Receiver<super::super::filesync::receive::Chunk>,
) -> impl futures_util::Stream<Item = Result<Bytes, bollard::errors::Error>> {
    futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|c| {
            c.map(|c| {
                c.map_err(|e| bollard::errors::Error::IOError {
                    err: std::io::Error::other(e),
                })
            })
        })
    })
}

/// The filesystem of a state, indexed while the tar exporter streams it.
pub async fn index_state(
    bk: &Buildkit,
    req: &BuildRequest,
    ctx: &BuildContext,
    what: Export,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<FsIndex, EngineError> {
    let (failed, indexed) = export(bk, req, ctx, what, move |reader| {
        let mut b = IndexBuilder::new();
        b.read_tar_observed(reader, observe).map(|()| b.finish())
    })
    .await?;
    let failed = failed?;
    // A solve that failed sent no tar (or half of one): no index, whatever was read.
    if let Some(why) = failed {
        return Err(EngineError::Buildkit(why));
    }
    indexed.map_err(|e| EngineError::Buildkit(format!("tar export: {e}")))
}

/// The first `limit` bytes of one file of a state, read out of its tar export.
pub async fn fetch_state_file(
    bk: &Buildkit,
    req: &BuildRequest,
    ctx: &BuildContext,
    what: Export,
    path: &[u8],
    limit: usize,
) -> Result<FetchedFile, EngineError> {
    let want = trim_path(path).to_vec();
    let shown = String::from_utf8_lossy(path).into_owned();
    let (failed, found) = export(bk, req, ctx, what, move |reader| {
        find_in_tar(reader, &want, limit)
    })
    .await?;
    // Found: the export was stopped on purpose, whatever the solve says of that.
    let failed = match (&found, failed) {
        (Ok(Some(_)), _) => None,
        (_, failed) => failed?,
    };
    match (found, failed) {
        (Ok(Some(file)), _) => Ok(file),
        (_, Some(why)) => Err(EngineError::Buildkit(why)),
        (Ok(None), None) => Err(EngineError::Buildkit(format!("{shown}: not in this state"))),
        (Err(e), None) => Err(EngineError::Buildkit(format!("tar export: {e}"))),
    }
}

fn trim_path(p: &[u8]) -> &[u8] {
    let p = p.strip_prefix(b"./").unwrap_or(p);
    let p = p.strip_prefix(b"/").unwrap_or(p);
    p.strip_suffix(b"/").unwrap_or(p)
}

fn find_in_tar(
    reader: impl Read,
    want: &[u8],
    limit: usize,
) -> std::io::Result<Option<FetchedFile>> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if trim_path(&entry.path_bytes()) != want {
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            _ => Kind::Other,
        };
        let size = header.size()?;
        let mode = header.mode()?;
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let mut data = Vec::new();
        (&mut entry).take(limit as u64).read_to_end(&mut data)?;
        return Ok(Some(FetchedFile {
            kind,
            size,
            mode,
            link,
            data,
        }));
    }
    Ok(None)
}
