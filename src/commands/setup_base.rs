//! `stagescope setup-base`: make `busybox:latest` without a registry, for tests and demos.

use stagescope_core::engine::base_image;

use super::{EXIT_FAILED, engine_for, fail, runtime};
use crate::cli::EngineArgs;

pub(crate) fn setup_base(args: &EngineArgs) -> u8 {
    runtime().block_on(async {
        let engine = match engine_for(args).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        match base_image::ensure_base_image(&engine).await {
            Ok(how) => {
                println!("{} {how}", base_image::BASE_IMAGE);
                0
            }
            Err(e) => fail(EXIT_FAILED, format!("error: {e}")),
        }
    })
}
