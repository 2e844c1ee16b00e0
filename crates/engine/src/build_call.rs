//! One call to the engine's `/build`: the request (a BuildKit solve through the build
//! session, or the classic builder's tar upload), its answer streamed through the plan's
//! mapper into events. The driver (`run`) makes one for the build and one per state image.

use std::collections::HashMap;
use std::time::Instant;

use bollard::models::{BuildInfo, BuildInfoAux};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use crate::buildkit::VertexMapper;
use crate::classic::ClassicMapper;
use crate::connect::Engine;
use crate::error::EngineError;
use crate::filesync::ContextSession;
use crate::journal::Journal;
use crate::names::{BUILD_LABEL, IMAGE_LABEL_VALUE};
use crate::request::BuildRequest;
use crate::status::{Solved, StatusReport, emit};
use stagescope_context::BuildContext;
use stagescope_plan::{BuildEvent, BuilderKind};

pub(crate) fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Everything one engine build call needs.
pub(crate) struct Solve<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) kind: BuilderKind,
    pub(crate) req: &'a BuildRequest,
    pub(crate) dockerfile_text: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) tags: Vec<String>,
    /// BuildKit with the context through a session; `None` uploads a tar.
    pub(crate) session: Option<&'a ContextSession>,
}

impl Solve<'_> {
    fn options(&self, dockerfile_name: &str) -> bollard::query_parameters::BuildImageOptions {
        // The classic builder applies labels as an extra LABEL step after the last
        // instruction: a container and a commit (~1 s) on every build, and a final image
        // that is never cached. Its images are found by their stagescope.local tags instead.
        let labels: HashMap<&str, &str> = match self.kind {
            BuilderKind::Buildkit => HashMap::from([(BUILD_LABEL, IMAGE_LABEL_VALUE)]),
            BuilderKind::Classic => HashMap::new(),
        };
        let args: HashMap<&str, &str> = self
            .req
            .build_args
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut o = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile_name)
            .nocache(self.req.no_cache)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .buildargs(&args);
        if let Some(t) = &self.target {
            o = o.target(t);
        }
        if let Some(p) = &self.req.platform {
            o = o.platform(p);
        }
        // The API takes repeated `t` parameters; bollard keeps one, so extra tags are added
        // after the build.
        if let Some(t) = self.tags.first() {
            o = o.t(t);
        }
        match self.kind {
            BuilderKind::Buildkit => o
                .version(BuilderVersion::BuilderBuildKit)
                .session(&uuid::Uuid::new_v4().to_string())
                .build(),
            BuilderKind::Classic => o.version(BuilderVersion::BuilderV1).build(),
        }
    }
}

/// Classic events also go to the run's journal, which notes the intermediate images.
pub(crate) fn emit_noted(
    tx: &UnboundedSender<BuildEvent>,
    journal: Option<&mut Journal>,
    events: Vec<BuildEvent>,
) {
    if let Some(j) = journal {
        j.note(&events);
    }
    emit(tx, events);
}

/// Runs one build call and feeds its status through the mapper.
pub(crate) async fn solve(
    solve: &Solve<'_>,
    ctx: &BuildContext,
    tx: &UnboundedSender<BuildEvent>,
    mapper: &mut Mapper,
    report: &mut StatusReport<'_>,
    mut journal: Option<&mut Journal>,
) -> Result<Solved, EngineError> {
    let started = report.started();
    let (mut stream, sent, tar_failure) = match solve.session {
        Some(session) if solve.kind == BuilderKind::Buildkit => {
            // A cut given here or carried by the context (step mode's cut builds).
            let text = solve.dockerfile_text.as_deref().or(ctx.replacement_text());
            let name = session.dockerfile_for(text);
            let stream = session.build(solve.engine, solve.options(&name));
            let sent: Box<dyn Fn() -> u64 + Send> = Box::new(|| session.data_bytes());
            (stream, sent, None)
        }
        _ => {
            let ctx = match &solve.dockerfile_text {
                Some(text) => ctx.with_dockerfile_text(text.clone()),
                None => ctx.clone(),
            };
            let tar = ctx.stream();
            let progress = tar.progress();
            let failure = tar.failure();
            let options = solve.options(ctx.dockerfile_name());
            let body = bollard::body_try_stream(tar);
            let stream = solve.engine.docker.build_image(options, None, Some(body));
            let sent: Box<dyn Fn() -> u64 + Send> = Box::new(move || progress.bytes_sent());
            (stream.boxed(), sent, Some(failure))
        }
    };
    let mut image = None;
    let files = || solve.session.map(ContextSession::files_sent);
    while let Some(item) = stream.next().await {
        report.sent(sent());
        match item {
            Ok(BuildInfo {
                aux: Some(BuildInfoAux::BuildKit(status)),
                ..
            }) => {
                if let Mapper::Buildkit(m) = mapper {
                    report.status(m, &status);
                }
            }
            Ok(BuildInfo {
                aux: Some(BuildInfoAux::Default(id)),
                ..
            }) => {
                if let Some(id) = id.id {
                    if let Mapper::Classic(m) = mapper {
                        let evs = m.on_aux_image(&id, elapsed_ms(started));
                        emit_noted(tx, journal.as_deref_mut(), evs);
                    }
                    image = Some(id);
                }
            }
            Ok(BuildInfo {
                stream: Some(text), ..
            }) => {
                if let Mapper::Classic(m) = mapper {
                    let evs = m.on_stream(&text, elapsed_ms(started));
                    emit_noted(tx, journal.as_deref_mut(), evs);
                }
            }
            Ok(_) => {}
            Err(bollard::errors::Error::DockerStreamError { mut error }) => {
                if let Some(why) = solve.session.and_then(ContextSession::closed_because) {
                    error = format!("{error} (the build session ended: {why})");
                }
                let ev = match mapper {
                    Mapper::Buildkit(m) => report.failure(m, &error),
                    Mapper::Classic(m) => m.on_error(&error),
                };
                emit(tx, [ev]);
                return Ok(Solved {
                    image,
                    failure: Some(error),
                    context: report.context_sent(sent(), files()),
                });
            }
            Err(e) => {
                // A context file that went unreadable mid-upload breaks the request; say
                // which file rather than what the HTTP client saw.
                return Err(match tar_failure.and_then(|f| f.message()) {
                    Some(why) => EngineError::Context(why),
                    None => e.into(),
                });
            }
        }
    }
    Ok(Solved {
        image,
        failure: None,
        context: report.context_sent(sent(), files()),
    })
}

pub(crate) enum Mapper {
    Buildkit(VertexMapper),
    Classic(ClassicMapper),
}
