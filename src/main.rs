//! The `scanwall` binary: parse the command line, run, and turn any error into
//! one line on standard error and a non-zero exit.

use clap::Parser;
use scanwall::cli::{Cli, Command};
use scanwall::commands;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Count(args)) => commands::count::run(args),
        Some(Command::Snapshot(args)) => commands::snapshot::run(args),
        Some(Command::Generate(args)) => commands::generate::run(args),
        None => commands::wall::run(&cli.wall),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scanwall: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
