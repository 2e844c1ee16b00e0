//! The session's gRPC services: health (the daemon checks the session is alive) and
//! `moby.filesync.v1.FileSync/DiffCopy`, fsutil's send side — every entry's stat in walk
//! order, then the bytes of the files the daemon asks for (only those whose stat differs
//! from its copy of the last sync).

use std::collections::HashMap;
use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bollard_buildkit_proto::fsutil::types::Packet;
use bollard_buildkit_proto::fsutil::types::packet::PacketType;
use bollard_buildkit_proto::health::health_check_response::ServingStatus;
use bollard_buildkit_proto::health::health_server::Health;
use bollard_buildkit_proto::health::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};
use bollard_buildkit_proto::moby::filesync::packet::file_sync_server::FileSync;
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use super::memory::{PatternSet, SyncMemory};
use super::walk::{Filter, Item, Source, SyncDir};

/// fsutil's chunk size for file data.
const CHUNK: usize = 32 * 1024;

type PacketStream = Pin<Box<dyn Stream<Item = Result<Packet, Status>> + Send>>;

#[derive(Debug, Default)]
pub(super) struct Health0;

#[tonic::async_trait]
impl Health for Health0 {
    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    async fn list(
        &self,
        _: Request<HealthListRequest>,
    ) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch"))
    }
}

/// The directories a session offers, by name, and what it has sent.
#[derive(Debug, Default)]
pub(super) struct Dirs {
    pub dirs: Mutex<HashMap<String, (SyncDir, Vec<String>)>>,
    /// File bytes sent (PACKET_DATA payloads), for the progress line and the tests.
    pub sent: AtomicU64,
    /// Files whose bytes were sent.
    pub files_sent: AtomicU64,
    /// The include sets the context's solves asked for lately: each solve is offered them
    /// all, so no solve deletes from the daemon's copy what another one needs.
    pub memory: Mutex<SyncMemory>,
}

#[derive(Debug, Clone)]
pub(super) struct FileSyncService(pub Arc<Dirs>);

/// One option from the request's metadata: every value of `key`, URL-decoded when the
/// sender flagged it (`<key>-encoded: 1`, for non-ASCII text).
fn option(md: &MetadataMap, key: &str) -> Vec<String> {
    let encoded = md
        .get(format!("{key}-encoded"))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True"));
    md.get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| match encoded {
            true => query_unescape(v),
            false => v.to_string(),
        })
        .collect()
}

/// Go's `url.QueryUnescape` (`+` is a space); a broken escape is kept as written.
fn query_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn packet(kind: PacketType) -> Packet {
    Packet {
        r#type: kind as i32,
        ..Packet::default()
    }
}

#[tonic::async_trait]
impl FileSync for FileSyncService {
    type DiffCopyStream = PacketStream;
    type TarStreamStream = PacketStream;

    async fn diff_copy(
        &self,
        request: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        let md = request.metadata();
        let name = option(md, "dir-name")
            .into_iter()
            .next()
            .unwrap_or_default();
        let (dir, own_excludes) = self
            .0
            .dirs
            .lock()
            .map_err(|_| Status::internal("session state"))?
            .get(&name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no access allowed to dir {name:?}")))?;
        // The docker CLI's rule: the directory's own excludes (the .dockerignore) apply
        // unless the daemon says its own replace them.
        let override_excludes =
            option(md, "override-excludes").first().map(String::as_str) == Some("true");
        let mut excludes = option(md, "exclude-patterns");
        if !own_excludes.is_empty() && !override_excludes {
            excludes = own_excludes;
        }
        let asked = PatternSet {
            includes: option(md, "include-patterns"),
            follow: option(md, "followpaths"),
        };
        let offered = match name.as_str() {
            "context" => self
                .0
                .memory
                .lock()
                .map_err(|_| Status::internal("session state"))?
                .offer(asked),
            _ => asked,
        };
        let filter = Filter::new(&offered.includes, &excludes, &offered.follow, &dir.root)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let incoming = request.into_inner();
        let (tx, mut rx) = mpsc::channel::<Result<Packet, Status>>(64);
        // The context's bytes are what a warm build must not send; the Dockerfile's own
        // directory is read afresh by BuildKit 0.13 on every build (buildx's too).
        let counter = (name == "context").then(|| self.0.clone());
        tokio::spawn(send(dir, filter, incoming, tx, counter));
        let out = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        Ok(Response::new(Box::pin(out)))
    }

    async fn tar_stream(
        &self,
        _: Request<Streaming<Packet>>,
    ) -> Result<Response<PacketStream>, Status> {
        Err(Status::unimplemented("tarstream"))
    }
}

/// fsutil's sender: stats, then file data on request, until the daemon's FIN.
async fn send(
    dir: SyncDir,
    filter: Filter,
    mut incoming: Streaming<Packet>,
    tx: mpsc::Sender<Result<Packet, Status>>,
    counter: Option<Arc<Dirs>>,
) {
    let items = match tokio::task::spawn_blocking(move || dir.walk(&filter)).await {
        Ok(Ok(items)) => items,
        Ok(Err(e)) => return fail(&tx, e.to_string()).await,
        Err(e) => return fail(&tx, e.to_string()).await,
    };
    let mut files: HashMap<u32, Source> = HashMap::new();
    let stats: Vec<Packet> = items
        .into_iter()
        .enumerate()
        .map(|(i, Item { stat, source })| {
            if let (Some(src), Ok(id)) = (source, u32::try_from(i)) {
                files.insert(id, src);
            }
            Packet {
                stat: Some(stat),
                ..packet(PacketType::PacketStat)
            }
        })
        .collect();
    // The daemon asks for data while stats still arrive; both go out at once.
    let stat_tx = tx.clone();
    let stats = tokio::spawn(async move {
        for p in stats {
            if stat_tx.send(Ok(p)).await.is_err() {
                return;
            }
        }
        let _ = stat_tx.send(Ok(packet(PacketType::PacketStat))).await;
    });
    let (want_tx, mut want_rx) = mpsc::unbounded_channel::<(u32, Source)>();
    let data_tx = tx.clone();
    let data = tokio::spawn(async move {
        while let Some((id, src)) = want_rx.recv().await {
            if send_file(id, src, &data_tx, counter.as_deref())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    while let Some(p) = incoming.next().await {
        let Ok(p) = p else { break };
        match PacketType::try_from(p.r#type) {
            Ok(PacketType::PacketReq) => match files.remove(&p.id) {
                Some(src) => {
                    let _ = want_tx.send((p.id, src));
                }
                None => return fail(&tx, format!("invalid file id {}", p.id)).await,
            },
            Ok(PacketType::PacketFin) => {
                drop(want_tx);
                let _ = data.await;
                let _ = stats.await;
                let _ = tx.send(Ok(packet(PacketType::PacketFin))).await;
                return;
            }
            Ok(PacketType::PacketErr) => {
                let why = String::from_utf8_lossy(&p.data).into_owned();
                let _ = tx
                    .send(Err(Status::aborted(format!("error from receiver: {why}"))))
                    .await;
                break;
            }
            _ => {}
        }
    }
    stats.abort();
    data.abort();
}

async fn fail(tx: &mpsc::Sender<Result<Packet, Status>>, why: String) {
    let _ = tx
        .send(Ok(Packet {
            data: why.into_bytes(),
            ..packet(PacketType::PacketErr)
        }))
        .await;
}

/// A file's bytes in 32 KiB packets, then an empty one (its end). A file that cannot be
/// opened any more sends just the end, as fsutil does.
async fn send_file(
    id: u32,
    src: Source,
    tx: &mpsc::Sender<Result<Packet, Status>>,
    counter: Option<&Dirs>,
) -> Result<(), ()> {
    let count = |n: usize| {
        if let Some(d) = counter {
            d.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let data = |chunk: Vec<u8>| Packet {
        id,
        data: chunk,
        ..packet(PacketType::PacketData)
    };
    match src {
        Source::Bytes(b) => {
            for c in b.chunks(CHUNK) {
                count(c.len());
                tx.send(Ok(data(c.to_vec()))).await.map_err(drop)?;
            }
        }
        Source::File(path) => {
            let (chunk_tx, mut chunk_rx) = mpsc::channel::<Vec<u8>>(4);
            let reader = tokio::task::spawn_blocking(move || {
                let Ok(mut f) = std::fs::File::open(&path) else {
                    return;
                };
                loop {
                    let mut buf = vec![0; CHUNK];
                    match f.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            buf.truncate(n);
                            if chunk_tx.blocking_send(buf).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
            while let Some(c) = chunk_rx.recv().await {
                count(c.len());
                tx.send(Ok(data(c))).await.map_err(drop)?;
            }
            let _ = reader.await;
        }
    }
    if let Some(d) = counter {
        d.files_sent.fetch_add(1, Ordering::Relaxed);
    }
    tx.send(Ok(data(Vec::new()))).await.map_err(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_unescape_is_gos() {
        assert_eq!(query_unescape("a%20b+c"), "a b c");
        assert_eq!(query_unescape("%C3%A9t%C3%A9"), "été");
        assert_eq!(query_unescape("50%"), "50%");
        assert_eq!(query_unescape("%zz"), "%zz");
    }
}
