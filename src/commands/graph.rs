//! `stagescope graph`: the stage graph as text, JSON, Mermaid or DOT.

use stagescope_report as report;

use super::{EXIT_USAGE, fail, graph_of};
use crate::cli::{GraphArgs, GraphFormat};

pub(crate) fn graph(args: &GraphArgs) -> u8 {
    // As `docker build`: the Dockerfile defaults to the one in the context.
    let mut dockerfile = args.dockerfile.clone();
    if let Some(ctx) = &args.context
        && dockerfile.file == std::path::Path::new("Dockerfile")
    {
        dockerfile.file = ctx.clone();
    }
    let loaded = match dockerfile.load() {
        Ok(l) => l,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let g = match graph_of(&loaded) {
        Ok(g) => g,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let df = &loaded.dockerfile;
    let file = loaded.path.display().to_string();
    let out = match args.format {
        GraphFormat::Text => report::graph::text(&file, df, &g),
        GraphFormat::Json => report::graph::json(&file, df, &g),
        GraphFormat::Mermaid => report::graph::mermaid(df, &g),
        GraphFormat::Dot => report::graph::dot(df, &g),
    };
    print!("{out}");
    0
}
