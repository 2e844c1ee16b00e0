//! The stagescope binary: parse the command line, hand each subcommand to its layer.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, GraphArgs, GraphFormat, LoadError};
use stagescope::dockerfile::StageGraph;
use stagescope::report;

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Graph(args) => graph(&args),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn graph(args: &GraphArgs) -> Result<String, LoadError> {
    let loaded = args.dockerfile.load()?;
    let df = &loaded.dockerfile;
    let g = StageGraph::build(df, &loaded.options).map_err(|e| LoadError {
        path: loaded.path.clone(),
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    let file = loaded.path.display().to_string();
    Ok(match args.format {
        GraphFormat::Text => report::graph::text(&file, df, &g),
        GraphFormat::Json => report::graph::json(&file, df, &g),
        GraphFormat::Mermaid => report::graph::mermaid(df, &g),
        GraphFormat::Dot => report::graph::dot(df, &g),
    })
}
