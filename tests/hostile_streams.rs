//! End-to-end: the real binary serving `--listen` (as `scanwall count --listen
//! ... --streams N`, which ends by itself once N connections have closed) while
//! hostile senders on 127.0.0.1 send garbage, stop mid-record, claim an
//! impossible record length, or connect and send nothing, and one good sender
//! streams a known capture across all of it.
//!
//! Asserts: the good sender's counts equal `scanwall count -r` of the same
//! capture, exactly; every bad connection is closed (seen from the sender's
//! side) and logged on standard error; connections over `MAX_SENDERS` are
//! refused; silent ones are dropped after `--stream-idle-timeout`; resident
//! memory stays bounded; and the process stays up until it is done.
//!
//! Synchronisation is by the log lines the process writes, never by sleeping.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

mod stderr_lines;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use scanwall::craft::ether;
use scanwall::parse::LinkType;
use scanwall::source::listen::MAX_SENDERS;
use scanwall::source::pcap_format::PcapWriter;

/// Upper bound on any one wait: generous for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// Silent senders are dropped after this (the flag under test).
const IDLE_TIMEOUT: &str = "3s";
/// The process's peak resident memory must stay under this (it is about 30 MiB).
const MAX_RSS_KIB: u64 = 256 * 1024;

/// The running `scanwall count --listen` and its standard-error lines.
struct Listener {
    child: Child,
    /// Standard output, read on a thread so a large report never blocks the process.
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    lines: Receiver<String>,
    log: Vec<String>,
    port: u16,
}

impl Listener {
    fn start(streams: usize) -> Listener {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(["count", "--listen", "127.0.0.1:0", "--format", "json"])
            .args(["--streams", &streams.to_string()])
            .args(["--stream-idle-timeout", IDLE_TIMEOUT])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scanwall");
        let mut stdout = child.stdout.take().unwrap();
        let stdout = Some(std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        }));
        let lines = stderr_lines::follow(child.stderr.take().unwrap());
        let mut l = Listener {
            child,
            stdout,
            lines,
            log: Vec::new(),
            port: 0,
        };
        let line = l.wait_for("the listening line", |s| {
            s.contains("listening for pcap streams on")
        });
        l.port = line
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port");
        l
    }

    /// Waits for a standard-error line matching `pred`; fails with the log so far.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(line) = stderr_lines::wait_for(&self.lines, &mut self.log, PATIENCE, pred) {
            return line;
        }
        let _ = self.child.kill();
        panic!(
            "no line for {what}; standard error so far:\n{}",
            self.log.join("\n")
        );
    }

    /// Waits until `n` lines match `pred`.
    fn wait_for_count(&mut self, what: &str, n: usize, pred: impl Fn(&str) -> bool) {
        while self.log.iter().filter(|l| pred(l)).count() < n {
            let deadline = Instant::now() + PATIENCE;
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.log.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("fewer than {n} lines for {what}:\n{}", self.log.join("\n"));
                }
            }
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to scanwall");
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.set_write_timeout(Some(PATIENCE)).unwrap();
        s
    }

    fn assert_running(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "scanwall exited early:\n{}",
            self.log.join("\n")
        );
    }

    /// Peak resident memory (VmHWM) in KiB, from /proc.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }
}

/// The address a connection's log lines name it by.
fn peer(s: &TcpStream) -> String {
    format!("stream from {}", s.local_addr().unwrap())
}

/// Whether `line` is about the connection named `name` (and not one whose port
/// merely starts with the same digits).
fn names(line: &str, name: &str) -> bool {
    line.contains(&format!("{name}:")) || line.contains(&format!("{name} "))
}

/// The server closed `s`: a read sees the end (or a reset) rather than waiting.
fn assert_closed_by_server(mut s: TcpStream, what: &str) {
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("{what}: server sent {n} bytes"),
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{what}: connection still open: {e}"
        ),
    }
}

/// A classic pcap of `records` ARP frames (not IP: they land in no map, only
/// in `not_ip`), with a file header claiming the largest possible snaplen.
fn arp_stream(records: usize) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet, u32::MAX).unwrap();
    let frame = ether(0x0806, &[], &[0u8; 28]);
    for i in 0..records {
        w.write(1_600_000_000_000_000_000 + i as u64, frame.len() as u32, &frame)
            .unwrap();
    }
    w.finish().unwrap()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

#[test]
fn hostile_senders_do_not_disturb_a_good_one() {
    // The good sender's capture, and its counts read straight from the file.
    let dir = tempfile::tempdir().unwrap();
    let good_path = dir.path().join("good.pcap");
    let generated = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["generate", "--packets", "20000", "--seed", "5", "-o"])
        .arg(&good_path)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    let expected = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["count", "--format", "json", "-r"])
        .arg(&good_path)
        .output()
        .unwrap();
    assert!(expected.status.success(), "{expected:?}");
    let expected = json(&expected.stdout);
    let good_bytes = std::fs::read(&good_path).unwrap();

    let idle = MAX_SENDERS - 1; // the good sender holds the other slot
    let refused = 3;
    let streams = 1 + 3 + idle + refused;
    let mut wall = Listener::start(streams);

    // The good sender starts, then stops in the middle of the capture (and of a record).
    let mut good = wall.connect();
    let half = good_bytes.len() / 2 + 7;
    good.write_all(&good_bytes[..half]).unwrap();

    // Garbage: not a capture at all.
    let mut garbage = wall.connect();
    let garbage_name = peer(&garbage);
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: wall\r\n\r\n\x00\xff\x13\x37garbage, not pcap")
        .unwrap();
    // Stops mid-record: three whole (non-IP) records, then half a record header, then EOF.
    let mut cut = wall.connect();
    let cut_name = peer(&cut);
    let mut bytes = arp_stream(4);
    bytes.truncate(bytes.len() - 42 - 8);
    cut.write_all(&bytes).unwrap();
    cut.shutdown(Shutdown::Write).unwrap();
    // Claims a 2 GiB record, then keeps sending: it must be dropped, not buffered.
    let huge = wall.connect();
    let huge_name = peer(&huge);
    let mut huge_writer = huge.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        let mut head = arp_stream(0);
        for v in [1u32, 0, 0x7fff_ffff, 0x7fff_ffff] {
            head.extend_from_slice(&v.to_le_bytes());
        }
        let _ = huge_writer.write_all(&head);
        let junk = vec![0x5au8; 1 << 16];
        let mut sent = 0usize;
        while sent < 64 << 20 {
            match huge_writer.write(&junk) {
                Ok(n) => sent += n,
                Err(_) => break, // the server hung up: what we want
            }
        }
        sent
    });

    let line = wall.wait_for("the garbage sender", |l| names(l, &garbage_name));
    assert!(line.contains("closed") && line.contains("not a pcap"), "{line}");
    let line = wall.wait_for("the cut sender", |l| names(l, &cut_name));
    assert!(
        line.contains("closed") && line.contains("after 3 packets") && line.contains("middle of a record"),
        "{line}"
    );
    let line = wall.wait_for("the huge sender", |l| names(l, &huge_name));
    assert!(
        line.contains("closed") && line.contains("corrupt record"),
        "{line}"
    );
    let flooded = flood.join().unwrap();
    assert!(
        flooded < 64 << 20,
        "the server kept reading a corrupt stream ({flooded} bytes)"
    );
    assert_closed_by_server(garbage, "garbage");
    assert_closed_by_server(cut, "cut");
    assert_closed_by_server(huge, "huge");
    wall.assert_running();

    // Silent senders fill every slot but the good one's; the rest are refused.
    let silent: Vec<TcpStream> = (0..idle).map(|_| wall.connect()).collect();
    let extra: Vec<TcpStream> = (0..refused).map(|_| wall.connect()).collect();
    wall.wait_for_count("refused senders", refused, |l| l.contains("refused sender"));
    for s in extra {
        assert_closed_by_server(s, "refused");
    }
    wall.assert_running();
    // Every slot taken and the flood behind us: the peak so far is the peak.
    let rss = wall.peak_rss_kib();
    eprintln!("peak RSS with {MAX_SENDERS} senders connected: {rss} KiB");

    // The good sender finishes, undisturbed.
    good.write_all(&good_bytes[half..]).unwrap();
    good.shutdown(Shutdown::Write).unwrap();
    let good_name = peer(&good);
    let line = wall.wait_for("the good sender", |l| names(l, &good_name));
    assert!(line.contains("ended after 20000 packets"), "{line}");

    // The silent ones are dropped by the idle timeout, which ends the run.
    wall.wait_for_count("silent senders dropped", idle, |l| l.contains("sent nothing for"));
    for s in silent {
        assert_closed_by_server(s, "silent");
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = wall.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "scanwall did not stop after {streams} streams"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = wall.stdout.take().unwrap().join().unwrap();
    while let Ok(line) = wall.lines.recv_timeout(Duration::from_secs(5)) {
        wall.log.push(line);
    }
    assert!(status.success(), "{status}:\n{}", wall.log.join("\n"));
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB");

    let got = json(&out);
    assert_eq!(got["maps"], expected["maps"], "the good sender's maps differ");
    // The cut sender's three whole ARP records are the only other packets.
    assert_eq!(got["packets"], expected["packets"].as_u64().unwrap() + 3);
    assert_eq!(
        got["skipped"]["not_ip"],
        expected["skipped"]["not_ip"].as_u64().unwrap() + 3
    );
    for reason in ["malformed", "not_inbound", "filtered"] {
        assert_eq!(got["skipped"][reason], expected["skipped"][reason], "{reason}");
    }
}

#[test]
fn count_listen_needs_a_way_to_stop() {
    let out = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["count", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--streams") && err.contains("--duration"), "{err}");
}

#[test]
fn count_listen_duration_ends_the_run_with_open_senders_counted() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args([
            "count",
            "--listen",
            "127.0.0.1:0",
            "--format",
            "json",
            "--duration",
            "2s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect(&line);
    // A sender that is still connected when the time is up: its records count.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(&arp_stream(5)).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(out.status.success(), "{rest}");
    let got = json(&out.stdout);
    assert_eq!(got["packets"], 5, "{rest}");
    assert!(rest.contains("ended after 5 packets"), "{rest}");
}
