//! Reading the config file and merging its keys into the command line: the
//! TOML table, each key checked against the option of that long name and
//! turned into argument tokens (`--half-life=10s`), and the tokens put before
//! the command line's own unless the command line overrides them.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::explain::suggestion;
use super::{CONFIG, ConfigError, ParseError};
use crate::files::OpenError;

/// `(file key's id, other id)`: the file's value is also dropped when the command
/// line gives the other argument. A BPF filter comes from `-f` or from the
/// trailing words; either one on the command line replaces the file's `filter`.
const ALSO_OVERRIDDEN_BY: &[(&str, &str)] = &[("filter", "filter_words")];

/// The command line with the config file's tokens put in, and what is needed to
/// explain a later clap error in terms of the file.
#[derive(Debug)]
pub(super) struct Merged {
    pub(super) args: Vec<OsString>,
    /// The file as given and the long names whose values came from it.
    pub(super) file: Option<(String, BTreeSet<String>)>,
}

/// Finds `--config`, reads the file and puts its tokens in front of the command
/// line's own (after the subcommand's name).
pub(super) fn merge(cmd: &Command, args: Vec<OsString>) -> Result<Merged, ParseError> {
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

/// The most bytes of a config file read. Every option of every command, one a
/// line, is a few kilobytes: a file past a megabyte is not a config file, and
/// reading on would only fill the memory.
pub(super) const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads and parses the file into its top-level table: only a regular file
/// (a FIFO would wait for a writer, `/dev/zero` would never end), and at most
/// [`MAX_CONFIG_BYTES`] of it.
fn read_table(path: &Path, file: &str) -> Result<toml::Table, ConfigError> {
    let read = |source| ConfigError::Read {
        file: file.to_owned(),
        source,
    };
    let (opened, _) = crate::files::open_regular(path).map_err(|e| match e {
        OpenError::Io(source) => read(source),
        OpenError::NotAFile(kind) => ConfigError::NotAFile {
            file: file.to_owned(),
            kind,
        },
    })?;
    let mut bytes = Vec::new();
    opened
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            file: file.to_owned(),
            max: MAX_CONFIG_BYTES,
        });
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    parse_table(&text, file)
}

/// Parses TOML text; errors become one line with the position.
pub(super) fn parse_table(text: &str, file: &str) -> Result<toml::Table, ConfigError> {
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
pub(super) fn tokens(
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
