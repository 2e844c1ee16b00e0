//! `stagescope check`: BuildKit's build checks, no engine needed. Exit 0, 1 when
//! `error=true` and a warning remains, 2 for a Dockerfile (or check config) error — the
//! warnings found before it printed all the same, as `docker build --check` does.

use std::path::Path;

use stagescope::dockerfile::DockerfileError;
use stagescope::dockerfile::lint::{self, Input, Report};
use stagescope::engine::context::BuildContext;
use stagescope::report;
use stagescope::session::lint::ignore_check;

use super::{EXIT_FAILED, EXIT_USAGE, fail};
use crate::cli::{CheckArgs, CheckFormat};

fn print(args: &CheckArgs, file: &str, report: &Report, error: Option<&DockerfileError>) {
    match args.format {
        CheckFormat::Text => {
            print!("{}", report::check::text(file, report));
            if let Some(e) = error {
                eprintln!("{file}:{e}");
            }
        }
        CheckFormat::Json => print!("{}", report::check::json(file, report, error)),
    }
}

pub fn check(args: &CheckArgs) -> u8 {
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
    let ignored = context.as_ref().and_then(ignore_check);
    let build_args = df_args.options().build_args;
    let input = Input {
        build_args: Some(&build_args),
        ignored: ignored.as_ref().map(|f| f as lint::IgnoredFn<'_>),
        ..Input::default()
    };
    let (report, error) = lint::check_bytes(&bytes, &input);
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
