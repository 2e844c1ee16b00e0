//! `stagescope diff` and `stagescope diff-images`: index two filesystems, compare them, find
//! leftovers and secrets on the `to` side, attribute them to instructions, report, and exit
//! 1 when `--fail-on` says so.

use std::io::IsTerminal;

use stagescope::build::BuildPlan;
use stagescope::engine::clean as engine_clean;
use stagescope::engine::connect::Engine;
use stagescope::engine::export::{finish_cleanups, index_image};
use stagescope::engine::run::{BuildOutcome, new_build_id, state_image};
use stagescope::fs::FsIndex;
use stagescope::fs::diff::Diff;
use stagescope::fs::provenance::{CopySource, Inputs, Provenance, ReleaseModel};
use stagescope::fs::rules::RuleSet;
use stagescope::report;
use stagescope::report::diff::{DiffReport, FailOn};

use super::{
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Prepared, engine_for, fail, graph_of, interrupted,
    prepare, quiet_build, runtime, stage_index,
};
use crate::cli::{DiffArgs, DiffFormat, DiffImagesArgs, DiffOutput, FailOnArg};

/// A stage, or its state after instruction `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StageRef {
    stage: usize,
    at: Option<usize>,
}

impl StageRef {
    fn label(&self, plan: &BuildPlan) -> String {
        let name = plan.stages[self.stage].buildkit_name();
        match self.at {
            Some(n) => format!("{name}@{n}"),
            None => name,
        }
    }
}

/// `name`, `index`, or `name@N`.
fn parse_stage(plan: &BuildPlan, spec: &str) -> Result<StageRef, String> {
    let (name, at) = match spec.rsplit_once('@') {
        Some((n, k)) => {
            let k = k
                .parse::<usize>()
                .map_err(|_| format!("{spec:?}: expected STAGE@N with N a number"))?;
            (n, Some(k))
        }
        None => (spec, None),
    };
    let stage = stage_index(plan, name)?;
    let n = plan.stages[stage].instructions.len();
    if let Some(k) = at
        && k >= n
    {
        return Err(format!(
            "{spec}: stage {name} has instructions 0 to {}",
            n - 1
        ));
    }
    Ok(StageRef { stage, at })
}

fn load_rules(output: &DiffOutput) -> Result<RuleSet, u8> {
    match &output.rules {
        None => Ok(RuleSet::builtin()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(EXIT_USAGE, format!("{}: {e}", path.display())))?;
            RuleSet::with_user_toml(&text)
                .map_err(|e| fail(EXIT_USAGE, format!("{}: {e}", path.display())))
        }
    }
}

fn print_and_exit(r: &DiffReport, output: &DiffOutput) -> u8 {
    let out = match output.format {
        DiffFormat::Text => report::diff::text(r),
        DiffFormat::Json => report::diff::json(r),
        DiffFormat::Markdown => report::diff::markdown(r),
    };
    print!("{out}");
    let on = match output.fail_on {
        FailOnArg::Leftovers => FailOn::Leftovers,
        FailOnArg::Secrets => FailOn::Secrets,
        FailOnArg::None => FailOn::None,
    };
    if r.fails(on) { EXIT_FAILED } else { 0 }
}

fn note(show: bool, what: &str) {
    if show {
        eprintln!("{what}");
    }
}

async fn index(engine: &Engine, image: &str) -> Result<FsIndex, String> {
    index_image(engine, image, |_| {})
        .await
        .map_err(|e| format!("error: {e}"))
}

/// Runs `work`, stopping on Ctrl-C; waits for dropped export containers to go.
async fn interruptible<T>(work: impl Future<Output = Result<T, String>>) -> Result<T, u8> {
    let outcome = tokio::select! {
        res = work => Some(res),
        _ = interrupted() => None,
    };
    finish_cleanups().await;
    match outcome {
        None => Err(fail(EXIT_INTERRUPTED, "interrupted")),
        Some(Err(e)) => Err(fail(EXIT_FAILED, e)),
        Some(Ok(v)) => Ok(v),
    }
}

/// The image of a stage (or state) from one build's outcome, building a cut Dockerfile
/// from cache when the outcome has none.
async fn image_of(
    engine: &Engine,
    p: &Prepared,
    outcome: &BuildOutcome,
    s: StageRef,
) -> Result<String, String> {
    let last = p.plan.stages[s.stage].instructions.len().saturating_sub(1);
    let at = s.at.unwrap_or(last);
    if at == last
        && let Some(id) = outcome.stage_images.get(s.stage).cloned().flatten()
    {
        return Ok(id);
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let id = state_image(
        engine,
        outcome.builder,
        &p.req,
        &p.loaded.dockerfile,
        &p.ctx,
        &outcome.build_id,
        s.stage,
        at,
        &tx,
    )
    .await
    .map_err(|e| format!("error: {e}"))?;
    id.ok_or_else(|| {
        format!(
            "error: the engine made no image for stage {}",
            s.label(&p.plan)
        )
    })
}

struct Indexed {
    from: FsIndex,
    to: FsIndex,
    sources: Vec<(usize, FsIndex)>,
    base: Option<FsIndex>,
}

async fn build_and_index(
    engine: &Engine,
    p: &Prepared,
    from: StageRef,
    to: StageRef,
    model: &ReleaseModel,
    build_id: &str,
    show: bool,
) -> Result<Indexed, String> {
    note(show, "building (from cache when possible)…");
    let outcome = quiet_build(engine, p, build_id).await?;
    let whole = |stage| StageRef { stage, at: None };
    note(show, &format!("indexing {}…", from.label(&p.plan)));
    let from_ix = index(engine, &image_of(engine, p, &outcome, from).await?).await?;
    note(show, &format!("indexing {}…", to.label(&p.plan)));
    let to_ix = index(engine, &image_of(engine, p, &outcome, to).await?).await?;
    let mut sources = Vec::new();
    for s in model.source_stages() {
        let ix = if s == from.stage && from.at.is_none() {
            from_ix.clone()
        } else {
            note(
                show,
                &format!("indexing {} for provenance…", whole(s).label(&p.plan)),
            );
            index(engine, &image_of(engine, p, &outcome, whole(s)).await?).await?
        };
        sources.push((s, ix));
    }
    let base = match &model.base {
        CopySource::Stage(b) => match sources.iter().find(|(s, _)| s == b) {
            Some((_, ix)) => Some(ix.clone()),
            None => match image_of(engine, p, &outcome, whole(*b)).await {
                Ok(img) => index(engine, &img).await.ok(),
                Err(_) => None,
            },
        },
        CopySource::Image(name) if name == "scratch" => Some(FsIndex::default()),
        // The base image as the engine has it; without it, base and own stay undecided.
        CopySource::Image(name) => index(engine, name).await.ok(),
        CopySource::Context => None,
    };
    Ok(Indexed {
        from: from_ix,
        to: to_ix,
        sources,
        base,
    })
}

pub fn diff(args: &DiffArgs) -> u8 {
    let rules = match load_rules(&args.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let p = match prepare(&args.flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let graph = match graph_of(&p.loaded) {
        Ok(g) => g,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let to = match &args.to {
        Some(spec) => parse_stage(&p.plan, spec),
        None => Ok(StageRef {
            stage: p.plan.target,
            at: None,
        }),
    };
    let to = match to {
        Ok(t) => t,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let from = match &args.from {
        Some(spec) => parse_stage(&p.plan, spec),
        None => graph
            .copied_most_from(to.stage)
            .map(|stage| StageRef { stage, at: None })
            .ok_or_else(|| {
                format!(
                    "stage {} copies from no other stage; name one with --from",
                    to.label(&p.plan)
                )
            }),
    };
    let from = match from {
        Ok(f) => f,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let mut model = ReleaseModel::from_dockerfile(&p.loaded.dockerfile, to.stage);
    if let Some(n) = to.at {
        // The state after instruction N knows only the copies up to N.
        model.copies.retain(|c| c.instruction <= n);
        model.others.retain(|o| o.0 <= n);
    }
    let show = std::io::stderr().is_terminal();
    runtime().block_on(async {
        let engine = match engine_for(&args.flags.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let build_id = new_build_id();
        let indexed = interruptible(build_and_index(
            &engine, &p, from, to, &model, &build_id, show,
        ))
        .await;
        // What this run built is only needed while indexing.
        let _ = engine_clean::clean(&engine, Some(&build_id)).await;
        let ix = match indexed {
            Ok(ix) => ix,
            Err(code) => return code,
        };
        let stages: Vec<(usize, &FsIndex)> = ix.sources.iter().map(|(s, i)| (*s, i)).collect();
        let inputs = Inputs {
            stages: &stages,
            base: ix.base.as_ref(),
        };
        let prov = Provenance::attribute(&model, &ix.to, &inputs);
        let d = Diff::compute(&ix.from, &ix.to);
        let findings = rules.scan(&ix.to);
        let r = DiffReport::new(
            (&from.label(&p.plan), &ix.from),
            (&to.label(&p.plan), &ix.to),
            &d,
            &rules,
            &findings,
            Some((&model, &prov)),
        );
        print_and_exit(&r, &args.output)
    })
}

pub fn diff_images(args: &DiffImagesArgs) -> u8 {
    let rules = match load_rules(&args.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let engine = match engine_for(&args.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        let work = async {
            Ok((
                index(&engine, &args.from).await?,
                index(&engine, &args.to).await?,
            ))
        };
        let (a, b) = match interruptible(work).await {
            Ok(v) => v,
            Err(code) => return code,
        };
        let d = Diff::compute(&a, &b);
        let findings = rules.scan(&b);
        let r = DiffReport::new(
            (&args.from, &a),
            (&args.to, &b),
            &d,
            &rules,
            &findings,
            None,
        );
        print_and_exit(&r, &args.output)
    })
}
