//! End-to-end: sockets churning at a listening port (connect, close, again)
//! cost a few log lines, not one per connection. The real binary (`count
//! --sensors-listen ... --sensors N`, `count --listen ... --streams N`, which
//! end by themselves once N connections have ended) is hit by 300 connections
//! that close at once; every one is still counted, and what is not logged one
//! by one is said in a summary line.
//!
//! Synchronisation is by the process's own lines and exit, never by sleeping.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

mod stderr_lines;

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use scanwall::logging::{LIMIT_BURST, LIMIT_WINDOW};

/// Connections that churn.
const CHURN: usize = 300;
/// Upper bound on any one wait: generous for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `scanwall count` and its standard-error lines.
struct Run {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
}

impl Run {
    /// Starts `scanwall ARGS` and waits for the line containing `listening`,
    /// whose last `:`-separated field is the port.
    fn start(args: &[&str], listening: &str) -> (Run, u16) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scanwall");
        let lines = stderr_lines::follow(child.stderr.take().unwrap());
        let mut run = Run {
            child,
            lines,
            log: Vec::new(),
        };
        let Some(line) =
            stderr_lines::wait_for(&run.lines, &mut run.log, PATIENCE, |l| l.contains(listening))
        else {
            let _ = run.child.kill();
            panic!("no `{listening}` line:\n{}", run.log.join("\n"));
        };
        let port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        (run, port)
    }

    /// Waits for the exit (killing it past the patience); returns standard
    /// output, and every standard-error line in `self.log`.
    fn finish(mut self) -> (Vec<u8>, Vec<String>) {
        let deadline = Instant::now() + PATIENCE;
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("scanwall did not end by itself:\n{}", self.log.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = self.child.wait_with_output().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        assert!(out.status.success(), "{}:\n{}", out.status, self.log.join("\n"));
        (out.stdout, self.log)
    }
}

/// Opens and at once closes `n` connections to 127.0.0.1:`port`.
fn churn(port: u16, n: usize) {
    for _ in 0..n {
        drop(TcpStream::connect(("127.0.0.1", port)).expect("connect"));
    }
}

/// Checks the lines about churned connections (those `is_about` picks):
/// at most a burst and a summary per window the run lasted, and together
/// (one each, plus each summary's count) they account for `n` connections.
fn assert_limited(log: &[String], took: Duration, n: usize, is_about: impl Fn(&str) -> bool) {
    let about: Vec<&String> = log.iter().filter(|l| is_about(l)).collect();
    let windows = (took.as_secs() / LIMIT_WINDOW.as_secs()) as usize + 1;
    let most = windows * (LIMIT_BURST as usize + 1);
    assert!(
        about.len() <= most,
        "{} lines about {n} churned connections in {took:?} (at most {most}):\n{}",
        about.len(),
        log.join("\n")
    );
    let summarised: usize = about
        .iter()
        .filter_map(|l| {
            l.split("scanwall: ")
                .nth(1)?
                .split(" more ")
                .next()?
                .trim_start_matches("warning: ")
                .parse::<usize>()
                .ok()
        })
        .sum();
    let single = about.iter().filter(|l| !l.contains(" more ")).count();
    assert_eq!(summarised + single, n, "{}", log.join("\n"));
}

#[test]
fn churning_sockets_at_the_sensor_port_cost_a_few_lines() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "a shared secret for the test\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let n = CHURN.to_string();
    let args = [
        "count",
        "--sensors-listen",
        "127.0.0.1:0",
        "--key-file",
        key.to_str().unwrap(),
        "--sensors",
        &n,
        "--format",
        "json",
    ];
    let started = Instant::now();
    let (run, port) = Run::start(&args, "listening for sensors on");
    churn(port, CHURN);
    let (out, log) = run.finish();
    let took = started.elapsed();
    assert_limited(&log, took, CHURN, |l| l.contains("refused sensor"));
    let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(got["sensors"]["refused"]["handshake"], CHURN, "{got}");
}

#[test]
fn churning_sockets_at_the_listen_port_cost_a_few_lines() {
    let n = CHURN.to_string();
    let args = [
        "count",
        "--listen",
        "127.0.0.1:0",
        "--streams",
        &n,
        "--format",
        "json",
    ];
    let started = Instant::now();
    let (run, port) = Run::start(&args, "listening for pcap streams on");
    churn(port, CHURN);
    let (out, log) = run.finish();
    let took = started.elapsed();
    assert_limited(&log, took, CHURN, |l| l.contains("stream from"));
    let got: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(got["packets"], 0, "{got}");
}
