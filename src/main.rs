//! The stagescope binary: parse the command line, hand each subcommand to its layer.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    if let Some(word) = cli::stray_word(std::env::args_os()) {
        eprintln!("{}", cli::stray_word_error(&word));
        return ExitCode::from(commands::EXIT_USAGE);
    }
    let cli = Cli::parse();
    let code = match cli.command {
        None => commands::tui(&cli.tui),
        Some(Command::Graph(args)) => commands::graph(&args),
        Some(Command::Build(args)) => commands::build(&args),
        Some(Command::Check(args)) => commands::check(&args),
        Some(Command::Tree(args)) => commands::tree(&args),
        Some(Command::Diff(args)) => commands::diff(&args),
        Some(Command::DiffImages(args)) => commands::diff_images(&args),
        Some(Command::Explain(args)) => commands::explain(&args),
        Some(Command::Waste(args)) => commands::waste(&args),
        Some(Command::Tour(args)) => commands::tour(&args),
        Some(Command::History(args)) => commands::history(&args),
        Some(Command::Replay(args)) => commands::replay(&args),
        Some(Command::Compare(args)) => commands::compare(&args),
        Some(Command::Builds(args)) => commands::builds(&args),
        Some(Command::Attach(args)) => commands::attach(&args),
        Some(Command::Clean(args)) => commands::clean(&args),
        Some(Command::Completions(args)) => commands::completions(&args),
        Some(Command::Man(args)) => commands::man(&args),
        Some(Command::SetupBase(args)) => commands::setup_base(&args),
    };
    ExitCode::from(code)
}
