//! Builds stagescope did not start: the records BuildKit itself keeps of every build it
//! ran (buildx's, Compose's, an IDE's, stagescope's), turned into the same [`RunRecord`] a
//! stagescope run leaves, so that `replay`, `compare` and the reports read them alike.
//!
//! A record's instructions are placed by BuildKit's own source map (the provenance of the
//! record: vertex digest -> Dockerfile lines), its Dockerfile is the one the provenance
//! holds, its base image digests are its materials. A failed build has no provenance: its
//! Dockerfile comes from the error's source, its vertexes are placed by their labels, as a
//! live build's are. A build still running has neither: its Dockerfile is the one on disk.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_engine::connect::{Environment, connect};
use stagescope_engine::control::Buildkit;
use stagescope_engine::control::addr::BuildkitAddr;
use stagescope_engine::control::provenance::{SourceMap, source_map};
use stagescope_plan::{BuildEvent, BuildPlan, BuilderKind};

use crate::history::Recorder;
use crate::history::facts::step_facts;
use crate::history::record::{FORMAT, Outcome, RunRecord};

pub use stagescope_engine::control::history::{ErrorSource, HistoryRecord, RecordError};

/// Earlier records read to explain a record's cache misses.
const EARLIER: usize = 3;

/// The BuildKit whose history to read: `addr` (`--buildkit-addr`), else the engine's own
/// through its `/grpc` endpoint.
pub async fn reach(host: Option<String>, addr: Option<BuildkitAddr>) -> Result<Buildkit, String> {
    match addr {
        Some(a @ (BuildkitAddr::Unix(_) | BuildkitAddr::Tcp { .. })) => {
            Buildkit::connect(a, None).await
        }
        _ => {
            let engine = connect(&Environment::from_process(host))
                .await
                .map_err(|e| e.to_string())?;
            // Podman builds with buildah: there is no BuildKit to keep records.
            if !engine.offers_buildkit() {
                return Err(format!(
                    "{} has no BuildKit, so it keeps no BuildKit build history",
                    engine.describe()
                ));
            }
            Buildkit::connect(BuildkitAddr::Docker, Some(engine)).await
        }
    }
}

/// Every record, newest first.
pub async fn list(bk: &Buildkit) -> Result<Vec<HistoryRecord>, String> {
    bk.build_history().await.map_err(|e| e.to_string())
}

/// One record of `all` (listed from `bk`): by ref, a prefix of it, or `builder/node/ref` as
/// buildx prints it.
pub fn pick(bk: &Buildkit, all: &[HistoryRecord], wanted: &str) -> Result<HistoryRecord, String> {
    bk.pick_record(all, wanted).map_err(|e| e.to_string())
}

/// The Dockerfile a record's build read, with the source map when the record has one.
#[derive(Debug, Clone)]
pub struct RecordSource {
    pub path: PathBuf,
    pub text: String,
    pub map: Option<SourceMap>,
}

/// Where the Dockerfile of `rec` is: its provenance, its error, else `on_disk` (a build
/// still running keeps it nowhere yet).
pub async fn source_of(
    bk: &Buildkit,
    rec: &HistoryRecord,
    on_disk: Option<&Path>,
) -> Result<RecordSource, String> {
    let mut why = String::new();
    for digest in &rec.provenance {
        let map = bk
            .read_blob(digest)
            .await
            .map_err(|e| e.to_string())
            .and_then(|doc| source_map(&doc));
        match map {
            Ok(map) => {
                return Ok(RecordSource {
                    path: PathBuf::from(&map.filename),
                    text: map.dockerfile.clone(),
                    map: Some(map),
                });
            }
            Err(e) => why = format!(" (its provenance: {e})"),
        }
    }
    if let Some(src) = rec.error.as_ref().and_then(|e| e.source.as_ref())
        && !src.data.is_empty()
    {
        return Ok(RecordSource {
            path: PathBuf::from(&src.filename),
            text: String::from_utf8_lossy(&src.data).into_owned(),
            map: None,
        });
    }
    if let Some(path) = on_disk {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the Dockerfile: {e}", path.display()))?;
        return Ok(RecordSource {
            path: path.to_path_buf(),
            text,
            map: None,
        });
    }
    let state = if rec.active() {
        "is still running and its record holds no Dockerfile until it ends"
    } else {
        "left no Dockerfile in its record"
    };
    Err(format!(
        "build {} {state}{why}; pass the Dockerfile with -f",
        rec.r#ref
    ))
}

/// The graph options the record's build ran with.
fn options(rec: &HistoryRecord) -> GraphOptions {
    GraphOptions {
        target: rec.target().map(str::to_string),
        build_args: rec.build_args(),
        platform: rec.attrs.get("platform").filter(|p| !p.is_empty()).cloned(),
    }
}

/// A run with the record's facts and no events yet: what a front end opens before the
/// events come.
pub fn skeleton(
    bk: &Buildkit,
    rec: &HistoryRecord,
    src: &RecordSource,
) -> Result<RunRecord, String> {
    let at = src.path.display();
    let df = Dockerfile::parse(src.text.as_bytes())
        .map_err(|e| format!("{at}:{}:{}: {}", e.line, e.col, e.message))?;
    let opts = options(rec);
    let graph = StageGraph::build(&df, &opts)
        .map_err(|e| format!("{at}:{}:{}: {}", e.line, e.col, e.message))?;
    let plan = BuildPlan::from_model(&df, &graph);
    let base_ids = plan
        .stages
        .iter()
        .map(|st| {
            let map = src.map.as_ref()?;
            st.base_stage
                .is_none()
                .then(|| map.image_digest(&st.base).map(str::to_string))
                .flatten()
        })
        .collect();
    let context = rec
        .attrs
        .get("vcs:localdir:context")
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    Ok(RunRecord {
        format: FORMAT,
        id: rec.r#ref.clone(),
        started_unix_ms: rec.created_ms.unwrap_or(0),
        context,
        dockerfile: src.path.clone(),
        dockerfile_text: src.text.clone(),
        target: opts.target.clone(),
        build_args: opts.build_args.clone(),
        platform: opts.platform.clone(),
        no_cache: rec.attrs.contains_key("no-cache"),
        builder: Some(BuilderKind::Buildkit),
        engine: bk.describe(),
        steps: step_facts(&df, &opts),
        plan,
        base_ids,
        inputs: BTreeMap::new(),
        // BuildKit keeps no digests of the context files: a files-changed miss cannot be told.
        inputs_truncated: true,
        events: Vec::new(),
        log_bytes_dropped: 0,
        outcome: Outcome::Interrupted,
        wall_ms: 0,
    })
}

/// The record as a run: `run` (its [`skeleton`]) with its events replayed (followed live
/// while the build still runs, each handed to `on_event` as it comes, a cache miss's reason
/// before its instruction's end), its misses explained against `previous` (earlier runs of
/// the same Dockerfile, newest first).
pub async fn run_of(
    bk: &Buildkit,
    rec: &HistoryRecord,
    (src, run): (&RecordSource, RunRecord),
    previous: Vec<RunRecord>,
    mut on_event: impl FnMut(&BuildEvent),
) -> Result<RunRecord, String> {
    let plan = run.plan.clone();
    let mut recorder = Recorder::new(run, previous);
    let lines: Option<&HashMap<String, Vec<u32>>> = src.map.as_ref().map(|m| &m.lines);
    bk.record_events(rec, plan, lines, |at, ev| {
        if let Some(miss) = recorder.on_event_at(&ev, at) {
            on_event(&miss);
        }
        on_event(&ev);
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(recorder.finish())
}

/// What makes two records builds of the same Dockerfile: its name, its stages (by name)
/// and the target. Texts may differ: that is what a miss explains.
fn same_dockerfile(a: &RunRecord, b: &RunRecord) -> bool {
    let names = |r: &RunRecord| -> Vec<Option<String>> {
        r.plan.stages.iter().map(|s| s.name.clone()).collect()
    };
    a.dockerfile == b.dockerfile && a.target == b.target && names(a) == names(b)
}

/// Up to [`EARLIER`] runs from the records before `rec` (in `all`, newest first) that built
/// the same Dockerfile as `me` (its [`skeleton`]), newest first. A record that cannot be
/// read is passed over.
pub async fn earlier_runs(
    bk: &Buildkit,
    all: &[HistoryRecord],
    rec: &HistoryRecord,
    me: &RunRecord,
) -> Vec<RunRecord> {
    let mut out = Vec::new();
    let before = all.iter().filter(|r| {
        r.r#ref != rec.r#ref
            && !r.active()
            && r.created_ms < rec.created_ms
            && r.dockerfile_name() == rec.dockerfile_name()
            && r.target() == rec.target()
    });
    for r in before {
        if out.len() == EARLIER {
            break;
        }
        let Ok(s) = source_of(bk, r, None).await else {
            continue;
        };
        let Ok(k) = skeleton(bk, r, &s) else {
            continue;
        };
        if !same_dockerfile(me, &k) {
            continue;
        }
        if let Ok(run) = run_of(bk, r, (&s, k), Vec::new(), |_| {}).await {
            out.push(run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_options_come_from_its_frontend_attrs() {
        let rec = HistoryRecord {
            attrs: [
                ("target", "release"),
                ("build-arg:GREETING", "hej"),
                ("platform", "linux/arm64"),
                ("filename", "Dockerfile"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            ..HistoryRecord::default()
        };
        let o = options(&rec);
        assert_eq!(o.target.as_deref(), Some("release"));
        assert_eq!(o.build_args["GREETING"], "hej");
        assert_eq!(o.platform.as_deref(), Some("linux/arm64"));
    }
}
