//! The `scanwall` binary: parse the command line, run, and turn any error into
//! one line on standard error and a non-zero exit.

use scanwall::cli::Command;
use scanwall::commands;
use scanwall::config::ParseError;

fn main() -> std::process::ExitCode {
    // The command line merged with `--config FILE`, if given (see `config`).
    let cli = match scanwall::config::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        // --help and --version print as clap prints them.
        Err(ParseError::Clap(e)) if !e.use_stderr() => e.exit(),
        Err(ParseError::Clap(e)) => {
            eprintln!("scanwall: {}", one_line(&e));
            return std::process::ExitCode::FAILURE;
        }
        Err(ParseError::Config(e)) => {
            eprintln!("scanwall: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    scanwall::logging::init(cli.log_level);
    quiet_device_select();
    let result = match &cli.command {
        Some(Command::Count(args)) => commands::count::run(args),
        Some(Command::Events(args)) => commands::events::run(args),
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

/// clap's verdict on a bad command line in one line, as every other error
/// is: its first line (which names the option and what is wrong), with
/// where to read more. clap's usage block would bury it on a wall's console
/// and in the journal.
fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first).trim_end();
    match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) if !valid.is_empty() => {
            format!("{first} (possible values: {})", valid.join(", "))
        }
        _ => format!("{first} (see scanwall --help)"),
    }
}

/// Without a user runtime directory there is no Wayland session, yet Mesa's
/// Vulkan device-select layer asks libwayland for one whenever the GPUs are
/// listed (for the window, and for a headless snapshot too), and libwayland
/// prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
/// twice (a `sudo` shell, cron, a container, a kiosk X session started
/// without logind). The layer only puts the default GPU first, and scanwall
/// ranks the GPUs itself (`render::gpu::device`): so there it is turned off
/// with Mesa's own switch, `NODEVICE_SELECT=1`, unless the user set that
/// either way.
fn quiet_device_select() {
    let runtime_dir =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_absolute());
    if !runtime_dir && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: called from `main` before any command starts a thread: no
        // other thread reads or writes the environment meanwhile.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    }
}
