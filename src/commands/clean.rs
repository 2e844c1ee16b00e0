//! `stagescope clean`: remove every image and container stagescope made.

use stagescope_core::engine::clean as engine_clean;

use super::{EXIT_FAILED, engine_for, fail, runtime};
use crate::cli::CleanArgs;

pub(crate) fn clean(args: &CleanArgs) -> u8 {
    runtime().block_on(async {
        let engine = match engine_for(&args.engine).await {
            Ok(e) => e,
            Err(code) => return code,
        };
        match engine_clean::clean(&engine, args.build.as_deref()).await {
            Ok(c) => {
                for id in &c.containers {
                    println!("removed container {id}");
                }
                for img in &c.images {
                    println!("removed image {img}");
                }
                if c.containers.is_empty() && c.images.is_empty() {
                    println!("nothing to remove");
                }
                0
            }
            Err(e) => fail(EXIT_FAILED, format!("error: {e}")),
        }
    })
}
