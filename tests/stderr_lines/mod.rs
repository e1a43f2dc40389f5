//! Following a child process's standard error line by line, so tests wait for
//! what scanwall says (a listening line, a stall) instead of sleeping.

use std::io::{BufRead, BufReader};
use std::process::ChildStderr;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The lines of `stderr` as they are written, read by a thread of their own.
pub fn follow(stderr: ChildStderr) -> Receiver<String> {
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// The first line matching `pred`, among those already in `log` or, within
/// `patience`, the next ones from `lines` (each kept in `log`); `None` when
/// none came in time or the stream ended.
pub fn wait_for(
    lines: &Receiver<String>,
    log: &mut Vec<String>,
    patience: Duration,
    pred: impl Fn(&str) -> bool,
) -> Option<String> {
    if let Some(l) = log.iter().find(|l| pred(l)) {
        return Some(l.clone());
    }
    let deadline = Instant::now() + patience;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()?;
        log.push(line.clone());
        if pred(&line) {
            return Some(line);
        }
    }
}
