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

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// The option's id and long name.
pub const CONFIG: &str = "config";

/// Subcommands without `--config`: they print documentation of the command line
/// itself and have nothing to keep in a file. Every other subcommand, including
/// ones added later, gets it.
const WITHOUT_CONFIG: &[&str] = &["completions", "man", "help"];

/// `(file key's id, other id)`: the file's value is also dropped when the command
/// line gives the other argument. A BPF filter comes from `-f` or from the
/// trailing words; either one on the command line replaces the file's `filter`.
const ALSO_OVERRIDDEN_BY: &[(&str, &str)] = &[("filter", "filter_words")];

/// What can be wrong with a config file; each message names the file, the key
/// where there is one, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {file}: {source}; check the path given to --config")]
    Read {
        /// The path as given.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file}:{line}:{column}: not valid TOML: {message}; write one `option = value` per line")]
    Syntax {
        /// The path as given.
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A key that is no option of this command.
    #[error("unknown key '{key}' in {file}; see {command} --help for option names{hint}")]
    UnknownKey {
        /// The key.
        key: String,
        /// The path as given.
        file: String,
        /// `scanwall` or `scanwall SUBCOMMAND`.
        command: String,
        /// ` (did you mean 'half-life'?)` or empty.
        hint: String,
    },
    /// `config` itself, or an option that only prints something (`help`).
    #[error("key '{key}' in {file} cannot be set in a config file; remove it")]
    NotSettable {
        /// The key.
        key: String,
        /// The path as given.
        file: String,
    },
    /// A value of the wrong TOML type (a string for a flag, a list for a single value).
    #[error("key '{key}' in {file} has the wrong type ({found}); expected {expected}")]
    WrongType {
        /// The key.
        key: String,
        /// The path as given.
        file: String,
        /// The TOML type found.
        found: &'static str,
        /// What the option takes.
        expected: String,
    },
    /// A value the option's parser rejects (`format = "xml"`).
    #[error("key '{key}' in {file} has the wrong value \"{value}\"; expected {expected}")]
    WrongValue {
        /// The key.
        key: String,
        /// The path as given.
        file: String,
        /// The value.
        value: String,
        /// What the option takes.
        expected: String,
    },
    /// The file's options together with the command line break a rule of the
    /// command line (two sources at once, a missing required option).
    #[error("{message} (with the options from {file}); fix {file} or the command line")]
    Combined {
        /// clap's one-line description.
        message: String,
        /// The path as given.
        file: String,
    },
}

impl ConfigError {
    /// The same error with control characters in every quoted part escaped
    /// (`\n` shown as `\\n`): keys and values come from the file, and an
    /// error must stay one line.
    fn one_line(self) -> Self {
        fn clean(s: String) -> String {
            if s.chars().any(char::is_control) {
                s.chars()
                    .flat_map(|c| {
                        let escaped: Vec<char> = if c.is_control() {
                            c.escape_default().collect()
                        } else {
                            vec![c]
                        };
                        escaped
                    })
                    .collect()
            } else {
                s
            }
        }
        match self {
            ConfigError::Read { file, source } => ConfigError::Read {
                file: clean(file),
                source,
            },
            ConfigError::Syntax {
                file,
                line,
                column,
                message,
            } => ConfigError::Syntax {
                file: clean(file),
                line,
                column,
                message: clean(message),
            },
            ConfigError::UnknownKey {
                key,
                file,
                command,
                hint,
            } => ConfigError::UnknownKey {
                key: clean(key),
                file: clean(file),
                command,
                hint: clean(hint),
            },
            ConfigError::NotSettable { key, file } => ConfigError::NotSettable {
                key: clean(key),
                file: clean(file),
            },
            ConfigError::WrongType {
                key,
                file,
                found,
                expected,
            } => ConfigError::WrongType {
                key: clean(key),
                file: clean(file),
                found,
                expected: clean(expected),
            },
            ConfigError::WrongValue {
                key,
                file,
                value,
                expected,
            } => ConfigError::WrongValue {
                key: clean(key),
                file: clean(file),
                value: clean(value),
                expected: clean(expected),
            },
            ConfigError::Combined { message, file } => ConfigError::Combined {
                message: clean(message),
                file: clean(file),
            },
        }
    }
}

/// Why a command line with its config file could not be parsed.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own verdict on the command line (or `--help`, `--version`), shown as clap shows it.
    Clap(clap::Error),
    /// Something in or about the config file.
    Config(ConfigError),
}

impl From<ConfigError> for ParseError {
    fn from(e: ConfigError) -> Self {
        ParseError::Config(e)
    }
}

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

/// The command line with the config file's tokens put in, and what is needed to
/// explain a later clap error in terms of the file.
#[derive(Debug)]
struct Merged {
    args: Vec<OsString>,
    /// The file as given and the long names whose values came from it.
    file: Option<(String, BTreeSet<String>)>,
}

impl Merged {
    /// Turns clap's verdict on the merged line into one that names the file
    /// where the file is involved.
    fn explain(&self, e: clap::Error) -> ParseError {
        let Some((file, from_file)) = &self.file else {
            return ParseError::Clap(e);
        };
        if !e.use_stderr() {
            return ParseError::Clap(e); // --help, --version
        }
        let involved: Vec<String> = [ContextKind::InvalidArg, ContextKind::PriorArg]
            .into_iter()
            .filter_map(|k| e.get(k))
            .flat_map(context_strings)
            .filter_map(|s| long_name(&s))
            .filter(|l| from_file.contains(l))
            .collect();
        let Some(key) = involved.first() else {
            return ParseError::Clap(e); // the command line's own fault: clap says it best
        };
        if matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) {
            let value = match e.get(ContextKind::InvalidValue) {
                Some(ContextValue::String(v)) => v.clone(),
                _ => String::new(),
            };
            let expected = match (e.get(ContextKind::ValidValue), std::error::Error::source(&e)) {
                (Some(ContextValue::Strings(valid)), _) => format!("one of: {}", valid.join(", ")),
                (_, Some(why)) => format!("{} ({why})", value_name_of(&e)),
                _ => value_name_of(&e),
            };
            return ConfigError::WrongValue {
                key: key.clone(),
                file: file.clone(),
                value,
                expected,
            }
            .into();
        }
        let rendered = e.to_string();
        let first = rendered.lines().next().unwrap_or_default();
        ConfigError::Combined {
            message: first.strip_prefix("error: ").unwrap_or(first).to_owned(),
            file: file.clone(),
        }
        .into()
    }
}

fn context_strings(v: &ContextValue) -> Vec<String> {
    match v {
        ContextValue::String(s) => vec![s.clone()],
        ContextValue::Strings(v) => v.clone(),
        _ => Vec::new(),
    }
}

/// `--half-life <TIME>` -> `half-life`.
fn long_name(shown: &str) -> Option<String> {
    let first = shown.split([' ', '=']).next()?;
    first.strip_prefix("--").map(str::to_owned)
}

/// `TIME` out of clap's `--half-life <TIME>`, for "expected TIME".
fn value_name_of(e: &clap::Error) -> String {
    match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(name, _)| name.to_owned())
            .unwrap_or_else(|| "another value".to_owned()),
        _ => "another value".to_owned(),
    }
}

/// Finds `--config`, reads the file and puts its tokens in front of the command
/// line's own (after the subcommand's name).
fn merge(cmd: &Command, args: Vec<OsString>) -> Result<Merged, ParseError> {
    let plain = |args| Merged { args, file: None };
    // Lenient: a required option may be in the file. Help and version still
    // fail here; the real parse then shows them.
    let Ok(probe) = cmd.clone().ignore_errors(true).try_get_matches_from(&args) else {
        return Ok(plain(args));
    };
    let (target, given, insert_at, command_path) = match probe.subcommand() {
        Some((name, sub_matches)) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                return Ok(plain(args));
            };
            let Some(at) = args.iter().skip(1).position(|a| a == name) else {
                return Ok(plain(args));
            };
            (sub, sub_matches, at + 2, format!("scanwall {name}"))
        }
        None => (cmd, &probe, 1, "scanwall".to_owned()),
    };
    let Ok(Some(path)) = given.try_get_one::<PathBuf>(CONFIG) else {
        return Ok(plain(args));
    };
    let file = path.display().to_string();
    let table = read_table(path, &file)?;
    let file_tokens = tokens(target, given, &table, &file, &command_path)?;
    let from_file = file_tokens.iter().map(|(key, _)| key.clone()).collect();
    let mut merged = args;
    let tail = merged.split_off(insert_at.min(merged.len()));
    merged.extend(file_tokens.into_iter().flat_map(|(_, t)| t));
    merged.extend(tail);
    Ok(Merged {
        args: merged,
        file: Some((file, from_file)),
    })
}

/// Reads and parses the file into its top-level table.
fn read_table(path: &Path, file: &str) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.to_owned(),
        source,
    })?;
    parse_table(&text, file)
}

/// Parses TOML text; errors become one line with the position.
fn parse_table(text: &str, file: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| {
        let start = e.span().map_or(0, |s| s.start).min(text.len());
        let before = text.get(..start).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::Syntax {
            file: file.to_owned(),
            line,
            column,
            message: e.message().trim().replace('\n', "; "),
        }
    })
}

/// The argument tokens for the file's keys, each with its key, in the file's
/// (sorted) key order; keys the command line overrides give none.
fn tokens(
    target: &Command,
    given: &ArgMatches,
    table: &toml::Table,
    file: &str,
    command_path: &str,
) -> Result<Vec<(String, Vec<OsString>)>, ConfigError> {
    let on_command_line = |id: &str| given.value_source(id) == Some(ValueSource::CommandLine);
    let given_args: Vec<&Arg> = target
        .get_arguments()
        .filter(|a| on_command_line(a.get_id().as_str()))
        .collect();
    let mut out = Vec::new();
    for (key, value) in table {
        if key == CONFIG {
            return Err(ConfigError::NotSettable {
                key: key.clone(),
                file: file.to_owned(),
            });
        }
        let Some(arg) = target
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
        else {
            return Err(ConfigError::UnknownKey {
                key: key.clone(),
                file: file.to_owned(),
                command: command_path.to_owned(),
                hint: suggestion(target, key),
            });
        };
        // Checked even when overridden: a broken file is reported either way.
        let arg_tokens = arg_tokens(arg, key, value, file)?;
        let id = arg.get_id().as_str();
        let overridden = on_command_line(id)
            || ALSO_OVERRIDDEN_BY
                .iter()
                .any(|(k, other)| *k == id && has_arg(target, other) && on_command_line(other))
            || given_args.iter().any(|g| conflicts(target, arg, g));
        if !overridden {
            out.push((key.clone(), arg_tokens));
        }
    }
    Ok(out)
}

fn has_arg(cmd: &Command, id: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == id)
}

/// Whether clap would refuse `a` and `b` together (declared in either direction).
fn conflicts(cmd: &Command, a: &Arg, b: &Arg) -> bool {
    let names = |x: &Arg, y: &Arg| {
        cmd.get_arg_conflicts_with(x)
            .iter()
            .any(|c| c.get_id() == y.get_id())
    };
    names(a, b) || names(b, a)
}

/// `--key=value` tokens for one file entry, after checking its TOML type
/// against what the option takes.
fn arg_tokens(arg: &Arg, key: &str, value: &toml::Value, file: &str) -> Result<Vec<OsString>, ConfigError> {
    let wrong = |expected: String| ConfigError::WrongType {
        key: key.to_owned(),
        file: file.to_owned(),
        found: value.type_str(),
        expected,
    };
    let flag = OsString::from(format!("--{key}"));
    let with_value = |v: String| OsString::from(format!("--{key}={v}"));
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match value {
            toml::Value::Boolean(on) => Ok(if *on { vec![flag] } else { Vec::new() }),
            _ => Err(wrong("true or false".to_owned())),
        },
        ArgAction::Count => match value {
            toml::Value::Integer(n) if (0..=255).contains(n) => Ok(vec![flag; *n as usize]),
            _ => Err(wrong("a whole number from 0 to 255".to_owned())),
        },
        ArgAction::Set => match scalar(value) {
            Some(v) => Ok(vec![with_value(v)]),
            None => Err(wrong(format!(
                "a single {} value (a string or a number)",
                value_name(arg)
            ))),
        },
        ArgAction::Append => {
            let items: Vec<&toml::Value> = match value {
                toml::Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let expected = || {
                format!(
                    "a list of {} values, e.g. {key} = [\"...\", \"...\"]",
                    value_name(arg)
                )
            };
            items
                .into_iter()
                .map(|item| scalar(item).map(with_value).ok_or_else(|| wrong(expected())))
                .collect()
        }
        _ => Err(ConfigError::NotSettable {
            key: key.to_owned(),
            file: file.to_owned(),
        }),
    }
}

/// A string, number or boolean as the text typed on a command line (a boolean
/// for an option that takes `true|false` values); the option's own parser then
/// judges it.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

fn value_name(arg: &Arg) -> String {
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| p.get_name().to_owned())
        .collect();
    if !possible.is_empty() {
        return possible.join("|");
    }
    arg.get_value_names()
        .and_then(|n| n.first())
        .map_or_else(|| "VALUE".to_owned(), ToString::to_string)
}

/// ` (did you mean 'half-life'?)` for a key one or two edits from an option's
/// long name (or written with underscores), else empty.
fn suggestion(cmd: &Command, key: &str) -> String {
    let dashed = key.replace('_', "-");
    cmd.get_arguments()
        .filter_map(Arg::get_long)
        .filter(|l| *l != CONFIG)
        .map(|l| (edit_distance(&dashed, l), l))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, l)| format!(" (did you mean '{l}'?)"))
        .unwrap_or_default()
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed set-up should fail the test
mod tests {
    use super::*;

    fn half_life(text: &str) -> crate::counting::HalfLife {
        crate::counting::HalfLife::parse(text).expect("a half-life")
    }

    fn map_list(text: &str) -> crate::cli::MapList {
        crate::cli::MapList(crate::maps::parse_list(text).expect("maps"))
    }
    use crate::cli::Command as Sub;

    /// Parses `args` with `toml` written to `dir/name`; `CFG` in `args` becomes its path.
    fn parse_with(name: &str, toml: &str, args: &[&str]) -> Result<Cli, ParseError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, toml).unwrap();
        let path = path.to_str().unwrap().to_owned();
        let args: Vec<String> = std::iter::once("scanwall")
            .chain(args.iter().copied())
            .map(|a| if a == "CFG" { path.clone() } else { a.to_owned() })
            .collect();
        try_parse_from(args)
    }

    fn config_error(r: Result<Cli, ParseError>) -> String {
        match r {
            Err(ParseError::Config(e)) => e.to_string(),
            Err(ParseError::Clap(e)) => panic!("clap error, not a config error: {e}"),
            Ok(cli) => panic!("parsed: {cli:?}"),
        }
    }

    fn count(cli: Cli) -> Box<crate::cli::CountArgs> {
        match cli.command {
            Some(Sub::Count(c)) => c,
            other => panic!("not count: {other:?}"),
        }
    }

    #[test]
    fn file_keys_fill_in_the_wall_and_missing_keys_keep_defaults() {
        let toml = r#"
            # a kiosk wall
            interface = ["eth1", "eth2"]
            local = "10.0.0.0/8"
            half-life = "20s"
            fullscreen = true
            presenter = false
            monitor = 1
            fps = 24.5
            wall-grid = "3x2"
            filter = "tcp or udp"
        "#;
        let cli = parse_with("wall.toml", toml, &["--config", "CFG"]).unwrap();
        let w = cli.wall;
        assert_eq!(w.source.interface, ["eth1", "eth2"]);
        assert_eq!(w.source.local, ["10.0.0.0/8"]);
        assert_eq!(w.counting.half_life, half_life("20s"));
        assert!(w.fullscreen);
        assert!(!w.view.presenter);
        assert_eq!(w.monitor, Some(1));
        assert_eq!(w.fps, 24.5);
        assert_eq!(w.source.filter.filter_expression().as_deref(), Some("tcp or udp"));
        // Not in the file: clap's defaults.
        assert_eq!(w.counting.decay, crate::counting::DecayMode::Exponential);
        assert_eq!(w.source.snaplen, 128);
    }

    #[test]
    fn the_command_line_overrides_the_file_and_replaces_its_lists() {
        let toml = "half-life = \"20s\"\nlocal = [\"10.0.0.0/8\", \"192.0.2.0/24\"]\nmaps = \"syn\"\n";
        let cli = parse_with(
            "wall.toml",
            toml,
            &[
                "--half-life",
                "5s",
                "--config",
                "CFG",
                "--local",
                "198.51.100.0/24",
            ],
        )
        .unwrap();
        assert_eq!(cli.wall.counting.half_life, half_life("5s"));
        assert_eq!(cli.wall.source.local, ["198.51.100.0/24"]);
        assert_eq!(cli.wall.counting.maps, Some(map_list("syn")));
    }

    #[test]
    fn subcommands_read_their_own_options_and_the_file_can_give_required_ones() {
        let toml = "read = \"capture.pcap\"\nformat = \"json\"\nmaps = \"syn,synport\"\n";
        let c = count(parse_with("count.toml", toml, &["count", "--config", "CFG"]).unwrap());
        assert_eq!(c.source.read.as_deref(), Some(Path::new("capture.pcap")));
        assert_eq!(c.format, crate::cli::CountFormat::Json);
        assert_eq!(c.maps, Some(map_list("syn,synport")));
        let c = count(
            parse_with(
                "count.toml",
                toml,
                &["count", "--config", "CFG", "--format", "csv"],
            )
            .unwrap(),
        );
        assert_eq!(c.format, crate::cli::CountFormat::Csv);
    }

    #[test]
    fn a_command_line_source_drops_the_files_conflicting_one() {
        let toml = "interface = [\"eth1\"]\nlocal = [\"10.0.0.0/8\"]\n";
        let cli = parse_with("wall.toml", toml, &["--config", "CFG", "-r", "x.pcap"]).unwrap();
        assert_eq!(cli.wall.source.read.as_deref(), Some(Path::new("x.pcap")));
        assert!(cli.wall.source.interface.is_empty());
        assert_eq!(cli.wall.source.local, ["10.0.0.0/8"]);
        let cli = parse_with("wall.toml", toml, &["--config", "CFG", "--demo"]).unwrap();
        assert!(cli.wall.source.demo && cli.wall.source.interface.is_empty());
    }

    #[test]
    fn trailing_filter_words_replace_the_files_filter() {
        let toml = "filter = \"not port 22\"\n";
        let cli = parse_with("wall.toml", toml, &["--config", "CFG", "udp"]).unwrap();
        assert_eq!(cli.wall.source.filter.filter_expression().as_deref(), Some("udp"));
        let cli = parse_with("wall.toml", toml, &["--config", "CFG", "-f", "icmp"]).unwrap();
        assert_eq!(
            cli.wall.source.filter.filter_expression().as_deref(),
            Some("icmp")
        );
    }

    /// The tokens for `toml` against `cmd` with `args` on the command line.
    fn tokens_for(cmd: &Command, toml: &str, args: &[&str]) -> Result<Vec<String>, ConfigError> {
        let given = cmd
            .clone()
            .ignore_errors(true)
            .try_get_matches_from(std::iter::once("x").chain(args.iter().copied()))
            .unwrap();
        let table = parse_table(toml, "wall.toml")?;
        Ok(tokens(cmd, &given, &table, "wall.toml", "scanwall")?
            .into_iter()
            .flat_map(|(_, t)| t)
            .map(|t| t.to_string_lossy().into_owned())
            .collect())
    }

    #[test]
    fn unknown_keys_name_the_key_the_file_and_the_help() {
        let e = tokens_for(&command(), "hlaf-life = \"10s\"", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown key 'hlaf-life' in wall.toml; see scanwall --help for option names \
             (did you mean 'half-life'?)"
        );
        let e = tokens_for(&command(), "colour = 1", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown key 'colour' in wall.toml; see scanwall --help for option names"
        );
        // Subcommand paths are named; help is no key.
        let e = config_error(parse_with("c.toml", "help = true", &["count", "--config", "CFG"]));
        assert!(
            e.starts_with("unknown key 'help' in ") && e.contains("see scanwall count --help"),
            "{e}"
        );
    }

    #[test]
    fn wrong_types_name_the_key_and_what_it_takes() {
        let cases = [
            (
                "fullscreen = \"yes\"",
                "key 'fullscreen' in wall.toml has the wrong type (string); expected true or false",
            ),
            (
                "maps = [\"syn\", \"udp\"]",
                "key 'maps' in wall.toml has the wrong type (array); expected a single LIST value (a string or a number)",
            ),
            (
                "local = [[\"10.0.0.0/8\"]]",
                "key 'local' in wall.toml has the wrong type (array); expected a list of CIDR values, e.g. local = [\"...\", \"...\"]",
            ),
            (
                "layout = 1979-05-27",
                "key 'layout' in wall.toml has the wrong type (datetime); expected a single LAYOUT value (a string or a number)",
            ),
            (
                "[view]\nlayout = \"focus\"",
                "key 'view' in wall.toml has the wrong type (table); expected a single VIEW value (a string or a number)",
            ),
        ];
        for (toml, want) in cases {
            assert_eq!(tokens_for(&command(), toml, &[]).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn values_the_option_rejects_name_the_key_and_file() {
        let e = config_error(parse_with(
            "c.toml",
            "format = \"xml\"",
            &["count", "--config", "CFG", "-r", "x"],
        ));
        assert!(
            e.starts_with("key 'format' in ") && e.contains("c.toml has the wrong value \"xml\""),
            "{e}"
        );
        assert!(e.ends_with("expected one of: csv, json"), "{e}");
        let e = config_error(parse_with(
            "wall.toml",
            "monitor = \"left\"",
            &["--config", "CFG"],
        ));
        assert!(
            e.contains("key 'monitor' in ") && e.contains("wrong value \"left\"; expected N ("),
            "{e}"
        );
        let e = config_error(parse_with("wall.toml", "layout = true", &["--config", "CFG"]));
        assert!(
            e.contains("key 'layout' in ") && e.contains("wrong value \"true\"; expected LAYOUT"),
            "{e}"
        );
        let e = config_error(parse_with("wall.toml", "monitor = -1", &["--config", "CFG"]));
        assert!(
            e.contains("key 'monitor' in ") && e.contains("wrong value \"-1\""),
            "{e}"
        );
    }

    #[test]
    fn conflicts_inside_the_file_name_the_file() {
        let e = config_error(parse_with(
            "wall.toml",
            "read = \"a.pcap\"\ninterface = [\"eth0\"]\n",
            &["--config", "CFG"],
        ));
        assert!(
            e.contains("cannot be used with") && e.contains("wall.toml); fix "),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn command_line_mistakes_stay_clap_errors() {
        match parse_with("wall.toml", "fps = 10", &["--config", "CFG", "--hlaf-life", "1s"]) {
            Err(ParseError::Clap(e)) => assert_eq!(e.kind(), ErrorKind::UnknownArgument),
            other => panic!("{other:?}"),
        }
        match parse_with("wall.toml", "fps = 10", &["--config", "CFG", "--help"]) {
            Err(ParseError::Clap(e)) => assert_eq!(e.kind(), ErrorKind::DisplayHelp),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn config_inside_a_config_file_is_refused() {
        let e = tokens_for(&command(), "config = \"other.toml\"", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'config' in wall.toml cannot be set in a config file; remove it"
        );
    }

    #[test]
    fn syntax_errors_give_the_position_on_one_line() {
        let e = parse_table("fps = 30\nhalf-life = \n", "wall.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("wall.toml:2:"), "{e}");
        assert!(e.contains("not valid TOML") && e.lines().count() == 1, "{e}");
    }

    #[test]
    fn a_missing_file_says_which_and_what_to_check() {
        let e = config_error(try_parse_from(["scanwall", "--config", "/nonexistent/wall.toml"]));
        assert!(
            e.starts_with("cannot read config file /nonexistent/wall.toml: "),
            "{e}"
        );
        assert!(e.ends_with("check the path given to --config"), "{e}");
    }

    #[test]
    fn an_option_added_to_the_definition_needs_no_code_here() {
        let cmd = Command::new("x")
            .arg(
                Arg::new("sensors-listen")
                    .long("sensors-listen")
                    .action(ArgAction::Set),
            )
            .arg(Arg::new("to").long("to").action(ArgAction::Append))
            .arg(Arg::new("verbose").long("verbose").action(ArgAction::Count));
        let toml = "sensors-listen = \"0.0.0.0:7311\"\nto = [\"a:1\", \"b:2\"]\nverbose = 2\n";
        assert_eq!(
            tokens_for(&cmd, toml, &[]).unwrap(),
            [
                "--sensors-listen=0.0.0.0:7311",
                "--to=a:1",
                "--to=b:2",
                "--verbose",
                "--verbose"
            ]
        );
        assert_eq!(tokens_for(&cmd, toml, &["--to", "c:3"]).unwrap().len(), 3);
    }

    #[test]
    fn every_option_of_every_configurable_command_can_come_from_a_file() {
        let mut cmd = command();
        cmd.build();
        let mut commands = vec![&cmd];
        commands.extend(
            cmd.get_subcommands()
                .filter(|s| s.get_arguments().any(|a| a.get_id() == CONFIG)),
        );
        assert!(commands.len() >= 4, "the wall, count, snapshot, generate");
        for c in commands {
            for arg in c.get_arguments().filter(|a| a.get_long().is_some()) {
                let settable = matches!(
                    arg.get_action(),
                    ArgAction::Set
                        | ArgAction::Append
                        | ArgAction::SetTrue
                        | ArgAction::SetFalse
                        | ArgAction::Count
                );
                let printing = matches!(arg.get_action(), ArgAction::Help | ArgAction::Version);
                assert!(
                    settable || printing,
                    "{} --{:?}: action {:?}",
                    c.get_name(),
                    arg.get_long(),
                    arg.get_action()
                );
            }
        }
        assert!(
            cmd.find_subcommand("count")
                .is_some_and(|c| c.get_arguments().any(|a| a.get_id() == CONFIG))
        );
    }

    #[test]
    fn the_definition_with_config_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn suggestions_catch_typos_and_underscores() {
        assert_eq!(edit_distance("hlaf-life", "half-life"), 1);
        assert_eq!(
            suggestion(&command(), "half_life"),
            " (did you mean 'half-life'?)"
        );
        assert_eq!(suggestion(&command(), "zzzzzz"), "");
    }
}
