//! End-to-end: write captures, run `scanwall count`, compare with the counts
//! each crafted packet must produce by `COUNTING.md`.

#![allow(clippy::unwrap_used)] // test setup: a failure to write a fixture should fail the test

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use scanwall::craft::{ether, ipv4, ipv6, tcp, udp};
use scanwall::parse::LinkType;
use scanwall::source::pcap_format::PcapWriter;

fn scanwall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(args)
        .output()
        .expect("run scanwall")
}

fn write_capture(dir: &Path, name: &str, link: LinkType, frames: &[(Vec<u8>, u32)]) -> PathBuf {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(file), link, 65535).unwrap();
    for (i, (frame, wire)) in frames.iter().enumerate() {
        w.write(1_600_000_000_000_000_000 + i as u64 * 1000, *wire, frame)
            .unwrap();
    }
    w.finish().unwrap();
    path
}

fn frame(bytes: Vec<u8>) -> (Vec<u8>, u32) {
    let wire = bytes.len() as u32;
    (bytes, wire)
}

/// The fixture: each packet with the cells it must land in (see the comments).
fn fixture() -> Vec<(Vec<u8>, u32)> {
    let mut frames = vec![
        // SYN to x.x.37.200:8080 -> all, syn, port, synport, addrport, synaddrport, len 40.
        frame(ether(
            0x0800,
            &[],
            &ipv4(6, [37, 200], &tcp(8080, 0x02), None, 0, 5),
        )),
        // SYN+ACK: all, port, addrport, len; not the SYN maps.
        frame(ether(
            0x0800,
            &[0x8100],
            &ipv4(6, [37, 200], &tcp(8080, 0x12), None, 0, 5),
        )),
        // ICMP to x.x.5.6 -> icmp, all, len 28.
        frame(ether(
            0x0800,
            &[],
            &ipv4(1, [5, 6], &[8, 0, 0, 0, 0, 0, 0, 0], None, 0, 5),
        )),
        // ARP: not IP.
        frame(ether(0x0806, &[], &[0u8; 28])),
        // IHL 4: malformed.
        frame(ether(0x0800, &[], &{
            let mut p = ipv4(6, [1, 1], &tcp(1, 2), None, 0, 5);
            p[0] = 0x44;
            p
        })),
        // IPv6 UDP to ::1234 port 500 -> all, udp, port, addrport, len 48.
        frame(ether(0x86dd, &[], &ipv6(17, &[], &udp(500)))),
        // A later UDP fragment to x.x.1.2: all, udp, len 28; no port.
        frame(ether(0x0800, &[], &ipv4(17, [1, 2], &udp(53), None, 0x0010, 5))),
    ];
    // Three UDP packets to x.x.1.2:53.
    for _ in 0..3 {
        frames.push(frame(ether(0x0800, &[], &ipv4(17, [1, 2], &udp(53), None, 0, 5))));
    }
    frames
}

const EXPECTED_CSV: &str = "map,key,count
addrport,13570,3
addrport,37064,2
addrport,62516,1
all,258,4
all,1286,1
all,4660,1
all,9672,2
icmp,1286,1
len,28,5
len,40,2
len,48,1
port,53,3
port,500,1
port,8080,2
syn,9672,1
synaddrport,37064,1
synport,8080,1
udp,258,4
udp,4660,1
";

#[test]
fn csv_counts_match_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let out = scanwall(&["count", "-r", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Keys: 37*256+200 = 9672; (8080&255)<<8|200 = 37064; (53<<8)|2 = 13570;
    // (500&255)<<8|0x34 = 62516; 0x1234 = 4660; 1*256+2 = 258; 5*256+6 = 1286.
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED_CSV);
}

#[test]
fn json_has_maps_packets_and_skip_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let out = scanwall(&[
        "count",
        "-r",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--maps",
        "udp,syn",
    ]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["packets"], 10);
    assert_eq!(doc["skipped"]["not_ip"], 1);
    assert_eq!(doc["skipped"]["malformed"], 1);
    assert_eq!(doc["skipped"]["not_inbound"], 0);
    assert_eq!(doc["maps"]["udp"]["258"], 4);
    assert_eq!(doc["maps"]["syn"]["9672"], 1);
    assert_eq!(doc["maps"].as_object().unwrap().len(), 2);
}

#[test]
fn local_networks_decide_inbound() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let p = path.to_str().unwrap();
    // Only IPv4 192.0.0.0/16 is local: the IPv6 packet is not inbound.
    let out = scanwall(&["count", "-r", p, "--local", "192.0.0.0/16", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["skipped"]["not_inbound"], 1);
    assert_eq!(doc["maps"]["all"]["4660"], serde_json::Value::Null);
    // The sources (198.51.100.7) are local too: nothing is inbound.
    let out = scanwall(&[
        "count",
        "-r",
        p,
        "--local",
        "192.0.0.0/16",
        "--local",
        "198.51.100.0/24",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["skipped"]["not_inbound"], 8);
}

#[test]
fn trailing_words_filter_like_tcpdump() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let out = scanwall(&[
        "count",
        "-r",
        path.to_str().unwrap(),
        "--format",
        "json",
        "udp",
        "and",
        "port",
        "53",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["maps"]["udp"]["258"], 3);
    assert_eq!(doc["skipped"]["filtered"], 7);
}

#[test]
fn standard_input_reads_the_same_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["count", "-r", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED_CSV);
}

#[test]
fn truncated_capture_keeps_earlier_counts_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_capture(dir.path(), "fixture.pcap", LinkType::Ethernet, &fixture());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    let out = scanwall(&["count", "-r", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["packets"], 9);
    assert_eq!(doc["maps"]["udp"]["258"], 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn raw_ip_and_cooked_link_types() {
    let dir = tempfile::tempdir().unwrap();
    let ip = ipv4(6, [9, 9], &tcp(22, 2), None, 0, 5);
    let raw = write_capture(dir.path(), "raw.pcap", LinkType::RawIp, &[frame(ip.clone())]);
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&ip);
    let cooked = write_capture(dir.path(), "sll.pcap", LinkType::LinuxSll, &[frame(sll)]);
    for p in [raw, cooked] {
        let out = scanwall(&["count", "-r", p.to_str().unwrap(), "--maps", "synport"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "map,key,count\nsynport,22,1\n"
        );
    }
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = write_capture(dir.path(), "f.pcap", LinkType::Ethernet, &fixture());
    let f = fixture.to_str().unwrap();
    assert_one_line_error(
        &scanwall(&["count", "-r", "/nonexistent/x.pcap"]),
        "check the path",
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a capture file at all, sorry").unwrap();
    assert_one_line_error(&scanwall(&["count", "-r", text.to_str().unwrap()]), "not a pcap");
    let tiny = dir.path().join("tiny.pcap");
    std::fs::write(&tiny, [0xd4, 0xc3, 0xb2]).unwrap();
    assert_one_line_error(
        &scanwall(&["count", "-r", tiny.to_str().unwrap()]),
        "shorter than a pcap header",
    );
    assert_one_line_error(
        &scanwall(&["count", "-r", f, "--local", "10.0.0.0/40"]),
        "10.0.0.0/40",
    );
    assert_one_line_error(
        &scanwall(&["count", "-r", f, "--maps", "icmp,nope"]),
        "unknown map `nope`",
    );
    assert_one_line_error(
        &scanwall(&["count", "-r", f, "tcp", "and", "and"]),
        "bad filter expression",
    );
    let mut odd = std::fs::read(&fixture).unwrap();
    odd[20..24].copy_from_slice(&147u32.to_le_bytes());
    let odd_path = dir.path().join("odd.pcap");
    std::fs::write(&odd_path, odd).unwrap();
    assert_one_line_error(
        &scanwall(&["count", "-r", odd_path.to_str().unwrap()]),
        "link type 147",
    );
}

/// A file of 8 MiB or more is counted a part per thread; the parts' bounds
/// are found by walking the records while the first part is already being
/// counted. Any number of threads must give the one-thread counts, output and
/// error, for a whole file, one cut short, and one with a damaged record.
#[test]
fn a_large_file_counts_the_same_on_any_number_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.pcap");
    let p = path.to_str().unwrap();
    let made = scanwall(&["generate", "-o", p, "--packets", "300000"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let whole = std::fs::read(&path).unwrap();
    assert!(
        whole.len() > 12 << 20,
        "too small to be split: {} bytes",
        whole.len()
    );
    let count = |threads: &str| {
        let out = scanwall(&["count", "-r", p, "--threads", threads, "--format", "json"]);
        (
            out.status.code(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let same_on_every_thread_count = |exit: i32| {
        let one = count("1");
        assert_eq!(one.0, Some(exit), "{}", one.2);
        for threads in ["2", "3", "5"] {
            assert_eq!(count(threads), one, "{threads} threads");
        }
        one
    };
    let all = same_on_every_thread_count(0);
    let doc: serde_json::Value = serde_json::from_slice(&all.1).unwrap();
    assert_eq!(doc["packets"], 300_000);

    // Cut short in the last part.
    std::fs::write(&path, &whole[..whole.len() * 9 / 10]).unwrap();
    let cut = same_on_every_thread_count(1);
    assert!(cut.2.contains("cut short"), "{}", cut.2);

    // A record claiming an impossible length a fifth of the way in: the
    // records before it are counted, then the count fails there.
    let mut damaged = whole.clone();
    let mut at = 24;
    while at < whole.len() / 5 {
        let incl = u32::from_le_bytes(whole[at + 8..at + 12].try_into().unwrap());
        at += 16 + incl as usize;
    }
    damaged[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &damaged).unwrap();
    let bad = same_on_every_thread_count(1);
    assert!(
        bad.2.contains(&format!("corrupt record at byte {at}")),
        "{}",
        bad.2
    );
    let doc: serde_json::Value = serde_json::from_slice(&bad.1).unwrap();
    assert!(doc["packets"].as_u64().unwrap() < 300_000 / 5 + 1000, "{doc}");
}

/// Log lines go through one logger with levels: `--log-level` and `RUST_LOG`
/// filter them, and under systemd each line carries its syslog priority.
#[test]
fn log_lines_have_levels_that_can_be_filtered() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_scanwall"));
        c.args(["count", "--sflow", "127.0.0.1:0", "--duration", "50ms"])
            .args(args);
        c.env_remove("RUST_LOG").env_remove("JOURNAL_STREAM");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("run scanwall");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let info = run(&[], &[]);
    assert!(
        info.starts_with("scanwall: sFlow collector on 127.0.0.1:"),
        "{info}"
    );
    assert_eq!(run(&["--log-level", "warn"], &[]), "");
    assert_eq!(run(&[], &[("RUST_LOG", "error")]), "");
    // The option wins over the environment.
    assert!(run(&["--log-level", "info"], &[("RUST_LOG", "off")]).contains("sFlow collector"));
    let journal = run(&[], &[("JOURNAL_STREAM", "8:1234")]);
    assert!(journal.starts_with("<6>scanwall: sFlow collector"), "{journal}");
    let bad = scanwall(&["count", "--log-level", "loud", "-r", "x.pcap"]);
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && e.contains("--log-level") && e.trim().lines().count() == 1,
        "{e}"
    );
}
