//! The soak under attack: one real wall (in a window under Xvfb) listening
//! for sensors, pcap streams and sFlow at once, with `--metrics`, while every
//! listener is attacked for the soak's duration: idle connections that
//! reconnect whenever dropped on the sensor port, senders trickling a byte at
//! a time on the stream port, garbage datagrams on the sFlow port, idle and
//! trickling clients on the metrics port. Meanwhile a good sensor, a good
//! stream sender and a good sFlow agent feed it, and the metrics are scraped
//! throughout.
//!
//! Checks: every scrape answered within 1 s; the good feeders' packets all
//! counted, map by map, exactly (what `count -r` gives for their captures, and
//! the sFlow samples scaled); resident memory flat after warm-up. The figures
//! go to standard output as one JSON line (the README's Reliability section).
//!
//! `SCANWALL_SOAK_SECONDS` sets the duration (default 20, as CI runs it).

#![allow(clippy::unwrap_used)] // test setup

mod xvfb;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use scanwall::craft::{ether, ipv4, tcp};
use scanwall::parse::LinkType;
use scanwall::source::pcap_format::PcapWriter;
use scanwall::source::sflow::craft::{self, Sample};
use xvfb::XServer;

/// The maps the wall counts and the feeders send.
const MAPS: &str = "all,syn,udp,port";
/// sFlow: datagrams sent, each one sample of one SYN at 1 in `RATE`.
const DATAGRAMS: u32 = 200;
const RATE: u32 = 10;

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scanwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
}

/// Packets per map that `count -r` gives for `file`, times `times`.
fn per_map(file: &Path, times: u64) -> serde_json::Map<String, serde_json::Value> {
    let out = scanwall()
        .args([
            "count",
            "-r",
            file.to_str().unwrap(),
            "--maps",
            MAPS,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["maps"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, cells)| {
            let sum: u64 = cells
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            (name.clone(), (sum * times).into())
        })
        .collect()
}

/// `GET /metrics`, and how long the answer took.
fn scrape(port: u16) -> (String, Duration) {
    let started = Instant::now();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    (text, started.elapsed())
}

/// `scanwall_map_packets_total{map="NAME"}` of each map.
fn map_totals(text: &str) -> serde_json::Map<String, serde_json::Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("scanwall_map_packets_total{map=\""))
        .filter_map(|rest| rest.split_once("\"} "))
        .map(|(name, v)| (name.to_string(), v.trim().parse::<u64>().unwrap_or(0).into()))
        .collect()
}

/// Resident memory of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs `attack` on its own thread until `stop`.
fn attacker(
    stop: &Arc<AtomicBool>,
    attack: impl FnOnce(&AtomicBool) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let stop = stop.clone();
    std::thread::spawn(move || attack(&stop))
}

/// Keeps `n` connections open to `port`, reopening whatever is dropped, each
/// sending `trickle` (a byte every `every`) or nothing.
fn hold_connections(
    port: u16,
    n: usize,
    trickle: Option<(u8, Duration)>,
    stop: &AtomicBool,
    opened: &AtomicU64,
) {
    let mut held: Vec<TcpStream> = Vec::new();
    let mut last_byte = Instant::now();
    while !stop.load(Relaxed) {
        while held.len() < n {
            let Ok(c) = TcpStream::connect(("127.0.0.1", port)) else {
                break;
            };
            c.set_nonblocking(true).unwrap();
            held.push(c);
            opened.fetch_add(1, Relaxed);
        }
        let send = trickle.filter(|(_, every)| last_byte.elapsed() >= *every);
        if send.is_some() {
            last_byte = Instant::now();
        }
        held.retain(|c| {
            if let Some((byte, _)) = send
                && (&*c).write(&[byte]).is_err()
            {
                return false;
            }
            let mut b = [0u8; 512];
            matches!((&*c).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        });
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_wall_under_attack_on_every_listener_stays_exact_answered_and_flat() {
    let Some(mut x) = XServer::start("soak-attack") else {
        return;
    };
    let seconds: u64 = std::env::var("SCANWALL_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "a shared secret for the soak\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The good feeders' traffic: a sensor's capture, a stream's, sFlow's frame.
    let generate = |name: &str, packets: &str, seed: &str| {
        let path = dir.path().join(name);
        let out = scanwall()
            .args([
                "generate",
                "--packets",
                packets,
                "--seed",
                seed,
                "-o",
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        path
    };
    let sensor_file = generate("sensor.pcap", "20000", "51");
    let stream_file = generate("stream.pcap", "10000", "52");
    let syn = ether(0x0800, &[], &ipv4(6, [2, 37], &tcp(8080, 0x02), None, 0, 5));
    let sflow_file = dir.path().join("sflow.pcap");
    let mut w = PcapWriter::new(
        std::fs::File::create(&sflow_file).unwrap(),
        LinkType::Ethernet,
        65535,
    )
    .unwrap();
    w.write(1_600_000_000_000_000_000, syn.len() as u32, &syn)
        .unwrap();
    w.finish().unwrap();
    let mut expected = per_map(&sensor_file, 1);
    for (file, times) in [(&stream_file, 1), (&sflow_file, u64::from(DATAGRAMS * RATE))] {
        for (name, n) in per_map(file, times) {
            let sum = expected.get(&name).and_then(|v| v.as_u64()).unwrap_or(0) + n.as_u64().unwrap();
            expected.insert(name, sum.into());
        }
    }

    let (sensors, stream, sflow, metrics) =
        (free_tcp_port(), free_tcp_port(), free_udp_port(), free_tcp_port());
    let mut wall = scanwall();
    wall.args([
        "--sensors-listen",
        &format!("127.0.0.1:{sensors}"),
        "--key-file",
        key.to_str().unwrap(),
        "--listen",
        &format!("127.0.0.1:{stream}"),
        "--stream-idle-timeout",
        "3s",
        "--sflow",
        &format!("127.0.0.1:{sflow}"),
        "--metrics",
        &metrics.to_string(),
        "--maps",
        MAPS,
        "--fps",
        "5",
        "--screenshot-dir",
        "/tmp",
    ]);
    let rx = x.spawn_window(wall);
    let deadline = Instant::now() + xvfb::PATIENCE;
    while !rx
        .recv_timeout(Duration::from_secs(1))
        .is_ok_and(|l| l.contains("Ready"))
    {
        assert!(Instant::now() < deadline, "the wall did not start");
    }
    let pid = x.window_pid().unwrap();

    // The attackers, all through the soak.
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let mut attackers = Vec::new();
    for (port, n, trickle) in [
        (sensors, 270, None),
        (stream, 70, Some((0xd4, Duration::from_millis(500)))),
        (metrics, 30, None),
        (metrics, 2, Some((b'G', Duration::from_millis(700)))),
    ] {
        let opened = opened.clone();
        attackers.push(attacker(&stop, move |stop| {
            hold_connections(port, n, trickle, stop, &opened)
        }));
    }
    let garbage = Arc::new(AtomicU64::new(0));
    attackers.push(attacker(&stop, {
        let garbage = garbage.clone();
        move |stop| {
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut n = 0u32;
            while !stop.load(Relaxed) {
                let junk: Vec<u8> = (0..64 + n % 900).map(|i| (i * 31 + n) as u8).collect();
                let _ = socket.send_to(&junk, ("127.0.0.1", sflow));
                garbage.fetch_add(1, Relaxed);
                n = n.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }));

    // The good feeders, spread over the first half of the soak.
    let started = Instant::now();
    let half = Duration::from_secs(seconds / 2);
    let sensor = scanwall()
        .args([
            "sensor",
            "-r",
            sensor_file.to_str().unwrap(),
            "--speed",
            "max",
            "--maps",
            MAPS,
        ])
        .args([
            "--to",
            &format!("127.0.0.1:{sensors}"),
            "--key-file",
            key.to_str().unwrap(),
        ])
        .args(["--name", "good"])
        .output();
    let sflow_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for seq in 1..=DATAGRAMS {
        let d = craft::datagram(
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            0,
            seq,
            seq * 10,
            &[Sample::new(seq, RATE).compact(&[craft::ethernet_header(&syn)])],
        );
        sflow_socket.send_to(&d, ("127.0.0.1", sflow)).unwrap();
        std::thread::sleep(half / DATAGRAMS / 2);
    }
    let mut sender = TcpStream::connect(("127.0.0.1", stream)).unwrap();
    sender.write_all(&std::fs::read(&stream_file).unwrap()).unwrap();
    drop(sender);
    let sensor = sensor.unwrap();
    assert!(
        sensor.status.success(),
        "the good sensor failed: {}",
        String::from_utf8_lossy(&sensor.stderr)
    );

    // Scrapes and memory through the rest of the soak.
    let (mut worst, mut scrapes) = (Duration::ZERO, 0u32);
    let (mut rss_warm, mut rss_peak) = (0u64, 0u64);
    let warm_up = Duration::from_secs((seconds / 4).max(3));
    while started.elapsed() < Duration::from_secs(seconds) {
        let (text, took) = scrape(metrics);
        assert!(text.starts_with("HTTP/1.0 200"), "a scrape failed: {text:.200}");
        worst = worst.max(took);
        scrapes += 1;
        let rss = rss_kib(pid);
        if started.elapsed() >= warm_up {
            if rss_warm == 0 {
                rss_warm = rss;
            }
            rss_peak = rss_peak.max(rss);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // The good counts, every one, map by map (the last sFlow datagrams and
    // the stream may take a moment to be read).
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let got = map_totals(&scrape(metrics).0);
        if got == expected || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    stop.store(true, Relaxed);
    for a in attackers {
        a.join().unwrap();
    }
    let growth_mib = rss_peak.saturating_sub(rss_warm) as f64 / 1024.0;
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "scrapes": scrapes,
            "worst_scrape_ms": worst.as_secs_f64() * 1e3,
            "attack_connections": opened.load(Relaxed),
            "garbage_datagrams": garbage.load(Relaxed),
            "rss_after_warmup_mib": rss_warm as f64 / 1024.0,
            "rss_growth_mib": growth_mib,
        })
    );
    assert_eq!(got, expected, "the good feeders' packets, map by map");
    assert!(worst < Duration::from_secs(1), "a scrape took {worst:?}");
    assert!(
        growth_mib < 32.0,
        "resident memory grew {growth_mib:.1} MiB after warm-up"
    );
    x.key(&x.window_id("scanwall"), "q");
    let status = x.wait_window_exit();
    assert!(status.success(), "the wall failed: {status}");
}
