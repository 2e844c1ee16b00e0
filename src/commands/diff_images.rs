//! `stagescope diff-images`: compare two images the engine has, without a Dockerfile.

use stagescope_core::session::files::index;
use stagescope_fs::compare::Comparison;
use stagescope_report::diff::DiffReport;

use super::diff::{load_rules, print_and_exit};
use super::{engine_for, interruptible, runtime};
use crate::cli::DiffImagesArgs;

pub(crate) fn diff_images(args: &DiffImagesArgs) -> u8 {
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
        let c = Comparison::compute((&args.from, a), (&args.to, b), &rules, None);
        let r = DiffReport::of(&c, &rules);
        print_and_exit(&r, &args.output)
    })
}
