//! End-to-end: the real binary serving `--listen` (as `scanwall count --listen
//! ... --streams N`, which ends by itself once N connections have closed) while
//! hostile senders on 127.0.0.1 send garbage, stop mid-record, claim an
//! impossible record length, or connect and send nothing, and one good sender
//! streams a known capture across all of it.
//!
//! Asserts: the good sender's counts equal `scanwall count -r` of the same
//! capture, exactly; every bad connection is closed (seen from the sender's
//! side) and logged on standard error; a connection over `MAX_SENDERS` gets a
//! slot by dropping the least productive sender; silent ones, and ones that
//! trickle bytes without ever finishing a record, are dropped after
//! `--stream-idle-timeout`; resident memory stays bounded; and the process
//! stays up until it is done.
//!
//! Synchronisation is by the log lines the process writes and by the
//! connections' own ends, never by sleeping (the trickling senders pace
//! their bytes, which is what they are).

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
        Listener::start_with(streams, IDLE_TIMEOUT)
    }

    /// `count --listen` ending after `streams` connections, dropping senders
    /// that finish no record for `idle`.
    fn start_with(streams: usize, idle: &str) -> Listener {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(["count", "--listen", "127.0.0.1:0", "--format", "json"])
            .args(["--streams", &streams.to_string()])
            .args(["--stream-idle-timeout", idle])
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

    // Silent senders fill every slot but the good one's; each later one gets
    // the slot of the least productive (the oldest silent ones), not the
    // good sender's.
    let mut silent: Vec<TcpStream> = (0..idle).map(|_| wall.connect()).collect();
    let extra: Vec<TcpStream> = (0..refused).map(|_| wall.connect()).collect();
    for s in silent.drain(..refused) {
        assert_closed_by_server(s, "the least productive");
    }
    silent.extend(extra);
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

/// Writes one byte of each of `bytes` to every stream in `senders` every
/// `pace`, until each has sent all or has been closed (a write fails); returns
/// how many bytes each got out.
fn trickle(senders: Vec<TcpStream>, bytes: Vec<u8>, pace: Duration) -> std::thread::JoinHandle<Vec<usize>> {
    std::thread::spawn(move || {
        let mut sent = vec![0usize; senders.len()];
        let mut open = vec![true; senders.len()];
        for &b in &bytes {
            for (i, mut s) in senders.iter().enumerate() {
                if open[i] {
                    match s.write(&[b]) {
                        Ok(1) => sent[i] += 1,
                        _ => open[i] = false,
                    }
                }
            }
            if !open.iter().any(|&o| o) {
                break;
            }
            std::thread::sleep(pace);
        }
        sent
    })
}

/// One byte every 200 ms is well inside a 1 s idle timeout for each read,
/// but a record of 58 bytes takes 12 s: the sender is dropped for finishing
/// no record in 1 s, though it never went silent.
#[test]
fn a_sender_that_trickles_bytes_without_finishing_records_is_dropped() {
    let mut wall = Listener::start_with(1, "1s");
    let mut s = wall.connect();
    let name = peer(&s);
    let stream = arp_stream(1);
    let (header, record) = stream.split_at(24);
    s.write_all(header).unwrap();
    let started = Instant::now();
    let writer = trickle(
        vec![s.try_clone().unwrap()],
        record.to_vec(),
        Duration::from_millis(200),
    );
    let line = wall.wait_for("the trickler dropped", |l| names(l, &name));
    let took = started.elapsed();
    assert!(
        line.contains("no whole record") && line.contains("--stream-idle-timeout"),
        "{line}"
    );
    assert_closed_by_server(s, "trickler");
    let sent = writer.join().unwrap()[0];
    assert!(
        sent < record.len(),
        "the whole record went out ({sent} bytes) before the drop"
    );
    assert!(took < Duration::from_secs(5), "dropped only after {took:?}");
}

/// Every slot held by a sender trickling one byte every 500 ms (each read
/// within the 2 s timeout, no record ever finished) must not keep a good
/// sender out: it gets the slot of the least productive one at once and is
/// counted exactly, and the tricklers are all dropped.
#[test]
fn tricklers_in_every_slot_do_not_keep_a_good_sender_out() {
    let packets = 2000;
    let mut wall = Listener::start_with(MAX_SENDERS + 1, "2s");
    let tricklers: Vec<TcpStream> = (0..MAX_SENDERS).map(|_| wall.connect()).collect();
    let handles = tricklers.iter().map(|s| s.try_clone().unwrap()).collect();
    let writer = trickle(handles, arp_stream(1), Duration::from_millis(500));
    // Connected after all of them: the listener accepts it after them too.
    let mut good = wall.connect();
    let name = peer(&good);
    let good_writer = std::thread::spawn(move || {
        let sent = good
            .write_all(&arp_stream(packets))
            .and_then(|()| good.shutdown(Shutdown::Write));
        (good, sent)
    });
    let line = wall.wait_for("the good sender", |l| names(l, &name));
    assert!(line.contains(&format!("ended after {packets} packets")), "{line}");
    let (good, sent) = good_writer.join().unwrap();
    sent.unwrap();
    assert_closed_by_server(good, "good");
    for s in tricklers {
        assert_closed_by_server(s, "trickler");
    }
    writer.join().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while wall.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "scanwall did not stop after every stream ended"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = wall.stdout.take().unwrap().join().unwrap();
    let got = json(&out);
    assert_eq!(got["packets"], packets, "{got}");
}
