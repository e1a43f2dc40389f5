//! Log lines: every message scanwall writes while it runs goes through the
//! `log` facade with a level, so an operator can quieten or raise them
//! (`--log-level`, or `RUST_LOG` for per-module levels such as
//! `RUST_LOG=scanwall::sensor=debug`) and a service manager or log shipper
//! can filter them. The libraries' own log lines (wgpu, naga) are off unless
//! `RUST_LOG` names them (`RUST_LOG=wgpu=warn`).
//!
//! One line per event on standard error, as before: `scanwall: MESSAGE` at
//! info, `scanwall: warning: MESSAGE` and `scanwall: error: MESSAGE` above it,
//! `scanwall: debug: MESSAGE` below. Under systemd (`JOURNAL_STREAM` set) each
//! line starts with its syslog priority (`<4>` for a warning), which journald
//! reads as the entry's level (sd-daemon(3)), so `journalctl -p warning` works.
//!
//! What a command prints as its result (count's CSV, the final error of a
//! failed run) is not a log line and does not go through here.

use std::io::Write;

use log::{Level, LevelFilter};

/// The level used when neither `--log-level` nor `RUST_LOG` says otherwise.
pub const DEFAULT: LevelFilter = LevelFilter::Info;
/// The module path of every log line of ours (`--log-level` sets its level).
const CRATE: &str = "scanwall";

/// Installs the logger once: `level` (from `--log-level`) wins over
/// `RUST_LOG`, which wins over [`DEFAULT`]. A second call changes nothing.
pub fn init(level: Option<LevelFilter>) {
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let mut builder = env_logger::Builder::new();
    // Only scanwall's own lines by default: the libraries' (wgpu's loader
    // chatter above all) are for whoever asks with RUST_LOG.
    match std::env::var("RUST_LOG") {
        Ok(directives) => {
            builder.parse_filters(&directives);
        }
        Err(_) => {
            builder
                .filter_level(LevelFilter::Off)
                .filter_module(CRATE, DEFAULT);
        }
    }
    if let Some(level) = level {
        builder.filter_module(CRATE, level);
    }
    builder
        .target(env_logger::Target::Stderr)
        .format(move |out, record| writeln!(out, "{}", line(record.level(), record.args(), journal)));
    // Already installed (a test, or a second init): keep the first.
    let _ = builder.try_init();
}

/// One log line, as [`init`]'s logger writes it.
pub fn line(level: Level, message: &std::fmt::Arguments<'_>, journal: bool) -> String {
    let priority = if journal {
        // syslog priorities: err 3, warning 4, info 6, debug 7.
        match level {
            Level::Error => "<3>",
            Level::Warn => "<4>",
            Level::Info => "<6>",
            Level::Debug | Level::Trace => "<7>",
        }
    } else {
        ""
    };
    let tag = match level {
        Level::Error => "error: ",
        Level::Warn => "warning: ",
        Level::Info => "",
        Level::Debug => "debug: ",
        Level::Trace => "trace: ",
    };
    format!("{priority}scanwall: {tag}{message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_their_level() {
        let l = |level, journal| line(level, &format_args!("refused sensor 127.0.0.1:5"), journal);
        assert_eq!(l(Level::Info, false), "scanwall: refused sensor 127.0.0.1:5");
        assert_eq!(
            l(Level::Warn, false),
            "scanwall: warning: refused sensor 127.0.0.1:5"
        );
        assert_eq!(
            l(Level::Error, true),
            "<3>scanwall: error: refused sensor 127.0.0.1:5"
        );
        assert_eq!(l(Level::Info, true), "<6>scanwall: refused sensor 127.0.0.1:5");
    }
}
