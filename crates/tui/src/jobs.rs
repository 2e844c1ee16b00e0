//! The TUI's background work: thin tasks over the session core that send their answers
//! into the loop's one channel, by value, with the request id they were asked with. At most
//! one task of each kind runs: a newer request aborts the older (gitui's `AsyncSingleJob`),
//! and the pane drops an answer whose id is not its current one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::diff::preview::{FetchSides, Sides};
use crate::diff::{DiffData, Indexed};
use crate::files::{FilesCmd, FilesMsg, Shared};
use crate::msg::Msg;
use stagescope_core::session::{Events, Session, SessionError, SharedError};
use stagescope_fs::IndexBuilder;
use stagescope_fs::rules::RuleSet;
use stagescope_plan::StageRef;

/// How often a snapshot of a streaming index reaches the screen, at most.
pub(crate) const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);
/// Progress-only messages in between.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// One task slot: spawning aborts what ran in it before.
#[derive(Default)]
struct SingleJob(Option<JoinHandle<()>>);

impl SingleJob {
    fn spawn(&mut self, work: impl Future<Output = ()> + Send + 'static) {
        if let Some(old) = self.0.replace(tokio::spawn(work)) {
            old.abort();
        }
    }

    fn stop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

pub(crate) struct Jobs {
    session: Arc<Session>,
    events: Events,
    tx: UnboundedSender<Msg>,
    export: SingleJob,
    layers: SingleJob,
    preview: SingleJob,
    compare: SingleJob,
    sides: SingleJob,
    explain: SingleJob,
}

impl Jobs {
    /// `events` carries what the session reports while it works (cache builds of states).
    pub(crate) fn new(session: Arc<Session>, events: Events, tx: UnboundedSender<Msg>) -> Self {
        Jobs {
            session,
            events,
            tx,
            export: SingleJob::default(),
            layers: SingleJob::default(),
            preview: SingleJob::default(),
            compare: SingleJob::default(),
            sides: SingleJob::default(),
            explain: SingleJob::default(),
        }
    }

    /// Aborts everything (the program ends). Export containers of aborted tasks are removed
    /// by their guards; `finish_cleanups` waits for that.
    pub(crate) fn stop(&mut self) {
        self.stop_files();
        self.compare.stop();
        self.sides.stop();
        self.explain.stop();
    }

    fn stop_files(&mut self) {
        self.export.stop();
        self.layers.stop();
        self.preview.stop();
    }

    pub(crate) fn files(&mut self, cmd: FilesCmd) {
        let s = self.session.clone();
        let tx = self.tx.clone();
        let send = move |m: FilesMsg| {
            let _ = tx.send(Msg::Files(m));
        };
        match cmd {
            FilesCmd::Cancel => self.stop_files(),
            FilesCmd::Open {
                req,
                stage,
                instruction,
                image,
            } => {
                self.stop_files();
                let events = self.events.clone();
                self.export.spawn(async move {
                    let at = StageRef {
                        stage,
                        at: Some(instruction),
                    };
                    open_files(&s, &events, send, req, at, image).await;
                });
            }
            FilesCmd::Layers {
                req,
                stage,
                instruction,
                image,
                index,
            } => self.layers.spawn(async move {
                let result = s
                    .layer_info(&image, stage, instruction, index.0.clone())
                    .await
                    .map(Shared::new)
                    .map_err(SharedError::from);
                send(FilesMsg::Layers { req, result });
            }),
            FilesCmd::Preview { req, image, path } => self.preview.spawn(async move {
                let result = s.preview(&image, &path).await.map_err(SharedError::from);
                send(FilesMsg::Preview { req, result });
            }),
            FilesCmd::Extract {
                req,
                image,
                path,
                dest,
            } => {
                // Never aborted: a half-written extraction is worse than a late notice.
                tokio::spawn(async move {
                    let result = s
                        .extract(&image, &path, &dest)
                        .await
                        .map_err(SharedError::from);
                    send(FilesMsg::Extracted { req, result });
                });
            }
        }
    }

    /// Compares two whole stages; `images` holds the images the build made, per stage.
    pub(crate) fn compare(
        &mut self,
        request: u64,
        from: usize,
        to: usize,
        images: Vec<Option<String>>,
    ) {
        let (s, tx) = (self.session.clone(), self.tx.clone());
        self.compare.spawn(async move {
            let rules = RuleSet::builtin();
            let work = async {
                let (from, to) = (StageRef::whole(from), StageRef::whole(to));
                let c = s.compare(&images, from, to, rules.clone(), &|_| {}).await?;
                let mut data = tokio::task::spawn_blocking(move || {
                    DiffData::from_comparison(c.comparison, &rules)
                })
                .await?;
                data.images = Some(c.images);
                Ok::<_, SessionError>(Box::new(data))
            };
            let result = work.await.map_err(SharedError::from);
            let _ = tx.send(Msg::DiffIndexed(Indexed { request, result }));
        });
    }

    /// The Explain pane's numbers for one built stage (its files, bytes and layers).
    pub(crate) fn explain_numbers(
        &mut self,
        stage: usize,
        at: Option<usize>,
        images: Vec<Option<String>>,
    ) {
        let (s, tx) = (self.session.clone(), self.tx.clone());
        self.explain.spawn(async move {
            let result = s
                .state_numbers(&images, StageRef { stage, at }, None)
                .await
                .map(|(n, _index)| n)
                .map_err(SharedError::from);
            let _ = tx.send(Msg::ExplainNumbers { stage, at, result });
        });
    }

    /// Both sides of one file, read at once (each in its own throwaway container).
    pub(crate) fn sides(&mut self, job: FetchSides) {
        let (s, tx) = (self.session.clone(), self.tx.clone());
        self.sides.spawn(async move {
            let one = async |side: Option<(String, Vec<u8>)>| {
                let (image, path) = side?;
                Some(s.fetch(&image, &path).await.map_err(SharedError::from))
            };
            let (left, right) = tokio::join!(one(job.left), one(job.right));
            let _ = tx.send(Msg::DiffSides(Sides {
                request: job.request,
                left,
                right,
            }));
        });
    }
}

async fn open_files(
    s: &Session,
    events: &Events,
    send: impl Fn(FilesMsg) + Clone + Send + 'static,
    req: u64,
    at: StageRef,
    image: Option<String>,
) {
    let fail = |e: SessionError| {
        send(FilesMsg::Indexed {
            req,
            result: Err(e.into()),
            image_id: None,
            from_cache: false,
            waste: None,
        })
    };
    let image = match image {
        Some(i) => i,
        None => match s.state_image(&[], at, events).await {
            Ok(i) => {
                send(FilesMsg::Image {
                    req,
                    image: i.clone(),
                });
                i
            }
            Err(e) => return fail(e),
        },
    };
    let mut snaps = Snapshots {
        send: Box::new(send.clone()),
        req,
        // The first rows are shown as soon as they are known (say, a state's known layers).
        last_snapshot: Instant::now()
            .checked_sub(SNAPSHOT_EVERY)
            .unwrap_or_else(Instant::now),
        last_progress: Instant::now(),
        interval: SNAPSHOT_EVERY,
    };
    match s
        .open_files(&image, move |b: &IndexBuilder| snaps.observe(b))
        .await
    {
        Ok(o) => send(FilesMsg::Indexed {
            req,
            result: Ok(Shared(o.index)),
            image_id: o.image_id,
            from_cache: o.from_cache,
            waste: o.waste.map(Shared),
        }),
        Err(e) => fail(e),
    }
}

/// Takes a snapshot of what arrived when the last one is old enough; the interval grows
/// with the snapshot's own cost, so a huge image is not indexed mostly to be redrawn.
struct Snapshots {
    send: Box<dyn Fn(FilesMsg) + Send>,
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
        (self.send)(FilesMsg::Progress {
            req: self.req,
            progress: b.progress(),
            snapshot,
        });
    }
}
