//! `stagescope compare [RUN_A] [RUN_B]`: two recorded runs side by side.

use stagescope_core::history::compare::compare as compare_runs;
use stagescope_core::history::store;
use stagescope_report::history::{compare_json, compare_markdown, compare_text};

use super::history::{resolve_any, user_store};
use super::{EXIT_USAGE, fail};
use crate::cli::{CompareArgs, DiffFormat};

pub(crate) fn compare(args: &CompareArgs) -> u8 {
    let pair = match (&args.a, &args.b) {
        (Some(a), Some(b)) => resolve_any(a, &args.context, &args.remote)
            .and_then(|a| Ok((a, resolve_any(b, &args.context, &args.remote)?))),
        (Some(a), None) => resolve_any(a, &args.context, &args.remote)
            .and_then(|a| Ok((a, newest(&args.context, 0)?))),
        _ => newest(&args.context, 1).and_then(|a| Ok((a, newest(&args.context, 0)?))),
    };
    let (a, b) = match pair {
        Ok(p) => p,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let c = compare_runs(&a, &b);
    match args.format {
        DiffFormat::Text => print!("{}", compare_text(&c, &a, &b)),
        DiffFormat::Markdown => print!("{}", compare_markdown(&c, &a, &b)),
        DiffFormat::Json => println!("{}", compare_json(&c)),
    }
    0
}

/// The `back`-th newest run of the context's newest Dockerfile (0: the newest).
fn newest(
    context: &std::path::Path,
    back: usize,
) -> Result<stagescope_core::history::RunRecord, String> {
    let s = user_store()?;
    let runs = s.list(context);
    let Some(last) = runs.last() else {
        return Err(format!(
            "no recorded runs of {}: `stagescope build` records one",
            store::shown(context)
        ));
    };
    let same: Vec<_> = runs
        .iter()
        .rev()
        .filter(|e| e.dockerfile_key == last.dockerfile_key)
        .collect();
    match same.get(back) {
        Some(e) => store::load(&e.path),
        None => Err(format!(
            "only {} recorded run of {}: build again to compare",
            same.len(),
            store::shown(context)
        )),
    }
}
