//! A stage's filesystem, streamed: create a container of the image (never started), export
//! it, and feed the tar bytes to the indexer on a blocking thread as they arrive. Nothing is
//! written to the host disk, and the container is removed on every path out — success,
//! error, or the future being dropped (Ctrl-C).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptionsBuilder};
use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::connect::Engine;
use super::error::EngineError;
use super::names::BUILD_LABEL;
use stagescope_fs::layers::{ImageLayers, read_save};
use stagescope_fs::{FsIndex, IndexBuilder, Progress};

/// Label value of export containers: `dev.stagescope.build=export`.
pub(crate) const EXPORT_LABEL_VALUE: &str = "export";

/// A whole image streamed (export or save) may take minutes on a slow storage driver: the
/// client's request timeout (two minutes, for every request) would cut it. Ctrl-C ends it.
pub(crate) const STREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The engine's client for one long stream.
pub fn streaming(engine: &Engine) -> bollard::Docker {
    engine.docker.clone().with_timeout(STREAM_TIMEOUT)
}

/// Chunks in flight between the daemon and the indexer: enough to keep both busy, few
/// enough that a slow indexer slows the download instead of filling memory.
const CHANNEL_CHUNKS: usize = 16;

/// A `std::io::Read` over a channel of byte chunks, for a blocking consumer (the `tar`
/// crate) fed by an async producer. Must be read on a blocking thread.
#[derive(Debug)]
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    pub(crate) fn new(rx: mpsc::Receiver<std::io::Result<Bytes>>) -> Self {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Feeds `stream` to `consume` running on a blocking thread, with backpressure. When the
/// consumer stops early (it has read all it wants, or failed) the stream is dropped.
pub(crate) async fn pipe_to_blocking<S, T, F>(stream: S, consume: F) -> Result<T, EngineError>
where
    S: Stream<Item = Result<Bytes, bollard::errors::Error>>,
    F: FnOnce(ChannelReader) -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let worker = tokio::task::spawn_blocking(move || consume(ChannelReader::new(rx)));
    let mut stream = std::pin::pin!(stream);
    let mut stream_error = None;
    while let Some(item) = stream.next().await {
        let item = item.map_err(|e| {
            let msg = e.to_string();
            stream_error = Some(EngineError::from(e));
            std::io::Error::other(msg)
        });
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    let out = worker
        .await
        .map_err(|e| EngineError::Docker(format!("indexer thread: {e}")))?;
    match stream_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Removals started by dropped guards (and detached creations), so a command can wait for
/// them before exiting.
static PENDING_REMOVALS: Mutex<Vec<tokio::task::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits for the container removals that dropped guards started (call before the runtime
/// goes away, e.g. after Ctrl-C).
pub async fn finish_cleanups() {
    let handles = match PENDING_REMOVALS.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    for h in handles {
        let _ = h.await;
    }
}

/// Owns a created container: removed by [`ContainerGuard::remove`], or on drop by a task.
#[derive(Debug)]
pub(crate) struct ContainerGuard {
    docker: bollard::Docker,
    id: Option<String>,
}

impl ContainerGuard {
    pub(crate) fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    pub(crate) async fn remove(mut self) -> Result<(), EngineError> {
        match self.id.take() {
            Some(id) => remove(&self.docker, &id).await,
            None => Ok(()),
        }
    }
}

async fn remove(docker: &bollard::Docker, id: &str) -> Result<(), EngineError> {
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    docker.remove_container(id, Some(opts)).await?;
    Ok(())
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let docker = self.docker.clone();
        track(rt.spawn(async move {
            let _ = remove(&docker, &id).await;
        }));
    }
}

/// Creates a never-started container of `image`, labelled for `clean` (see [`create_guarded`]).
pub(crate) async fn create_export_container(
    engine: &Engine,
    image: &str,
) -> Result<ContainerGuard, EngineError> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        // Never run; an image without CMD or ENTRYPOINT cannot be created without one.
        cmd: Some(vec!["/nonexistent".to_string()]),
        labels: Some(HashMap::from([(
            BUILD_LABEL.to_string(),
            EXPORT_LABEL_VALUE.to_string(),
        )])),
        network_disabled: Some(true),
        ..Default::default()
    };
    create_guarded(engine, None, body).await
}

/// Creates a container from `body` (named by `options`), owned by the guard it returns.
///
/// The create request runs in its own task: were it part of the caller's future, dropping
/// that future after the daemon made the container but before the answer arrived would
/// leave a container nobody knows of. The task hands the id over, or removes the container
/// itself when the caller has gone.
pub(crate) async fn create_guarded(
    engine: &Engine,
    options: Option<CreateContainerOptions>,
    body: ContainerCreateBody,
) -> Result<ContainerGuard, EngineError> {
    let docker = engine.docker.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let created = docker.create_container(options, body).await;
        if let Ok(c) = &created
            && tx.is_closed()
        {
            let _ = remove(&docker, &c.id).await;
            return;
        }
        if let Err(Ok(c)) = tx.send(created) {
            let _ = remove(&docker, &c.id).await;
        }
    });
    track(task);
    let created = rx
        .await
        .map_err(|_| EngineError::Docker("container creation was cancelled".into()))??;
    Ok(ContainerGuard {
        docker: engine.docker.clone(),
        id: Some(created.id),
    })
}

fn track(task: tokio::task::JoinHandle<()>) {
    if let Ok(mut v) = PENDING_REMOVALS.lock() {
        v.retain(|h| !h.is_finished());
        v.push(task);
    }
}

/// The whole filesystem of `image`, indexed as it streams. `on_progress` is called from the
/// indexing thread every ~1k entries and at the end.
pub async fn index_image(
    engine: &Engine,
    image: &str,
    mut on_progress: impl FnMut(Progress) + Send + 'static,
) -> Result<FsIndex, EngineError> {
    index_image_observed(engine, image, move |b: &IndexBuilder| {
        on_progress(b.progress())
    })
    .await
}

/// [`index_image`], showing `observe` the builder itself (for snapshots while it streams).
pub async fn index_image_observed(
    engine: &Engine,
    image: &str,
    observe: impl FnMut(&IndexBuilder) + Send + 'static,
) -> Result<FsIndex, EngineError> {
    let guard = create_export_container(engine, image).await?;
    let stream = streaming(engine).export_container(guard.id());
    let indexed = pipe_to_blocking(stream, move |reader| {
        let mut b = IndexBuilder::new();
        let res = b.read_tar_observed(reader, observe);
        res.map(|()| b.finish())
    })
    .await;
    let removed = guard.remove().await;
    let index = indexed?.map_err(|e| EngineError::Docker(format!("export of {image}: {e}")))?;
    removed?;
    Ok(index)
}

/// The layers of `image` and what each added or deleted, from a `docker save` stream
/// (read as it arrives, like the export).
pub async fn image_layers(engine: &Engine, image: &str) -> Result<ImageLayers, EngineError> {
    let stream = streaming(engine).export_image(image);
    pipe_to_blocking(stream, read_save)
        .await?
        .map_err(|e| EngineError::Docker(format!("save of {image}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipes_chunks_into_a_blocking_reader() {
        let chunks: Vec<Result<Bytes, bollard::errors::Error>> =
            (0..100u8).map(|i| Ok(Bytes::from(vec![i; 1000]))).collect();
        let got = pipe_to_blocking(futures_util::stream::iter(chunks), |mut r| {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map(|_| v)
        })
        .await
        .expect("pipe")
        .expect("read");
        assert_eq!(got.len(), 100_000);
        assert_eq!(got[99_999], 99);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_consumer_that_stops_early_ends_the_stream() {
        let endless = futures_util::stream::repeat_with(|| Ok(Bytes::from_static(&[0u8; 512])));
        let n = pipe_to_blocking(endless, |mut r| {
            let mut buf = [0u8; 100];
            r.read(&mut buf)
        })
        .await
        .expect("pipe")
        .expect("read");
        assert_eq!(n, 100);
    }
}
