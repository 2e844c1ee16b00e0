//! `stagescope history [CONTEXT]`, and how a command names a recorded run.

use std::path::Path;

use stagescope_core::history::RunRecord;
use stagescope_core::history::store::{self, Store};
use stagescope_report::history::{history_json, history_text};

use super::{EXIT_USAGE, fail, records_at, runtime};
use crate::cli::{HistoryArgs, HistoryFormat, RemoteArgs};

/// The user's run store, or the one-line reason there is none.
pub(super) fn user_store() -> Result<Store, String> {
    Store::user().ok_or_else(|| {
        "no run history: STAGESCOPE_NO_HISTORY is set, or neither XDG_STATE_HOME nor HOME is"
            .to_string()
    })
}

/// A run named on the command line: a `--record` file, else an id (prefix) of `context`.
pub(super) fn resolve(run: &str, context: &Path) -> Result<RunRecord, String> {
    let as_file = Path::new(run);
    if as_file.is_file() {
        return store::load(as_file);
    }
    let s = user_store()?;
    let entry = s.find(context, run)?;
    store::load(&entry.path)
}

/// A run named on the command line as [`resolve`] reads it, else the ref of a build the
/// BuildKit of `remote` remembers (asked only when no recorded run has that name).
pub(super) fn resolve_any(
    run: &str,
    context: &Path,
    remote: &RemoteArgs,
) -> Result<RunRecord, String> {
    let local = match resolve(run, context) {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    runtime().block_on(async {
        let bk = records_at(remote)
            .await
            .map_err(|e| format!("{local}; nor could BuildKit be asked for a build {run}: {e}"))?;
        match super::builds::load_run(&bk, run).await {
            Ok((_, r)) => Ok(r),
            Err(e) => Err(format!("{local}; {e}")),
        }
    })
}

pub(crate) fn history(args: &HistoryArgs) -> u8 {
    if !args.context.is_dir() {
        return fail(
            EXIT_USAGE,
            format!("{}: no such directory", args.context.display()),
        );
    }
    let s = match user_store() {
        Ok(s) => s,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let runs: Vec<RunRecord> = s
        .list(&args.context)
        .iter()
        .rev()
        .filter_map(|e| store::load(&e.path).ok())
        .collect();
    let shown = store::shown(&args.context);
    match args.format {
        HistoryFormat::Json => println!("{}", history_json(&shown, &runs)),
        HistoryFormat::Text if runs.is_empty() => {
            println!("no recorded runs of {shown}: `stagescope build` records one");
        }
        HistoryFormat::Text => print!("{}", history_text(&shown, &runs)),
    }
    0
}
