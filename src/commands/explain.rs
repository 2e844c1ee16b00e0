//! `stagescope explain`: build (quietly, from cache when possible), count what each
//! instruction wrote and what reaches the final image in the real images, and print every
//! stage and instruction explained — a handout as text, Markdown or JSON.

use stagescope_core::engine::clean as engine_clean;
use stagescope_core::explain::handout;
use stagescope_report as report;

use super::{interruptible, prepare, progress_note, runtime, session_for};
use crate::cli::{ExplainArgs, ExplainFormat};

pub(crate) fn explain(args: &ExplainArgs) -> u8 {
    let setup = match prepare(&args.flags) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let note = progress_note();
    runtime().block_on(async {
        let session = match session_for(setup, &args.flags).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        // The numbers are counted in an engine's image layers; a Control API BuildKit has
        // none to give, so its handout is the words alone.
        if let Err(why) = session.engine() {
            eprintln!("note: no numbers: {why}");
            let (df, g) = (&session.dockerfile, &session.graph);
            print!("{}", render(&handout(df, g, None), args.format, df, g));
            return 0;
        }
        let work = async {
            note("building (from cache when possible)…");
            let (built, state) = session.build_with_state().await?;
            session.explain_numbers(&built, Some(&state), &note).await
        };
        let numbers = interruptible(work).await;
        // The images were only needed for counting.
        if let Ok(engine) = session.engine() {
            let _ = engine_clean::clean(engine, Some(&session.build_id)).await;
        }
        let numbers = match numbers {
            Ok(n) => n,
            Err(code) => return code,
        };
        let (df, g) = (&session.dockerfile, &session.graph);
        let mut page = handout(df, g, Some(&numbers));
        page.build_id = Some(session.build_id.clone());
        print!("{}", render(&page, args.format, df, g));
        0
    })
}

fn render(
    page: &stagescope_core::explain::Handout,
    format: ExplainFormat,
    df: &stagescope_dockerfile::Dockerfile,
    g: &stagescope_dockerfile::StageGraph,
) -> String {
    match format {
        ExplainFormat::Text => report::explain::text(page),
        ExplainFormat::Markdown => report::explain::markdown(page, df, g),
        ExplainFormat::Json => report::explain::json(page),
    }
}
