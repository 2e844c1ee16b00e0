//! `stagescope builds [show REF]`: the builds BuildKit itself remembers, whoever ran them.

use stagescope_core::builds::{self, HistoryRecord};
use stagescope_core::engine::Buildkit;
use stagescope_core::history::RunRecord;
use stagescope_report::builds::{builds_json, builds_text, show_json, show_text};

use super::completions::print_all;
use super::{EXIT_FAILED, fail, records_at, runtime};
use crate::cli::{BuildsArgs, BuildsCommand, HistoryFormat, RemoteArgs};

pub(crate) fn builds(args: &BuildsArgs) -> u8 {
    if let Some(BuildsCommand::Show(show)) = &args.command {
        return runtime().block_on(async {
            let bk = match records_at(&show.remote).await {
                Ok(b) => b,
                Err(e) => return fail(EXIT_FAILED, e),
            };
            let (rec, run) = match load_run(&bk, &show.r#ref).await {
                Ok(r) => r,
                Err(e) => return fail(EXIT_FAILED, e),
            };
            let out = match show.format {
                HistoryFormat::Text => show_text(&rec, &run),
                HistoryFormat::Json => format!("{}\n", show_json(&rec, &run)),
            };
            print_all(out.as_bytes())
        });
    }
    runtime().block_on(async {
        let (bk, all) = match records(&args.remote).await {
            Ok(r) => r,
            Err(e) => return fail(EXIT_FAILED, e),
        };
        let out = match args.format {
            HistoryFormat::Json => format!("{}\n", builds_json(&all)),
            HistoryFormat::Text if all.is_empty() => {
                format!("{} remembers no builds yet\n", bk.describe())
            }
            HistoryFormat::Text => builds_text(&all),
        };
        print_all(out.as_bytes())
    })
}

/// The BuildKit `remote` names and every record it keeps, newest first.
pub(super) async fn records(remote: &RemoteArgs) -> Result<(Buildkit, Vec<HistoryRecord>), String> {
    let bk = records_at(remote).await?;
    let all = builds::list(&bk).await?;
    Ok((bk, all))
}

/// A BuildKit record as a run: its Dockerfile and events, its misses explained against the
/// earlier records of the same Dockerfile.
pub(super) async fn load_run(
    bk: &Buildkit,
    wanted: &str,
) -> Result<(HistoryRecord, RunRecord), String> {
    let all = builds::list(bk).await?;
    let rec = builds::pick(bk, &all, wanted)?;
    let src = builds::source_of(bk, &rec, None).await?;
    let me = builds::skeleton(bk, &rec, &src)?;
    let earlier = builds::earlier_runs(bk, &all, &rec, &me).await;
    let run = builds::run_of(bk, &rec, (&src, me), earlier, |_| {}).await?;
    Ok((rec, run))
}
