//! The stagescope binary: parse the command line, hand each subcommand to its layer.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let code = match Cli::parse().command {
        Command::Graph(args) => commands::graph(&args),
        Command::Build(args) => commands::build(&args),
        Command::Tree(args) => commands::tree(&args),
        Command::Diff(args) => commands::diff(&args),
        Command::DiffImages(args) => commands::diff_images(&args),
        Command::Clean(args) => commands::clean(&args),
        Command::SetupBase(args) => commands::setup_base(&args),
    };
    ExitCode::from(code)
}
