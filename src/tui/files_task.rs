//! The filesystem pane's background work, run as tokio tasks that send messages back by
//! value. At most one export (and one layer read, one preview) runs at a time: a new open
//! aborts the old one, whose container guard then removes its container.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::app::Session;
use super::fsview::{FilesCmd, FilesMsg, LayerInfo, Shared};
use super::preview::{PREVIEW_LIMIT, Preview};
use super::update::Msg;
use crate::build::{BuildEvent, BuildPlan};
use crate::engine::export::{image_layers, index_image_observed};
use crate::engine::fetch::{extract_path, fetch_path, image_id};
use crate::fs::cache::DiskCache;
use crate::fs::layers::ImageLayers;
use crate::fs::{FsIndex, IndexBuilder, Kind, escape};
use crate::report::added_by::map_layers;

/// How often a snapshot of a streaming index reaches the screen, at most.
pub const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);
/// Progress-only messages in between.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

pub struct FilesRunner {
    session: Arc<Session>,
    build_id: String,
    ev_tx: UnboundedSender<BuildEvent>,
    tx: UnboundedSender<Msg>,
    export: Option<JoinHandle<()>>,
    layers: Option<JoinHandle<()>>,
    preview: Option<JoinHandle<()>>,
}

fn send(tx: &UnboundedSender<Msg>, m: FilesMsg) {
    let _ = tx.send(Msg::Files(m));
}

fn replace(slot: &mut Option<JoinHandle<()>>, task: JoinHandle<()>) {
    if let Some(old) = slot.replace(task) {
        old.abort();
    }
}

impl FilesRunner {
    pub fn new(
        session: Arc<Session>,
        build_id: String,
        ev_tx: UnboundedSender<BuildEvent>,
        tx: UnboundedSender<Msg>,
    ) -> Self {
        FilesRunner {
            session,
            build_id,
            ev_tx,
            tx,
            export: None,
            layers: None,
            preview: None,
        }
    }

    /// Aborts everything running (the pane closed, or the program ends).
    pub fn stop(&mut self) {
        for t in [&mut self.export, &mut self.layers, &mut self.preview] {
            if let Some(t) = t.take() {
                t.abort();
            }
        }
    }

    pub fn run(&mut self, cmd: FilesCmd) {
        let s = self.session.clone();
        let tx = self.tx.clone();
        match cmd {
            FilesCmd::Cancel => self.stop(),
            FilesCmd::Open {
                req,
                stage,
                instruction,
                image,
            } => {
                self.stop();
                let build_id = self.build_id.clone();
                let ev_tx = self.ev_tx.clone();
                let task = tokio::spawn(async move {
                    open(s, build_id, ev_tx, tx, req, stage, instruction, image).await;
                });
                replace(&mut self.export, task);
            }
            FilesCmd::Layers {
                req,
                stage,
                instruction,
                image,
                index,
            } => {
                let task = tokio::spawn(async move {
                    let result = match image_layers(&s.engine, &image).await {
                        Ok(layers) => {
                            let plan = s.plan.clone();
                            tokio::task::spawn_blocking(move || {
                                layer_info(&plan, stage, instruction, &layers, &index)
                            })
                            .await
                            .map(Shared::new)
                            .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    send(&tx, FilesMsg::Layers { req, result });
                });
                replace(&mut self.layers, task);
            }
            FilesCmd::Preview { req, image, path } => {
                let task = tokio::spawn(async move {
                    let result = fetch_path(&s.engine, &image, &path, PREVIEW_LIMIT)
                        .await
                        .map(|f| match f.kind {
                            Kind::File => Preview::of_file(&path, f.size, &f.data),
                            Kind::Symlink => Preview::note(
                                &path,
                                format!(
                                    "symbolic link to {}",
                                    f.link.as_deref().map(escape).unwrap_or_default()
                                ),
                            ),
                            k => Preview::note(&path, format!("{}: nothing to show", k.as_str())),
                        })
                        .map_err(|e| e.to_string());
                    send(&tx, FilesMsg::Preview { req, result });
                });
                replace(&mut self.preview, task);
            }
            FilesCmd::Extract {
                req,
                image,
                path,
                dest,
            } => {
                let dest = expand_home(dest.trim());
                tokio::spawn(async move {
                    let result = extract_path(&s.engine, &image, &path, dest)
                        .await
                        .map(|(p, n)| format!("wrote {} ({n} bytes)", p.display()))
                        .map_err(|e| format!("not extracted: {e}"));
                    send(&tx, FilesMsg::Extracted { req, result });
                });
            }
        }
    }
}

fn expand_home(dest: &str) -> std::path::PathBuf {
    match (dest.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::PathBuf::from(home).join(rest),
        _ => std::path::PathBuf::from(dest),
    }
}

/// Attribution, instruction labels and the opened instruction's own changes, from the layers.
pub fn layer_info(
    plan: &BuildPlan,
    stage: usize,
    instruction: usize,
    layers: &ImageLayers,
    ix: &FsIndex,
) -> LayerInfo {
    let origins = map_layers(plan, stage, instruction, layers);
    let labels = layers
        .layers
        .iter()
        .zip(&origins)
        .enumerate()
        .map(|(i, (l, o))| match o {
            Some(o) => o.label(),
            // An imported base (`docker import`) has an empty history line.
            None => match l.created_by.as_deref().map(str::trim) {
                Some(c) if !c.is_empty() => format!("base: {c}"),
                _ => format!("base image, layer {i}"),
            },
        })
        .collect();
    let target_layer = origins.iter().rposition(|o| {
        o.as_ref()
            .is_some_and(|o| o.stage_index == stage && o.instruction == instruction)
    });
    let (added, deleted) = match target_layer.and_then(|t| layers.layers.get(t)) {
        Some(l) => (l.added.clone(), l.deleted.clone()),
        None => (Vec::new(), Vec::new()),
    };
    LayerInfo {
        attribution: layers.attribute(ix),
        labels,
        target_layer,
        added,
        deleted,
    }
}

/// Takes a snapshot of what arrived when the last one is old enough; the interval grows
/// with the snapshot's own cost, so a huge image is not indexed mostly to be redrawn.
struct Snapshots {
    tx: UnboundedSender<Msg>,
    req: u64,
    last_snapshot: Instant,
    last_progress: Instant,
    interval: Duration,
}

impl Snapshots {
    fn observe(&mut self, b: &IndexBuilder) {
        let now = Instant::now();
        let snapshot = if now.duration_since(self.last_snapshot) >= self.interval {
            let t = Instant::now();
            let ix = b.snapshot();
            self.interval = SNAPSHOT_EVERY.max(t.elapsed() * 4);
            self.last_snapshot = Instant::now();
            Some(Shared::new(ix))
        } else if now.duration_since(self.last_progress) < PROGRESS_EVERY {
            return;
        } else {
            None
        };
        self.last_progress = now;
        send(
            &self.tx,
            FilesMsg::Progress {
                req: self.req,
                progress: b.progress(),
                snapshot,
            },
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn open(
    s: Arc<Session>,
    build_id: String,
    ev_tx: UnboundedSender<BuildEvent>,
    tx: UnboundedSender<Msg>,
    req: u64,
    stage: usize,
    instruction: usize,
    image: Option<String>,
) {
    let fail = |e: String| {
        send(
            &tx,
            FilesMsg::Indexed {
                req,
                result: Err(e),
                image_id: None,
                from_cache: false,
            },
        )
    };
    let image = match image {
        Some(i) => i,
        None => {
            let made = s.state_image(&build_id, stage, instruction, &ev_tx).await;
            match made {
                Ok(Some(i)) => {
                    let _ = ev_tx.send(BuildEvent::StateImage {
                        stage,
                        instruction,
                        image: i.clone(),
                    });
                    send(
                        &tx,
                        FilesMsg::Image {
                            req,
                            image: i.clone(),
                        },
                    );
                    i
                }
                Ok(None) => return fail("the engine made no image for that state".into()),
                Err(e) => return fail(e),
            }
        }
    };
    let id = image_id(&s.engine, &image).await.ok();
    let disk = DiskCache::user();
    if let (Some(id), Some(disk)) = (id.clone(), disk.clone()) {
        let key = id.clone();
        let hit = tokio::task::spawn_blocking(move || disk.get(&key))
            .await
            .ok()
            .flatten();
        if let Some(ix) = hit {
            send(
                &tx,
                FilesMsg::Indexed {
                    req,
                    result: Ok(Shared::new(ix)),
                    image_id: Some(id),
                    from_cache: true,
                },
            );
            return;
        }
    }
    let mut snaps = Snapshots {
        tx: tx.clone(),
        req,
        last_snapshot: Instant::now(),
        last_progress: Instant::now(),
        interval: SNAPSHOT_EVERY,
    };
    match index_image_observed(&s.engine, &image, move |b: &IndexBuilder| snaps.observe(b)).await {
        Ok(ix) => {
            let ix = Shared::new(ix);
            send(
                &tx,
                FilesMsg::Indexed {
                    req,
                    result: Ok(ix.clone()),
                    image_id: id.clone(),
                    from_cache: false,
                },
            );
            if let (Some(id), Some(disk)) = (id, disk) {
                let _ = tokio::task::spawn_blocking(move || disk.put(&id, &ix)).await;
            }
        }
        Err(e) => fail(e.to_string()),
    }
}
