//! `stagescope diff-images`: compare two images the engine has, without a Dockerfile.

use stagescope::engine::connect::Engine;
use stagescope::fs::FsIndex;
use stagescope::fs::compare::Comparison;
use stagescope::report::diff::DiffReport;
use stagescope::session::files::open_files;

use super::diff::{load_rules, print_and_exit};
use super::{engine_for, interruptible, runtime};
use crate::cli::DiffImagesArgs;

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
        let c = Comparison::compute((&args.from, a), (&args.to, b), &rules, None);
        let r = DiffReport::of(&c, &rules);
        print_and_exit(&r, &args.output)
    })
}

async fn index(engine: &Engine, image: &str) -> Result<FsIndex, String> {
    let opened = open_files(engine, image, |_| {})
        .await
        .map_err(|e| format!("error: {e}"))?;
    Ok(std::sync::Arc::unwrap_or_clone(opened.index))
}
