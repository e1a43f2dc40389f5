//! What can go wrong with a config file, and each problem as one line that
//! names the file, the key where there is one, and what to do: clap's verdict
//! on the merged command line traced back to the file's key, TOML errors with
//! their position, and a suggestion for a mistyped key.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command};

use super::CONFIG;
use super::merge::Merged;

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
    /// Not a regular file (a FIFO, a device, a directory): refused unread,
    /// since reading one could wait forever or never end.
    #[error("config file {file} is {kind}, not a regular file; give --config a TOML file")]
    NotAFile {
        /// The path as given.
        file: String,
        /// What it is.
        kind: crate::files::Kind,
    },
    /// Larger than any config file could be (see `MAX_CONFIG_BYTES`).
    #[error("config file {file} is over {max} bytes: not a config file (one `option = value` a line)")]
    TooLarge {
        /// The path as given.
        file: String,
        /// The most bytes read.
        max: u64,
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
    pub(super) fn one_line(self) -> Self {
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
            ConfigError::NotAFile { file, kind } => ConfigError::NotAFile {
                file: clean(file),
                kind,
            },
            ConfigError::TooLarge { file, max } => ConfigError::TooLarge {
                file: clean(file),
                max,
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

/// A [`Merged`] command line (built in `merge.rs`), for explaining
/// clap's verdict on it.
impl Merged {
    /// Turns clap's verdict on the merged line into one that names the file
    /// where the file is involved.
    pub(super) fn explain(&self, e: clap::Error) -> ParseError {
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

/// ` (did you mean 'half-life'?)` for a key one or two edits from an option's
/// long name (or written with underscores), else empty.
pub(super) fn suggestion(cmd: &Command, key: &str) -> String {
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
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
