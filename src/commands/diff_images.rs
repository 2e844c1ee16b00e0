//! `stagescope diff-images`: compare two images the engine has, without a Dockerfile.

use std::sync::Arc;

use stagescope_core::session::files::{ImageRef, index, open_image_ref};
use stagescope_fs::compare::Comparison;
use stagescope_report::diff::DiffReport;

use super::diff::{load_rules, print_and_exit};
use super::{engine_for, interruptible, platform_of, runtime};
use crate::cli::DiffImagesArgs;

pub(crate) fn diff_images(args: &DiffImagesArgs) -> u8 {
    let rules = match load_rules(&args.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime().block_on(async {
        let (from, to) = (ImageRef::parse(&args.from), ImageRef::parse(&args.to));
        // An engine only for an image by name: two archives need none.
        let engine = if from.needs_engine() || to.needs_engine() {
            match engine_for(&args.engine).await {
                Ok(e) => Some(e),
                Err(code) => return code,
            }
        } else {
            None
        };
        let platform = match platform_of(args.platform.as_deref()) {
            Ok(p) => p,
            Err(code) => return code,
        };
        let open = |image: ImageRef| {
            let engine = engine.clone();
            let platform = platform.clone();
            async move {
                match (&image, engine) {
                    (ImageRef::Engine(name), Some(e)) => index(&e, name).await,
                    _ => {
                        let o = open_image_ref(None, &image, platform, |_| {}).await?;
                        Ok(Arc::unwrap_or_clone(o.index))
                    }
                }
            }
        };
        let work = async { Ok((open(from).await?, open(to).await?)) };
        let (a, b) = match interruptible(work).await {
            Ok(v) => v,
            Err(code) => return code,
        };
        let c = Comparison::compute((&args.from, a), (&args.to, b), &rules, None);
        let r = DiffReport::of(&c, &rules);
        print_and_exit(&r, &args.output)
    })
}
