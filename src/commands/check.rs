//! `stagescope check`: BuildKit's build checks, no engine needed. Exit 0, 1 when
//! `error=true` and a warning remains, 2 for a Dockerfile (or check config) error — the
//! warnings found before it printed all the same, as `docker build --check` does.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use stagescope_context::BuildContext;
use stagescope_core::engine::{Environment, connect};
use stagescope_core::session::lint::{EngineFacts, with_input};
use stagescope_dockerfile::lint::{self, Report};
use stagescope_dockerfile::{Dockerfile, DockerfileError};
use stagescope_report as report;

use super::{EXIT_FAILED, EXIT_USAGE, fail, runtime};

/// How long `check` waits for an engine before checking without one.
const ENGINE_WAIT: Duration = Duration::from_secs(2);
use crate::cli::{CheckArgs, CheckFormat};

fn print(args: &CheckArgs, file: &str, report: &Report, error: Option<&DockerfileError>) {
    match args.format {
        CheckFormat::Text => {
            print!("{}", report::check::text(file, report));
            // Silence on a clean file left people at a terminal unsure it ran; pipes get none.
            if report.warnings.is_empty() && error.is_none() && std::io::stderr().is_terminal() {
                eprintln!("Check complete, no warnings found.");
            }
            if let Some(e) = error {
                eprintln!("{file}:{e}");
            }
        }
        CheckFormat::Json => print!("{}", report::check::json(file, report, error)),
    }
}

/// InvalidBaseImagePlatform needs the base images the engine has: asked when an engine
/// answers within a moment, skipped otherwise (`check` needs no engine).
fn engine_facts(
    bytes: &[u8],
    build_args: &BTreeMap<String, String>,
    platform: Option<&str>,
) -> EngineFacts {
    let Ok(df) = Dockerfile::parse(bytes) else {
        return EngineFacts::default();
    };
    runtime().block_on(async {
        let ask = async {
            let engine = connect(&Environment::from_process(None)).await.ok()?;
            Some(EngineFacts::gather(&engine, &df, build_args, platform).await)
        };
        tokio::time::timeout(ENGINE_WAIT, ask)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    })
}

pub(crate) fn check(args: &CheckArgs) -> u8 {
    let df_args = args.dockerfile_args();
    let path = match df_args.path() {
        Ok(p) => p,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                EXIT_USAGE,
                format!("{}: cannot read Dockerfile: {e}", path.display()),
            );
        }
    };
    let context = BuildContext::new(&args.context, Some(Path::new(&path))).ok();
    let build_args = df_args.options().build_args;
    let facts = engine_facts(&bytes, &build_args, args.platform.as_deref());
    let (report, error) = with_input(context.as_ref(), &build_args, &facts, |input| {
        lint::check_bytes(&bytes, input)
    });
    let file = path.display().to_string();
    print(args, &file, &report, error.as_ref());
    if error.is_some() {
        return EXIT_USAGE;
    }
    match report.violation() {
        Some(v) => fail(EXIT_FAILED, v),
        None => 0,
    }
}
