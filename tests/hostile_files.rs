//! Paths that are not what they seem, through the real binary: a FIFO or a
//! device given as a capture file, a config file or a key file (refused at
//! once, on one line: never a hang, never a read without end), and a capture
//! file that another program truncates while `count` reads it (the records
//! before the damage counted, exit 1 with one line: never SIGBUS).

#![allow(clippy::unwrap_used)] // test setup

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn scanwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
}

/// How a run ended: its status, standard output and standard error.
struct Ended {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Waits for `child` for at most `limit`; kills it and fails the test if it
/// is still running then (a hang, or a read without end).
fn within(mut child: Child, limit: Duration, what: &str) -> Ended {
    let pipe = |p: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = p {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = pipe(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = pipe(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang or a read without end)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ended {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs scanwall with `args`, which must fail within five seconds with one
/// line on standard error that contains every one of `needles`.
fn refused_at_once(args: &[&str], needles: &[&str]) {
    let child = scanwall()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let what = args.join(" ");
    let ended = within(child, Duration::from_secs(5), &what);
    let err = ended.stderr.trim_end();
    assert_eq!(ended.status.code(), Some(1), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
    assert_eq!(ended.stdout, "", "{what}: no counts");
    for n in needles {
        assert!(err.contains(n), "{what}: expected `{n}` in: {err}");
    }
}

/// A FIFO in a fresh temporary directory (kept alive by the returned guard).
fn fifo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success(), "mkfifo");
    (dir, path)
}

fn text(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small capture file to give alongside a bad `--config` or key file.
fn capture(dir: &Path) -> PathBuf {
    let pcap = dir.join("small.pcap");
    let made = scanwall()
        .args(["generate", "--packets", "10", "-o"])
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(made.success());
    pcap
}

#[test]
fn a_device_or_a_fifo_as_the_capture_file_is_refused_at_once() {
    refused_at_once(
        &["count", "-r", "/dev/zero"],
        &["/dev/zero", "a character device, not a capture file"],
    );
    let (_dir, fifo) = fifo();
    refused_at_once(
        &["count", "-r", text(&fifo)],
        &["a FIFO (named pipe), not a capture file", "-r - <"],
    );
}

#[test]
fn a_device_or_a_fifo_as_the_config_file_is_refused_at_once() {
    let (dir, fifo) = fifo();
    let pcap = capture(dir.path());
    for config in [Path::new("/dev/zero"), &fifo] {
        refused_at_once(
            &["count", "--config", text(config), "-r", text(&pcap)],
            &["config file", text(config), "not a regular file"],
        );
    }
}

#[test]
fn a_config_file_past_a_megabyte_is_refused() {
    // Valid TOML (comments), but no config file is this long.
    let dir = tempfile::tempdir().unwrap();
    let pcap = capture(dir.path());
    let big = dir.path().join("big.toml");
    std::fs::write(&big, "# a comment line\n".repeat(70_000)).unwrap();
    refused_at_once(
        &["count", "--config", text(&big), "-r", text(&pcap)],
        &["config file", "is over 1048576 bytes"],
    );
}

#[test]
fn a_device_or_a_fifo_as_the_key_file_is_refused_at_once() {
    let (_dir, fifo) = fifo();
    for key in [&fifo, Path::new("/dev/zero")] {
        refused_at_once(
            &[
                "count",
                "--sensors-listen",
                "127.0.0.1:0",
                "--key-file",
                text(key),
                "--duration",
                "1s",
            ],
            &["key file", text(key), "is not a regular file"],
        );
    }
}

/// Waits (up to ten seconds) until process `pid` has `path` open or mapped.
fn has_open(pid: u32, path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .any(|target| target == path);
        let mapped = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .is_ok_and(|maps| maps.lines().any(|l| l.ends_with(path.to_str().unwrap_or("?"))));
        if open || mapped {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// Packets in the capture the truncation test cuts: enough that reading it
/// takes the test binary (a debug build) well over the truncation's delays.
const PACKETS: u64 = 1_500_000;

#[test]
fn a_capture_truncated_while_count_reads_it_ends_with_the_counts_before() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.pcap");
    let made = scanwall()
        .args(["generate", "--packets", &PACKETS.to_string(), "-o"])
        .arg(&template)
        .status()
        .unwrap();
    assert!(made.success());
    let size = std::fs::metadata(&template).unwrap().len();
    let path = dir.path().join("rotating.pcap");
    let mut shrank = 0;
    // Truncated to nothing (as `tcpdump -W` reopens the oldest file), to a
    // third, and inside the first block; at once and later in the read; on
    // one thread and on two.
    for (round, (delay_ms, to)) in [
        (0, 0),
        (80, size / 3),
        (150, 100_000),
        (300, size / 2),
        (60, 0),
        (200, size / 5),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::copy(&template, &path).unwrap();
        let threads = if round % 2 == 0 { "1" } else { "2" };
        let child = scanwall()
            .args(["count", "--format", "json", "--threads", threads, "-r"])
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Cut only once it has the file open (a slow start would otherwise
        // find the file cut already), then after the delay.
        assert!(
            has_open(child.id(), &path),
            "count never opened {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(delay_ms));
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(to).unwrap();
        drop(file);
        let what = format!("round {round}: cut to {to} after {delay_ms} ms, {threads} thread(s)");
        let ended = within(child, Duration::from_secs(60), &what);
        let err = ended.stderr.trim_end();
        assert_eq!(ended.status.signal(), None, "{what}: killed by a signal: {err}");
        let packets = serde_json::from_str::<serde_json::Value>(&ended.stdout)
            .ok()
            .and_then(|doc| doc["packets"].as_u64());
        eprintln!("{what}: exit {:?}, {packets:?} packets", ended.status.code());
        match ended.status.code() {
            // Done before the cut.
            Some(0) => assert_eq!(packets, Some(PACKETS), "{what}"),
            // Cut between the open and the header's read: nothing to count.
            Some(1) if to == 0 && err.contains("shorter than a pcap header") => {
                assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
            }
            Some(1) => {
                assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
                assert!(err.contains("got shorter while it was read"), "{what}: {err}");
                // The records read before the damage, counted and printed.
                assert!(packets.is_some_and(|p| p < PACKETS), "{what}: {packets:?} {err}");
                shrank += 1;
            }
            other => panic!("{what}: exit {other:?}: {err}"),
        }
    }
    // The reads were long enough for the cuts to land inside them.
    assert!(shrank > 0, "no round cut the file while it was read");
}
