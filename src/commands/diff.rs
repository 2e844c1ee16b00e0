//! `stagescope diff`: compare two stages (or states) of a build — by default the final stage
//! against the stage it copies most from — find leftovers and secrets on the `to` side,
//! attribute them to instructions, report, and exit 1 when `--fail-on` says so.

use stagescope_core::engine::clean as engine_clean;
use stagescope_fs::rules::RuleSet;
use stagescope_plan::StageRef;
use stagescope_report as report;
use stagescope_report::diff::{DiffReport, FailOn};

use super::{
    EXIT_FAILED, EXIT_USAGE, fail, interruptible, prepare, progress_note, runtime, session_for,
};
use crate::cli::{DiffArgs, DiffFormat, DiffOutput, FailOnArg};

pub(super) fn load_rules(output: &DiffOutput) -> Result<RuleSet, u8> {
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

pub(super) fn print_and_exit(r: &DiffReport, output: &DiffOutput) -> u8 {
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

pub(crate) fn diff(args: &DiffArgs) -> u8 {
    let rules = match load_rules(&args.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let setup = match prepare(&args.flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let to = match &args.to {
        Some(spec) => StageRef::parse(&setup.plan, spec),
        None => Ok(StageRef::whole(setup.plan.target)),
    };
    let to = match to {
        Ok(t) => t,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let from = match &args.from {
        Some(spec) => StageRef::parse(&setup.plan, spec),
        None => setup
            .graph
            .copied_most_from(to.stage)
            .map(StageRef::whole)
            .ok_or_else(|| {
                format!(
                    "stage {} copies from no other stage; name one with --from",
                    to.label(&setup.plan)
                )
            }),
    };
    let from = match from {
        Ok(f) => f,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let note = progress_note();
    runtime().block_on(async {
        let session = match session_for(setup, &args.flags).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let work = async {
            note("building (from cache when possible)…");
            let built = session.build_quietly().await?;
            session
                .compare(&built, from, to, rules.clone(), &note)
                .await
        };
        let compared = interruptible(work).await;
        // What this run built is only needed while indexing.
        if let Ok(engine) = session.engine() {
            let _ = engine_clean::clean(engine, Some(&session.build_id)).await;
        }
        match compared {
            Ok(c) => print_and_exit(&DiffReport::of(&c.comparison, &rules), &args.output),
            Err(code) => code,
        }
    })
}
