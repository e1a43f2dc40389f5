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
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

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

/// How long a [`RateLimitedLog`] window lasts (as the sFlow collector's
/// once-per-10-s summary of malformed datagrams).
pub const LIMIT_WINDOW: Duration = Duration::from_secs(10);
/// Lines of one kind a [`RateLimitedLog`] writes one by one per window.
pub const LIMIT_BURST: u32 = 10;

/// Log lines about one kind of event that strangers can cause at will
/// (refused connections on a listening port): the first [`LIMIT_BURST`] of
/// each [`LIMIT_WINDOW`] are logged as they come, the rest are counted and
/// said in one summary line with the latest of them when the window ends, so
/// 300 sockets churning at a port cost a few lines, not tens of thousands,
/// while a handful of refusals are each still logged in full. Shared by the
/// threads of one listener; [`RateLimitedLog::flush`] is called from its
/// accept loop so a summary is not held back until the next event.
#[derive(Debug)]
pub struct RateLimitedLog {
    state: Mutex<Limiter>,
}

impl RateLimitedLog {
    /// A limiter whose summaries say "N more `what`" (e.g. "refused sensor connections").
    pub fn new(what: &'static str) -> Self {
        RateLimitedLog {
            state: Mutex::new(Limiter::new(what, LIMIT_WINDOW, LIMIT_BURST)),
        }
    }

    /// One event: `line` at `level`, logged now or summarised later.
    pub fn note(&self, level: Level, line: String) {
        let out = self.lock().note(Instant::now(), level, line);
        emit(out);
    }

    /// Logs the summary of a finished window, or of the window so far when
    /// `now` (on the way out, so nothing counted goes unsaid).
    pub fn flush(&self, now: bool) {
        let out = self.lock().flush(Instant::now(), now);
        emit(out);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn emit(lines: Vec<(Level, String)>) {
    for (level, line) in lines {
        log::log!(level, "{line}");
    }
}

/// [`RateLimitedLog`]'s decisions, on a clock handed in: which lines to write.
#[derive(Debug)]
struct Limiter {
    what: &'static str,
    every: Duration,
    burst: u32,
    /// When the current window began; `None` before the first event.
    window: Option<Instant>,
    /// Lines written one by one in this window.
    logged: u32,
    /// Events held back in this window, the most severe level among them, and the latest.
    held: u64,
    held_level: Level,
    latest: Option<String>,
}

impl Limiter {
    fn new(what: &'static str, every: Duration, burst: u32) -> Self {
        Limiter {
            what,
            every,
            burst,
            window: None,
            logged: 0,
            held: 0,
            held_level: Level::Trace,
            latest: None,
        }
    }

    fn note(&mut self, now: Instant, level: Level, line: String) -> Vec<(Level, String)> {
        let mut out = self.flush(now, false);
        if self.window.is_none_or(|w| now.duration_since(w) >= self.every) {
            self.window = Some(now);
            self.logged = 0;
        }
        if self.logged < self.burst {
            self.logged += 1;
            out.push((level, line));
        } else {
            self.held += 1;
            self.held_level = self.held_level.min(level);
            self.latest = Some(line);
        }
        out
    }

    fn flush(&mut self, now: Instant, force: bool) -> Vec<(Level, String)> {
        let Some(window) = self.window else {
            return Vec::new();
        };
        let elapsed = now.duration_since(window);
        if self.held == 0 || !(force || elapsed >= self.every) {
            return Vec::new();
        }
        let latest = self.latest.take().unwrap_or_default();
        let line = format!(
            "{} more {} in the last {}s (not logged one by one); the latest: {latest}",
            self.held,
            self.what,
            elapsed.as_secs().max(1)
        );
        let out = vec![(self.held_level, line)];
        // The summary closes the window: the next event starts a new one.
        self.held = 0;
        self.held_level = Level::Trace;
        self.window = None;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_events_is_a_burst_then_one_summary_per_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut l = Limiter::new("refused sensor connections", Duration::from_secs(10), 3);
        let mut written = Vec::new();
        // 300 refusals over 25 s: 12 a second.
        for i in 0..300u64 {
            let level = if i % 2 == 0 { Level::Info } else { Level::Warn };
            written.extend(l.note(at(i * 83), level, format!("refused sensor 127.0.0.1:{i}")));
            written.extend(l.flush(at(i * 83 + 40), false));
        }
        written.extend(l.flush(at(25_000), true));
        let lines: Vec<&str> = written.iter().map(|(_, l)| l.as_str()).collect();
        // Three windows of three lines and a summary each.
        assert_eq!(lines.len(), 12, "{lines:#?}");
        assert_eq!(
            &lines[..3],
            [
                "refused sensor 127.0.0.1:0",
                "refused sensor 127.0.0.1:1",
                "refused sensor 127.0.0.1:2"
            ]
        );
        assert!(
            lines[3].starts_with("118 more refused sensor connections in the last 10s")
                && lines[3].ends_with("; the latest: refused sensor 127.0.0.1:120"),
            "{}",
            lines[3]
        );
        // Every event is in a line of its own or in a summary's count.
        let summarised: u64 = lines
            .iter()
            .filter_map(|l| l.split(" more ").next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(summarised + 9, 300);
        // A summary takes the most severe level held back.
        assert_eq!(written[3].0, Level::Warn);
    }

    #[test]
    fn a_few_events_are_each_logged_and_nothing_is_summarised() {
        let t0 = Instant::now();
        let mut l = Limiter::new("refusals", Duration::from_secs(10), 10);
        for i in 0..10 {
            assert_eq!(l.note(t0, Level::Info, format!("r{i}")).len(), 1);
        }
        assert!(l.flush(t0 + Duration::from_secs(60), true).is_empty());
        // A window later the burst is there again.
        assert_eq!(
            l.note(t0 + Duration::from_secs(11), Level::Info, "r".into())
                .len(),
            1
        );
    }

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
