//! The `scanwall` binary: parse the command line, run, and turn any error into
//! one line on standard error and a non-zero exit.

use scanwall::cli::Command;
use scanwall::commands;

fn main() -> std::process::ExitCode {
    // The command line merged with `--config FILE`, if given (see `config.rs`).
    let cli = match scanwall::config::parse() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("scanwall: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = match &cli.command {
        Some(Command::Count(args)) => commands::count::run(args),
        Some(Command::Snapshot(args)) => commands::snapshot::run(args),
        Some(Command::Generate(args)) => commands::generate::run(args),
        Some(Command::Sensor(args)) => commands::sensor::run(args),
        Some(Command::Soak(args)) => commands::soak::run(args),
        Some(Command::Completions(args)) => commands::docs_gen::completions(args.shell),
        Some(Command::Man(args)) => commands::docs_gen::man(args.dir.as_deref()),
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
