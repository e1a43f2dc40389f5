//! End-to-end: real `scanwall sensor` processes sending to a real wall
//! (`scanwall count --sensors-listen`, which prints exact totals and ends by
//! itself after `--sensors N` connections), all on 127.0.0.1.
//!
//! Asserts: a replayed capture reaches the wall with exactly the counts
//! `scanwall count -r` gives; two sensors' counts add up; a wrong key, a wrong
//! version, garbage, a malformed delta and an oversized frame are refused,
//! logged with the peer's address and counted, while a good sensor's counts
//! stay exact; a sensor started before its wall connects once the wall is up
//! and sends nothing it counted before; bad key files are refused with the fix.
//!
//! Synchronisation is by the log lines the processes write.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

mod stderr_lines;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use scanwall::sensor::auth::SensorKey;
use scanwall::sensor::conn::Conn;
use scanwall::sensor::secure::{self, Handshake};
use scanwall::sensor::wire::{self, CloseReason, MAX_FRAME, MAX_HANDSHAKE_FRAME, Message};

/// Upper bound on any one wait: generous for a loaded CI machine.
const PATIENCE: Duration = Duration::from_secs(60);
/// Every map, so the wall's default (all nine, as `count`) is fed in full.
const ALL_MAPS: &str = "icmp,all,syn,udp,port,synport,addrport,synaddrport,len";

fn scanwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
}

fn run(args: &[&str]) -> Output {
    scanwall().args(args).output().expect("run scanwall")
}

/// A key file (mode 600) holding `secret`.
fn key_file(dir: &Path, name: &str, secret: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A generated demo capture of `packets` packets.
fn capture(dir: &Path, name: &str, packets: u32, seed: u32) -> PathBuf {
    let path = dir.join(name);
    let out = run(&[
        "generate",
        "--packets",
        &packets.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    path
}

/// `scanwall count -r` of `path` in `format`: the ground truth.
fn count_file(path: &Path, format: &str) -> String {
    let out = run(&["count", "--format", format, "-r", path.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// A running scanwall process and its standard-error lines.
struct Proc {
    child: Child,
    stdout: Option<std::thread::JoinHandle<String>>,
    lines: Receiver<String>,
    log: Vec<String>,
    what: &'static str,
}

impl Proc {
    fn start(what: &'static str, args: &[&str], stdin: bool) -> Proc {
        let mut child = scanwall()
            .args(args)
            // Rendering (snapshot) wants a runtime directory, as in the other render tests.
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scanwall");
        let mut out = child.stdout.take().unwrap();
        let stdout = Some(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }));
        let lines = stderr_lines::follow(child.stderr.take().unwrap());
        Proc {
            child,
            stdout,
            lines,
            log: Vec::new(),
            what,
        }
    }

    /// `count --sensors-listen 127.0.0.1:PORT` (0: any free port) with `key`,
    /// ending after `sensors` connections.
    fn wall(port: u16, key: &Path, sensors: usize, format: &str) -> Proc {
        let addr = format!("127.0.0.1:{port}");
        let n = sensors.to_string();
        let args = [
            "count",
            "--sensors-listen",
            &addr,
            "--key-file",
            key.to_str().unwrap(),
            "--sensors",
            &n,
            "--format",
            format,
        ];
        let mut p = Proc::start("wall", &args, false);
        p.wait_for("the listening line", |l| l.contains("listening for sensors on"));
        p
    }

    /// A sensor of every map, named `name`, sending to 127.0.0.1:`port` with
    /// `key`: replaying `file` flat out, or, without one, reading `-r -` from
    /// the standard input the test writes the capture to.
    fn sensor(name: &'static str, file: Option<&Path>, port: u16, key: &Path) -> Proc {
        let to = format!("127.0.0.1:{port}");
        let read: Vec<&str> = match file {
            Some(f) => vec!["-r", f.to_str().unwrap(), "--speed", "max"],
            None => vec!["-r", "-"],
        };
        let mut args = vec!["sensor"];
        args.extend(read);
        args.extend([
            "--maps",
            ALL_MAPS,
            "--to",
            &to,
            "--key-file",
            key.to_str().unwrap(),
            "--name",
            name,
        ]);
        Proc::start(name, &args, file.is_none())
    }

    /// The wall's port, from its listening line.
    fn port(&self) -> u16 {
        let line = self
            .log
            .iter()
            .find(|l| l.contains("listening for sensors on"))
            .unwrap();
        line.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap()
    }

    fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().unwrap()
    }

    /// Waits for a standard-error line matching `pred`; fails with the log so far.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        if let Some(line) = stderr_lines::wait_for(&self.lines, &mut self.log, PATIENCE, pred) {
            return line;
        }
        let _ = self.child.kill();
        panic!(
            "{}: no line for {what}; standard error so far:\n{}",
            self.what,
            self.log.join("\n")
        );
    }

    /// Waits until `n` standard-error lines match `pred`.
    fn wait_for_nth(&mut self, what: &str, n: usize, pred: impl Fn(&str) -> bool) {
        while self.log.iter().filter(|l| pred(l)).count() < n {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => self.log.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("{}: no line for {what}:\n{}", self.what, self.log.join("\n"));
                }
            }
        }
    }

    /// Waits for the process to exit; its status, standard output and the
    /// whole standard error.
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{} did not exit:\n{}", self.what, self.log.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        (status, out, self.log.join("\n"))
    }
}

impl Drop for Proc {
    /// A test that fails midway leaves no process behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn assert_success(what: &str, status: std::process::ExitStatus, err: &str) {
    assert!(status.success(), "{what} failed ({status}):\n{err}");
}

#[test]
fn a_replayed_capture_reaches_the_wall_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let file = capture(dir.path(), "x.pcap", 30_000, 7);
    let wall = Proc::wall(0, &key, 1, "csv");
    let sensor = Proc::sensor("edge-1", Some(&file), wall.port(), &key);
    let (status, _, err) = sensor.finish();
    assert_success("sensor", status, &err);
    assert!(err.contains("connected to wall"), "{err}");
    assert!(
        err.contains("counted 30000 packets") && err.contains("took 30000 packets"),
        "{err}"
    );
    let (status, csv, log) = wall.finish();
    assert_success("wall", status, &log);
    assert!(log.contains("sensor edge-1 connected from 127.0.0.1:"), "{log}");
    assert!(log.contains("disconnected after"), "{log}");
    assert_eq!(
        csv,
        count_file(&file, "csv"),
        "the wall's counts differ from count -r"
    );
}

/// Adds `b`'s map cells and totals to `a` (both `count --format json`).
fn add_counts(a: &mut serde_json::Value, b: &serde_json::Value) {
    let maps = a["maps"].as_object_mut().unwrap();
    for (map, cells) in b["maps"].as_object().unwrap() {
        let into = maps
            .entry(map.clone())
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .unwrap();
        for (key, n) in cells.as_object().unwrap() {
            let sum = into.get(key).and_then(|v| v.as_u64()).unwrap_or(0) + n.as_u64().unwrap();
            into.insert(key.clone(), sum.into());
        }
    }
    a["packets"] = (a["packets"].as_u64().unwrap() + b["packets"].as_u64().unwrap()).into();
    for reason in ["not_ip", "malformed", "not_inbound", "filtered"] {
        let sum = a["skipped"][reason].as_u64().unwrap() + b["skipped"][reason].as_u64().unwrap();
        a["skipped"][reason] = sum.into();
    }
}

#[test]
fn two_sensors_add_up_in_one_wall() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let a = capture(dir.path(), "a.pcap", 20_000, 1);
    let b = capture(dir.path(), "b.pcap", 15_000, 2);
    let wall = Proc::wall(0, &key, 2, "json");
    let sa = Proc::sensor("edge-a", Some(&a), wall.port(), &key);
    let sb = Proc::sensor("edge-b", Some(&b), wall.port(), &key);
    for s in [sa, sb] {
        let (status, _, err) = s.finish();
        assert_success("sensor", status, &err);
    }
    let (status, out, log) = wall.finish();
    assert_success("wall", status, &log);
    let got = json(&out);
    let mut expected = json(&count_file(&a, "json"));
    add_counts(&mut expected, &json(&count_file(&b, "json")));
    assert_eq!(got["maps"], expected["maps"], "merged maps differ from the sum");
    assert_eq!(got["packets"], 35_000);
    assert_eq!(got["skipped"], expected["skipped"]);
    let mut peers: Vec<(String, u64)> = got["sensors"]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["packets"].as_u64().unwrap(),
            )
        })
        .collect();
    peers.sort();
    assert_eq!(
        peers,
        [("edge-a".to_string(), 20_000), ("edge-b".to_string(), 15_000)]
    );
    assert_eq!(got["sensors"]["authenticated"], 2);
}

/// Reads one frame (length, type, payload) the wall sent.
fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).unwrap();
    (body[0], body[1..].to_vec())
}

/// The wall sent a CLOSE with `reason`, then closed the connection.
fn assert_closed_with(s: &mut TcpStream, reason: u8, what: &str) {
    let (kind, payload) = read_frame(s);
    assert_eq!((kind, payload[0]), (6, reason), "{what}: {payload:?}");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{what}: more bytes after the CLOSE");
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// The HELLO of sensor `name` in protocol `version`, written out by hand
/// (`docs/sensor-protocol.md`).
fn hello(version: u16, name: &str) -> Vec<u8> {
    let mut b = ((1 + 4 + 2 + 1 + name.len()) as u32).to_be_bytes().to_vec();
    b.push(0x01);
    b.extend_from_slice(b"SWSN");
    b.extend_from_slice(&version.to_be_bytes());
    b.push(name.len() as u8);
    b.extend_from_slice(name.as_bytes());
    b
}

/// A hand-made sensor that completes the handshake as `name` with `secret`:
/// the library's own handshake pieces, frames written by the test.
fn authenticated(port: u16, name: &str, secret: &str) -> Conn {
    let s = connect(port);
    let peer = s.peer_addr().unwrap();
    let mut conn = Conn::new(s, peer);
    let hello = hello(2, name);
    let psk = secure::psk(&SensorKey::from_bytes(secret.as_bytes()));
    let mut noise = Handshake::initiator(&psk, &secure::prologue(&hello)).unwrap();
    let first = noise.write().unwrap();
    conn.send(PATIENCE, |out| {
        out.extend_from_slice(&hello);
        wire::encode_noise(&first, out);
    })
    .unwrap();
    let deadline = Instant::now() + PATIENCE;
    match conn.read(MAX_HANDSHAKE_FRAME, deadline).unwrap() {
        Message::Noise { msg } => noise.read(msg).unwrap(),
        other => panic!("expected the wall's handshake, got {other:?}"),
    }
    conn.seal(noise.finish().unwrap());
    assert_eq!(
        conn.read(MAX_FRAME, deadline).unwrap(),
        Message::Welcome,
        "a sealed WELCOME"
    );
    conn
}

/// The wall sent a sealed CLOSE with `reason`, then closed the connection.
fn assert_sealed_close(conn: &mut Conn, reason: CloseReason, what: &str) {
    match conn.read(MAX_FRAME, Instant::now() + PATIENCE) {
        Ok(Message::Close { reason: r, .. }) => assert_eq!(r, reason, "{what}"),
        other => panic!("{what}: expected a CLOSE, got {other:?}"),
    }
    let mut rest = Vec::new();
    let _ = conn.stream().read_to_end(&mut rest);
    assert!(rest.is_empty(), "{what}: more bytes after the CLOSE");
}

#[test]
fn bad_peers_are_refused_logged_and_counted_while_a_good_sensor_stays_exact() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a shared secret for the test";
    let key = key_file(dir.path(), "key", secret);
    let wrong = key_file(dir.path(), "wrong", "not the wall's secret at all");
    let file = capture(dir.path(), "good.pcap", 20_000, 11);
    // Six bad peers and the good sensor.
    let mut wall = Proc::wall(0, &key, 7, "json");
    let port = wall.port();
    let names = |s: &TcpStream| format!("{}", s.local_addr().unwrap());

    // 1. A real sensor with the wrong key: refused, and it says so and exits non-zero.
    let bad = Proc::sensor("impostor", Some(&file), port, &wrong);
    let (status, _, err) = bad.finish();
    assert!(!status.success(), "a refused sensor must fail:\n{err}");
    assert!(
        err.contains("refused sensor impostor") && err.contains("--key-file differs"),
        "{err}"
    );
    let line = wall.wait_for("the wrong key", |l| l.contains("authentication failed"));
    assert!(
        line.contains("refused sensor 127.0.0.1:") && line.contains("impostor"),
        "{line}"
    );

    // 2. Not a sensor at all.
    let mut garbage = connect(port);
    let garbage_name = names(&garbage);
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: wall\r\n\r\n")
        .unwrap();
    assert_closed_with(&mut garbage, 3, "garbage");
    let line = wall.wait_for("the garbage", |l| l.contains(&garbage_name));
    assert!(
        line.contains("refused sensor") && line.contains("frame of"),
        "{line}"
    );

    // 3. Another protocol version: a version 1 sensor (deltas in clear).
    let mut old = connect(port);
    let old_name = names(&old);
    old.write_all(&hello(1, "old")).unwrap();
    assert_closed_with(&mut old, 1, "version 1");
    let line = wall.wait_for("version 1", |l| l.contains(&old_name));
    assert!(line.contains("version 1") && line.contains("version 2"), "{line}");

    // 4. Authenticated, then a delta whose cell keys go backwards (hand-written).
    let mut liar = authenticated(port, "liar", secret);
    let liar_name = liar.stream().local_addr().unwrap().to_string();
    #[rustfmt::skip]
    let delta = [
        0x00, 0x00, 0x00, 0x1d,                         // length 29
        0x05,                                           // DELTA
        0x16, 0x8d, 0x81, 0xa8, 0x35, 0x57, 0x00, 0x00, // sent at
        0x02, 0x00, 0x00, 0x00, 0x00,                   // 2 packets, no skips
        0x00, 0x00,                                     // no drops
        0x00,                                           // none late
        0x01,                                           // one map
        0x03, b's', b'y', b'n', 0x02,                   // "syn", two cells
        0x00, 0x09, 0x01,                               //   key 9: 1
        0x00, 0x08, 0x01,                               //   key 8: 1 (out of order)
    ];
    liar.send(PATIENCE, |out| out.extend_from_slice(&delta)).unwrap();
    assert_sealed_close(&mut liar, CloseReason::Malformed, "malformed delta");
    let line = wall.wait_for("the malformed delta", |l| {
        l.contains(&liar_name) && l.contains("dropped")
    });
    assert!(
        line.contains("dropped sensor liar") && line.contains("out of order"),
        "{line}"
    );

    // 5. Authenticated, then a 2 GiB frame: dropped on its length alone.
    let mut huge = authenticated(port, "huge", secret);
    let huge_name = huge.stream().local_addr().unwrap().to_string();
    huge.send(PATIENCE, |out| {
        out.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 0x05])
    })
    .unwrap();
    assert_sealed_close(&mut huge, CloseReason::Malformed, "oversized frame");
    let line = wall.wait_for("the huge frame", |l| {
        l.contains(&huge_name) && l.contains("dropped")
    });
    assert!(
        line.contains("dropped sensor huge") && line.contains("frame of 2147483647 bytes"),
        "{line}"
    );

    // 6. A HELLO too large for the handshake.
    let mut long = connect(port);
    let long_name = names(&long);
    long.write_all(&[0, 0, 4, 0, 0x01]).unwrap();
    assert_closed_with(&mut long, 3, "oversized hello");
    wall.wait_for("the long hello", |l| l.contains(&long_name));

    // The good sensor, after all of that.
    let good = Proc::sensor("edge-1", Some(&file), port, &key);
    let (status, _, err) = good.finish();
    assert_success("good sensor", status, &err);

    let (status, out, log) = wall.finish();
    assert_success("wall", status, &log);
    let got = json(&out);
    let expected = json(&count_file(&file, "json"));
    assert_eq!(got["maps"], expected["maps"], "the good sensor's counts differ");
    assert_eq!(got["packets"], expected["packets"]);
    let s = &got["sensors"];
    assert_eq!(
        (
            &s["refused"]["auth"],
            &s["refused"]["version"],
            &s["refused"]["handshake"]
        ),
        (&1.into(), &1.into(), &2.into()),
        "{s}"
    );
    assert_eq!(s["malformed"], 2, "{s}");
    assert_eq!(s["authenticated"], 3, "{s}");
    let malformed: Vec<(String, u64)> = s["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["malformed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        malformed,
        [
            ("liar".to_string(), 1),
            ("huge".to_string(), 1),
            ("edge-1".to_string(), 0)
        ],
        "the impostor never authenticated, so it has no entry"
    );
}

/// How this test cannot pass by accident: the sensor must first fail to
/// reach the wall (it logs that), it counts traffic A before the wall exists
/// and traffic B after it has connected (it reports A + B counted), and the
/// wall must then hold exactly A + B's counts, cell for cell, with A's
/// packets reported late: a sensor that dropped what it held would have B's
/// only, and A and B (different seeds) have different counts.
#[test]
fn a_sensor_started_before_its_wall_delivers_what_it_held_as_late() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let a = std::fs::read(capture(dir.path(), "a.pcap", 5_000, 21)).unwrap();
    let b_path = capture(dir.path(), "b.pcap", 4_000, 22);
    let b = std::fs::read(&b_path).unwrap();
    assert_eq!(a[..24], b[..24], "same pcap header");
    assert_ne!(count_file(&b_path, "csv"), {
        let a_path = dir.path().join("a.pcap");
        count_file(&a_path, "csv")
    });
    // A port with nothing on it yet.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sensor = Proc::sensor("early", None, port, &key);
    let mut stdin = sensor.stdin();
    // Traffic A, counted while there is no wall.
    stdin.write_all(&a).unwrap();
    stdin.flush().unwrap();
    sensor.wait_for("a failed attempt", |l| l.contains("cannot reach wall"));
    // The sensor reads A from the pipe in well under a millisecond; the
    // wall below takes far longer to start. (Were A read late, the wall would
    // get it and the test would fail, never pass.)
    std::thread::sleep(Duration::from_millis(300));
    let wall = Proc::wall(port, &key, 1, "json");
    sensor.wait_for("the connection", |l| l.contains("connected to wall"));
    // Traffic B, after the connection; then the stream ends and so does the sensor.
    stdin.write_all(&b[24..]).unwrap();
    drop(stdin);
    let (status, _, err) = sensor.finish();
    assert_success("sensor", status, &err);
    assert!(
        err.contains("counted 9000 packets") && err.contains("took 9000 packets"),
        "the sensor must have counted A and B and sent both:\n{err}"
    );
    let (status, got, log) = wall.finish();
    assert_success("wall", status, &log);
    // A then B, as one capture: what the wall must hold.
    let both = dir.path().join("both.pcap");
    let mut bytes = a.clone();
    bytes.extend_from_slice(&b[24..]);
    std::fs::write(&both, &bytes).unwrap();
    let got = json(&got);
    let expected = json(&count_file(&both, "json"));
    assert_eq!(got["maps"], expected["maps"], "the wall must hold A and B");
    assert_eq!(got["packets"], 9000);
    assert_eq!(got["sensors"]["late"], 5000, "A was delivered late");
}

#[test]
fn a_wall_of_another_version_is_a_clear_error_on_the_sensor() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let fake = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = fake.local_addr().unwrap().port();
    let wall = std::thread::spawn(move || {
        let (mut s, _) = fake.accept().unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let (kind, payload) = read_frame(&mut s);
        assert_eq!(
            (kind, &payload[..6]),
            (0x01, &b"SWSN\x00\x02"[..]),
            "a version 2 HELLO"
        );
        // What a version 1 wall answers: CLOSE(version), in clear.
        let text = b"sensor protocol version 2, this wall speaks version 1: run the same scanwall release on sensors and walls";
        let mut close = ((1 + 1 + 2 + text.len()) as u32).to_be_bytes().to_vec();
        close.extend([0x06, 0x01]);
        close.extend((text.len() as u16).to_be_bytes());
        close.extend_from_slice(text);
        s.write_all(&close).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let to = format!("127.0.0.1:{port}");
    let out = run(&[
        "sensor",
        "--demo",
        "--to",
        &to,
        "--key-file",
        key.to_str().unwrap(),
        "--name",
        "edge-1",
    ]);
    wall.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("version 2") && err.contains("same scanwall release"),
        "{err}"
    );
}

#[test]
fn bad_key_files_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open");
    std::fs::write(&open, "a shared secret for the test\n").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let empty = key_file(dir.path(), "empty", "");
    let out = run(&[
        "sensor",
        "--demo",
        "--to",
        "127.0.0.1:1",
        "--key-file",
        open.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("chmod 600") && err.lines().count() == 1, "{err}");
    let out = run(&[
        "count",
        "--sensors-listen",
        "127.0.0.1:0",
        "--sensors",
        "1",
        "--key-file",
        empty.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("is empty") && err.contains("/dev/urandom"), "{err}");
    let out = run(&["count", "--sensors-listen", "127.0.0.1:0", "--sensors", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--key-file"), "{err}");
}

#[test]
fn a_snapshot_draws_what_sensors_sent() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let png = dir.path().join("wall.png");
    let args = [
        "snapshot",
        "--sensors-listen",
        "127.0.0.1:0",
        "--key-file",
        key.to_str().unwrap(),
        "--seconds",
        "4",
        "--size",
        "640x360",
        "-o",
        png.to_str().unwrap(),
    ];
    let mut snapshot = Proc::start("snapshot", &args, false);
    snapshot.wait_for("the listening line", |l| l.contains("listening for sensors on"));
    let to = format!("127.0.0.1:{}", snapshot.port());
    let out = run(&[
        "sensor",
        "--demo",
        "--demo-rate",
        "5000",
        "--duration",
        "1500ms",
        "--to",
        &to,
        "--key-file",
        key.to_str().unwrap(),
        "--name",
        "demo-sensor",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let took: u64 = err
        .split("took ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {err}"));
    assert!(took > 0, "{err}");
    let (status, _, log) = snapshot.finish();
    assert_success("snapshot", status, &log);
    assert!(log.contains("sensor demo-sensor connected"), "{log}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG", "a PNG was written");
}

/// A wall that goes away and comes back: the sensor reconnects by itself,
/// and the new wall gets what it missed, marked late, then the rest. Traffic
/// A reaches the first wall, C is counted while there is none, B reaches the
/// second: the first must hold exactly A, the second exactly C and B with C
/// late (different seeds, so a loss or a leak of A shows).
#[test]
fn a_wall_that_comes_back_gets_what_it_missed_as_late() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let a_path = capture(dir.path(), "a.pcap", 3_000, 31);
    let b_path = capture(dir.path(), "b.pcap", 2_000, 32);
    let c_path = capture(dir.path(), "c.pcap", 2_500, 33);
    let c = std::fs::read(&c_path).unwrap();
    let (a, b) = (std::fs::read(&a_path).unwrap(), std::fs::read(&b_path).unwrap());
    // The first wall: up for a fixed time, then it closes.
    let mut first = Proc::start(
        "first wall",
        &[
            "count",
            "--sensors-listen",
            "127.0.0.1:0",
            "--key-file",
            key.to_str().unwrap(),
            "--duration",
            "3s",
        ],
        false,
    );
    first.wait_for("the listening line", |l| l.contains("listening for sensors on"));
    let port = first.port();
    let mut sensor = Proc::sensor("steady", None, port, &key);
    let mut stdin = sensor.stdin();
    stdin.write_all(&a[..24]).unwrap();
    stdin.flush().unwrap();
    sensor.wait_for("the first connection", |l| l.contains("connected to wall"));
    stdin.write_all(&a[24..]).unwrap();
    stdin.flush().unwrap();
    let (status, csv, log) = first.finish();
    assert_success("first wall", status, &log);
    assert_eq!(
        csv,
        count_file(&a_path, "csv"),
        "the first wall must hold exactly A"
    );
    sensor.wait_for("the lost wall", |l| l.contains("lost wall"));
    // Counted while no wall is up: held for the next one.
    stdin.write_all(&c[24..]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let second = Proc::wall(port, &key, 1, "json");
    sensor.wait_for_nth("the reconnection", 2, |l| l.contains(": connected to wall"));
    stdin.write_all(&b[24..]).unwrap();
    drop(stdin);
    let (status, _, err) = sensor.finish();
    assert_success("sensor", status, &err);
    assert!(err.contains("counted 7500 packets"), "{err}");
    let (status, out, log) = second.finish();
    assert_success("second wall", status, &log);
    let c_then_b = dir.path().join("cb.pcap");
    let mut bytes = c.clone();
    bytes.extend_from_slice(&b[24..]);
    std::fs::write(&c_then_b, &bytes).unwrap();
    let got = json(&out);
    let expected = json(&count_file(&c_then_b, "json"));
    assert_eq!(
        got["maps"], expected["maps"],
        "the second wall must hold exactly C and B"
    );
    assert_eq!(got["sensors"]["late"], 2500, "C was delivered late");
}

/// Finding 1 of the hostile-network review: 270 idle connections that
/// reconnect whenever dropped used to hold every one of the wall's 256
/// places, and a keyed sensor got nothing in. Unauthenticated peers now wait
/// in a pool of their own and make room for each other, so the sensor gets
/// in and its counts arrive exact.
#[test]
fn idle_unauthenticated_connections_cannot_keep_a_keyed_sensor_out() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "key", "a shared secret for the test");
    let file = capture(dir.path(), "good.pcap", 3_000, 31);
    let args = [
        "count",
        "--sensors-listen",
        "127.0.0.1:0",
        "--key-file",
        key.to_str().unwrap(),
        "--duration",
        "8s",
        "--format",
        "json",
    ];
    let mut wall = Proc::start("wall", &args, false);
    wall.wait_for("the listening line", |l| l.contains("listening for sensors on"));
    let port = wall.port();
    let (stop, opened) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let attacker = {
        let (stop, opened) = (stop.clone(), opened.clone());
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !stop.load(Relaxed) {
                while held.len() < 270 {
                    let Ok(c) = TcpStream::connect(("127.0.0.1", port)) else {
                        break;
                    };
                    c.set_nonblocking(true).unwrap();
                    held.push(c);
                    opened.fetch_add(1, Relaxed);
                }
                // Whatever the wall dropped is opened again, a tenth of a
                // second later (the churn is the wall's doing: it makes room).
                held.retain(|c| {
                    let mut b = [0u8; 256];
                    matches!((&*c).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let deadline = Instant::now() + PATIENCE;
    while opened.load(Relaxed) < 300 {
        assert!(Instant::now() < deadline, "the attacker could not connect");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sensor = Proc::sensor("edge-1", Some(&file), port, &key);
    let (status, _, err) = sensor.finish();
    stop.store(true, Relaxed);
    attacker.join().unwrap();
    assert_success("sensor under attack", status, &err);
    let (status, out, log) = wall.finish();
    assert_success("wall", status, &log);
    let got = json(&out);
    let expected = json(&count_file(&file, "json"));
    assert_eq!(got["maps"], expected["maps"], "the sensor's counts differ");
    assert_eq!(got["packets"], 3000);
    assert_eq!(got["sensors"]["authenticated"], 1);
    assert!(
        got["sensors"]["refused"]["evicted"].as_u64().unwrap() > 0,
        "{}",
        got["sensors"]
    );
}

/// A hand-made sensor's handshake on a bare stream: the stream and the
/// session's keys, after the sealed WELCOME.
fn handshake_raw(port: u16, name: &str, secret: &str) -> (TcpStream, secure::Sealer) {
    let mut s = connect(port);
    let hello = hello(2, name);
    let psk = secure::psk(&SensorKey::from_bytes(secret.as_bytes()));
    let mut noise = Handshake::initiator(&psk, &secure::prologue(&hello)).unwrap();
    let mut first = hello.clone();
    wire::encode_noise(&noise.write().unwrap(), &mut first);
    s.write_all(&first).unwrap();
    let (kind, msg) = read_frame(&mut s);
    assert_eq!(kind, 7, "the wall's handshake message");
    noise.read(&msg).unwrap();
    let mut sealer = noise.finish().unwrap();
    let (kind, sealed) = read_frame(&mut s);
    assert_eq!(kind, wire::SEALED);
    let mut plain = Vec::new();
    sealer.open(&sealed, &mut plain).unwrap();
    assert_eq!(plain, [0, 0, 0, 1, 0x04], "WELCOME, sealed");
    (s, sealer)
}

/// A sealed record of `plain`, as a connection writes it.
fn record(sealer: &mut secure::Sealer, plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    wire::begin_sealed(plain.len() + secure::TAG_LEN, &mut out);
    sealer.seal(plain, &mut out).unwrap();
    out
}

/// Finding 2: after the handshake every frame is sealed, so a frame altered
/// on the way, one injected in clear, or one replayed, is refused and
/// nothing of it counted, while a good sensor's counts stay exact.
#[test]
fn altered_injected_or_replayed_frames_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a shared secret for the test";
    let key = key_file(dir.path(), "key", secret);
    let file = capture(dir.path(), "good.pcap", 2_000, 41);
    let mut wall = Proc::wall(0, &key, 4, "json");
    let port = wall.port();
    // A valid delta of 7 packets into syn cell 9.
    let mut delta = Vec::new();
    let header = wire::DeltaHeader {
        sent_at_ns: 1_625_097_600_000_000_000,
        packets: 7,
        ..wire::DeltaHeader::default()
    };
    let cells = [(9u16, 7u64)];
    wire::encode_delta(
        &header,
        &[wire::MapCells {
            name: "syn",
            cells: &cells,
        }],
        &mut delta,
    );
    let closed_with = |s: &mut TcpStream, sealer: &mut secure::Sealer, what: &str| {
        let (kind, sealed) = read_frame(s);
        assert_eq!(kind, wire::SEALED, "{what}");
        let mut plain = Vec::new();
        sealer.open(&sealed, &mut plain).unwrap();
        assert_eq!((plain[4], plain[5]), (0x06, 3), "{what}: CLOSE(malformed)");
    };

    // Altered: one bit of the sealed delta flipped on the way.
    let (mut s, mut sealer) = handshake_raw(port, "altered", secret);
    let mut bad = record(&mut sealer, &delta);
    let last = bad.len() - 1;
    bad[last] ^= 0x10;
    s.write_all(&bad).unwrap();
    closed_with(&mut s, &mut sealer, "altered");
    let line = wall.wait_for("the altered frame", |l| {
        l.contains("sensor altered") && l.contains("dropped")
    });
    assert!(line.contains("integrity check"), "{line}");

    // Injected: a well-formed delta in clear after the handshake.
    let (mut s, mut sealer) = handshake_raw(port, "injected", secret);
    s.write_all(&delta).unwrap();
    closed_with(&mut s, &mut sealer, "injected");
    wall.wait_for("the injected frame", |l| {
        l.contains("sensor injected") && l.contains("dropped")
    });

    // Replayed: the same sealed record twice (the second's nonce is spent).
    let (mut s, mut sealer) = handshake_raw(port, "replayed", secret);
    let once = record(&mut sealer, &delta);
    s.write_all(&once).unwrap();
    s.write_all(&once).unwrap();
    closed_with(&mut s, &mut sealer, "replayed");
    wall.wait_for("the replayed frame", |l| {
        l.contains("sensor replayed") && l.contains("dropped")
    });

    let good = Proc::sensor("edge-1", Some(&file), port, &key);
    let (status, _, err) = good.finish();
    assert_success("good sensor", status, &err);
    let (status, out, log) = wall.finish();
    assert_success("wall", status, &log);
    let got = json(&out);
    let expected = json(&count_file(&file, "json"));
    // The replayed record's first copy was genuine: 7 packets in syn cell 9.
    let mut maps = expected["maps"].clone();
    let syn = maps["syn"].as_object_mut().unwrap();
    let had = syn.get("9").and_then(|v| v.as_u64()).unwrap_or(0);
    syn.insert("9".into(), (had + 7).into());
    assert_eq!(got["maps"]["syn"], maps["syn"], "only the genuine copy counted");
    assert_eq!(got["sensors"]["malformed"], 3, "{}", got["sensors"]);
}
