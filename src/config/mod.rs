//! `--config FILE`: options kept in a TOML file, for the wall and for every
//! subcommand that takes options, so a kiosk or a service starts from a file an
//! operator can read instead of a long command line.
//!
//! Nothing here names an option. The keys are the long names of whatever
//! `cli.rs` declares, read from the clap definition at run time
//! (`half-life = "10s"`, `interface = ["eth1", "eth2"]`, `fullscreen = true`),
//! so an option added there works in a config file with no code here.
//!
//! How: the command line is parsed once, leniently, to learn the subcommand, the
//! file and which options the command line gave. The file's other keys become
//! argument tokens placed before the command line's own, and clap parses the
//! whole again with all its checks. So the command line wins (a repeatable
//! option's list from the command line replaces the file's), missing keys take
//! clap's defaults, and a file key is dropped when the command line gives an
//! option it conflicts with (`-r capture.pcap` over a file's `interface`).
//!
//! TOML comes from the `toml` crate: a real grammar (strings, escapes, arrays,
//! comments) with line numbers in its errors is not something to hand-write.
//!
//! The parts: `merge.rs` reads the file and turns its keys into argument
//! tokens merged into the command line; `explain.rs` holds the errors and
//! turns clap's and the TOML parser's verdicts into one-line messages that
//! name the file and the key.

mod explain;
mod merge;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;
pub use explain::{ConfigError, ParseError};
use merge::merge;

/// The option's id and long name.
pub const CONFIG: &str = "config";

/// Subcommands without `--config`: they print documentation of the command line
/// itself and have nothing to keep in a file. Every other subcommand, including
/// ones added later, gets it.
const WITHOUT_CONFIG: &[&str] = &["completions", "man", "help"];

/// The command line as parsed: `cli.rs`'s definition plus `--config` on the wall
/// and on every subcommand that takes options. `--help`, completions and the man
/// page all come from this, so they show `--config` too.
pub fn command() -> Command {
    let mut cmd = Cli::command().arg(config_arg());
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .filter(|n| !WITHOUT_CONFIG.contains(&n.as_str()))
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| s.arg(config_arg()));
    }
    cmd
}

fn config_arg() -> Arg {
    Arg::new(CONFIG)
        .long(CONFIG)
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .action(ArgAction::Set)
        .help(
            "Read options from a TOML file: each key is an option's long name \
             (half-life = \"10s\", interface = [\"eth1\"], fullscreen = true); \
             the command line overrides it",
        )
}

/// Parses the process's command line and its config file. clap's own errors,
/// `--help` and `--version` exit as clap does; a config file problem is returned.
pub fn parse() -> Result<Cli, ConfigError> {
    match try_parse_from(std::env::args_os()) {
        Ok(cli) => Ok(cli),
        Err(ParseError::Clap(e)) => e.exit(),
        Err(ParseError::Config(e)) => Err(e),
    }
}

/// Parses `args` (the program name first) with the config file that `--config`
/// names, if any.
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cmd = command();
    let one_line = |e: ParseError| match e {
        ParseError::Config(c) => ParseError::Config(c.one_line()),
        clap => clap,
    };
    let merged = merge(&cmd, args).map_err(one_line)?;
    let mut matches = cmd
        .try_get_matches_from(&merged.args)
        .map_err(|e| one_line(merged.explain(e)))?;
    Cli::from_arg_matches_mut(&mut matches).map_err(ParseError::Clap)
}

#[cfg(test)]
mod tests;
