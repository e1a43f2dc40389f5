//! End-to-end: NetFlow v5, v9 and IPFIX datagrams sent over UDP on loopback
//! to the real binary (`scanwall count --netflow 127.0.0.1:0 --duration ...
//! --format json`): hand-built ones (`scanwall::source::netflow::craft`),
//! hostile ones, and real exporters' (`softflowd -r CAPTURE -v 5|9|10`, and
//! pmacctd's `nfprobe` as v9 and IPFIX, unsampled and sampled), checked
//! against `scanwall count -r CAPTURE` and, where installed, against
//! nfdump's view of the same export; and library sessions as the
//! wall and `snapshot --seconds` start them.
//!
//! Asserts: each flow counts its packets (times the sampling interval) in
//! the maps the counting rules give; malformed and unusable datagrams are
//! counted, charged to their exporter, logged, never fatal; a real exporter's
//! export of a capture counts exactly the capture's packets, cell by cell.
//!
//! Synchronisation is by the collector's log line, never by sleeping.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

mod udp_collector;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use udp_collector::{Collector, PATIENCE, cell, find_program};

use scanwall::craft::{ether, icmp, ipv4, tcp, udp};
use scanwall::source::netflow::craft::{self, FLOW_V4, FLOW_V6, Flow};

const SYN: u8 = 0x02;

/// A running `scanwall count --netflow` for `duration`.
fn start(duration: &str, extra: &[&str]) -> Collector {
    Collector::start("--netflow", "NetFlow", duration, extra)
}

fn netflow(json: &serde_json::Value, field: &str) -> u64 {
    json["netflow"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("netflow.{field} in {json}"))
}

/// (exporter, version, flows, packets, sequence gaps, malformed, templates), sorted.
fn exporters(json: &serde_json::Value) -> Vec<(String, u64, u64, u64, u64, u64, u64)> {
    let mut out: Vec<_> = json["netflow"]["exporters"]
        .as_array()
        .expect("netflow.exporters")
        .iter()
        .map(|e| {
            let n = |k: &str| e[k].as_u64().unwrap();
            (
                e["exporter"].as_str().unwrap().to_string(),
                n("version"),
                n("flows"),
                n("packets"),
                n("sequence_gaps"),
                n("malformed"),
                n("templates"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn flows_of_every_version_count_exactly_and_hostile_datagrams_do_not_stop_it() {
    let c = start("2s", &["--local", "192.0.2.0/24", "--local", "2001:db8::/32"]);
    let syn = Flow::v4([198, 51, 100, 1], [192, 0, 2, 37], 6, 8080, SYN, 2, 80);
    let dns = Flow::v4([198, 51, 100, 2], [192, 0, 2, 53], 17, 53, 0, 3, 3 * 76);
    let out = Flow::v4([192, 0, 2, 9], [192, 0, 2, 53], 17, 53, 0, 100, 100 * 76);
    let v6 = Flow::v6(
        [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34],
        6,
        443,
        SYN,
        1,
        60,
    );
    // v5 at 1 in 10 from 127.0.0.1.
    c.send(Ipv4Addr::new(127, 0, 0, 1), &[craft::v5(0, 10, &[syn, dns, out])]);
    // v9 from 127.0.0.2: a data flowset before its template (unusable), then
    // the template, sampling 1 in 4 by options, and the data.
    let mut options = vec![0, 0, 0, 0];
    options.extend_from_slice(&4u32.to_be_bytes());
    c.send(
        Ipv4Addr::new(127, 0, 0, 2),
        &[
            craft::v9(1, 0, 1, &[craft::set(260, &syn.record_v4())]),
            craft::v9(
                1,
                1,
                4,
                &[
                    craft::set(0, &craft::template(260, &FLOW_V4)),
                    craft::set(1, &craft::v9_options_template(261, &[(1, 4)], &[(34, 4)])),
                    craft::set(261, &options),
                    craft::set(260, &[syn.record_v4(), dns.record_v4()].concat()),
                ],
            ),
        ],
    );
    // IPFIX from 127.0.0.3, observation domain 7: an IPv6 SYN flow.
    c.send(
        Ipv4Addr::new(127, 0, 0, 3),
        &[craft::ipfix(
            7,
            0,
            &[
                craft::set(2, &craft::template(300, &FLOW_V6)),
                craft::set(300, &v6.record_v6()),
            ],
        )],
    );
    // Hostile: cut short, a lying set length, junk, a template of zero-length fields.
    let good = craft::ipfix(7, 1, &[craft::set(300, &v6.record_v6())]);
    let mut lying = good.clone();
    lying[19] = 0xff;
    c.send(
        Ipv4Addr::new(127, 0, 0, 3),
        &[
            good[..good.len() - 3].to_vec(),
            lying,
            b"\x00\x0a junk".to_vec(),
            craft::ipfix(7, 1, &[craft::set(2, &craft::template(301, &[(12, 0)]))]),
            good,
        ],
    );
    let o = c.finish();
    assert!(o.success, "{}", o.log);
    let j = &o.json;
    // v5: 20 + 30 inbound, 1000 outbound; v9: (2 + 3) x 4; IPFIX: 1 + 1.
    assert_eq!(j["packets"], 20 + 30 + 1000 + 20 + 2, "{j}");
    assert_eq!(j["skipped"]["not_inbound"], 1000);
    assert_eq!(cell(j, "synport", 8080), 20 + 8);
    assert_eq!(cell(j, "syn", 0x0225), 20 + 8);
    assert_eq!(cell(j, "udp", 0x0235), 30 + 12);
    assert_eq!(cell(j, "len", 76), 30 + 12);
    assert_eq!(cell(j, "synport", 443), 2);
    assert_eq!(cell(j, "all", 0x1234), 2);
    assert_eq!(netflow(j, "datagrams"), 9);
    assert_eq!(netflow(j, "malformed"), 3);
    assert_eq!(j["netflow"]["unusable"]["no_template"], 1);
    assert_eq!(j["netflow"]["unusable"]["bad_template"], 1);
    assert_eq!(
        exporters(j),
        [
            ("127.0.0.1".to_string(), 5, 3, 1050, 0, 0, 0),
            ("127.0.0.2#1".to_string(), 9, 2, 20, 0, 0, 2),
            ("127.0.0.3#7".to_string(), 10, 2, 2, 0, 2, 1),
        ]
    );
    assert!(o.log.contains("malformed NetFlow datagram"), "{}", o.log);
    // One line at once, the rest summed up at most every 10 s: not one per datagram.
    assert!(o.log.matches("malformed NetFlow").count() <= 2, "{}", o.log);
    // What could not be used is logged too, as a running total, at a bounded rate.
    assert!(o.log.contains("could not be used so far"), "{}", o.log);
    assert!(o.log.contains("no_template 1"), "{}", o.log);
    assert!(o.log.matches("could not be used").count() <= 2, "{}", o.log);
}

#[test]
fn count_needs_a_duration_refuses_a_bpf_filter_and_runs_beside_sflow() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["count", "--netflow", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--duration"));
    let o = run(&["count", "--netflow", "0", "--duration", "1s", "tcp"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("BPF filter"));
    // With sFlow, both collectors run into the same maps, each reported.
    let o = run(&[
        "count",
        "--netflow",
        "0",
        "--sflow",
        "0",
        "--duration",
        "1s",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json["netflow"].is_object() && json["sflow"].is_object(), "{json}");
    let o = run(&["count", "--netflow", "0", "-r", "x.pcap", "--duration", "1s"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
}

/// A capture of multi-packet flows, every packet of a flow the same length:
/// 60 flows of 5 SYNs (retransmissions) to 192.0.2.0-59 port 22, 60 of 4
/// UDP datagrams to 192.0.2.100-159 port 53 and 20 of 3 echo requests to
/// 192.0.2.200-219, interleaved in time.
fn flow_capture(path: &Path) {
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet, 65535).unwrap();
    let mut frames = Vec::new();
    for round in 0..5u8 {
        for host in 0..60u8 {
            frames.push(ether(0x0800, &[], &ipv4(6, [2, host], &tcp(22, SYN), None, 0, 5)));
            if round < 4 {
                frames.push(ether(
                    0x0800,
                    &[],
                    &ipv4(17, [2, 100 + host], &udp(53), None, 0, 5),
                ));
            }
            if round < 3 && host < 20 {
                frames.push(ether(
                    0x0800,
                    &[],
                    &ipv4(1, [2, 200 + host], &icmp(8), None, 0, 5),
                ));
            }
        }
    }
    for (i, frame) in frames.iter().enumerate() {
        let ts = 1_600_000_000_000_000_000 + i as u64 * 1_000_000;
        w.write(ts, frame.len() as u32, frame).unwrap();
    }
    w.finish().unwrap();
}

/// Every map of `count`'s JSON.
const MAPS: [&str; 9] = [
    "all",
    "icmp",
    "udp",
    "syn",
    "port",
    "synport",
    "addrport",
    "synaddrport",
    "len",
];

/// A map of a `count` JSON document, cell by cell.
fn map_of(json: &serde_json::Value, map: &str) -> BTreeMap<String, u64> {
    json["maps"][map]
        .as_object()
        .unwrap_or_else(|| panic!("map {map} in {json}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

/// Every map of `json` must be the sum of `expected`'s (`count -r` of each
/// capture), `times` over, cell by cell.
fn assert_maps_are(json: &serde_json::Value, expected: &[serde_json::Value], times: u64) {
    for map in MAPS {
        let mut want = BTreeMap::<String, u64>::new();
        for e in expected {
            for (k, v) in map_of(e, map) {
                *want.entry(k).or_default() += times * v;
            }
        }
        assert_eq!(map_of(json, map), want, "map {map}");
    }
}

/// The demo traffic of `scanwall generate` (3000 packets, single-packet flows).
fn demo_capture(path: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["generate", "--packets", "3000", "-o"])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Half of the demo's /16 and a /25 of the flow capture's /24: some flows are not inbound.
const LOCALS: [&str; 4] = ["--local", "127.20.0.0/17", "--local", "192.0.2.0/25"];

/// `scanwall count -r FILE --format json` with `extra` options.
fn count_file(capture: &Path, extra: &[&str]) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["count", "-r"])
        .arg(capture)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs `softflowd -r capture` exporting version `version` to `port`, to its end.
fn softflowd(program: &Path, capture: &Path, port: u16, version: u8) {
    let mut p = Command::new(program)
        .arg("-r")
        .arg(capture)
        .args([
            "-n",
            &format!("127.0.0.1:{port}"),
            "-v",
            &version.to_string(),
            "-d",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start softflowd");
    let deadline = Instant::now() + PATIENCE;
    while p.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = p.kill();
            panic!("softflowd did not finish its capture");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A real exporter: softflowd reads two captures (the demo traffic of
/// `scanwall generate`, single-packet flows, and the multi-packet flows of
/// [`flow_capture`]) and exports their flows as NetFlow v5, v9 and IPFIX to
/// one collector. Every map must be `count -r`'s of the captures, times the
/// three exports, cell by cell. Skipped, saying so, without softflowd.
#[test]
fn a_real_exporter_softflowd_counts_as_the_capture_does() {
    let Some(program) = find_program("softflowd") else {
        eprintln!(
            "skipped a_real_exporter_softflowd_counts_as_the_capture_does: softflowd not found \
             (Debian package softflowd; scripts/system-packages.sh installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.pcap");
    demo_capture(&demo);
    let flows = dir.path().join("flows.pcap");
    flow_capture(&flows);
    let locals = LOCALS;
    let c = start("5s", &locals);
    for version in [5, 9, 10] {
        softflowd(&program, &demo, c.port, version);
        softflowd(&program, &flows, c.port, version);
    }
    let o = c.finish();
    assert!(o.success, "{}", o.log);
    let j = &o.json;
    let expected: Vec<serde_json::Value> = [&demo, &flows].iter().map(|p| count_file(p, &locals)).collect();
    // Three exports of each capture.
    let total = |f: &dyn Fn(&serde_json::Value) -> u64| -> u64 { expected.iter().map(f).sum::<u64>() * 3 };
    let packets = total(&|e| e["packets"].as_u64().unwrap());
    assert_eq!(j["packets"].as_u64(), Some(packets), "{}", j["netflow"]);
    let not_inbound = total(&|e| e["skipped"]["not_inbound"].as_u64().unwrap());
    assert!(not_inbound > 0);
    assert_eq!(j["skipped"]["not_inbound"].as_u64(), Some(not_inbound));
    // Every cell of every map: flows keep destination, port, protocol; the
    // SYN maps match because each flow's packets all had the same flags, and
    // `len` because each flow's packets all had the same length.
    assert_maps_are(j, &expected, 3);
    assert_eq!(netflow(j, "malformed"), 0);
    assert_eq!(j["netflow"]["unusable"]["no_template"], 0, "{}", j["netflow"]);
    let ex = exporters(j);
    assert_eq!(ex.len(), 3, "{ex:?}");
    for (name, version, _, packets_of, gaps, malformed, _) in &ex {
        assert_eq!(name, "127.0.0.1");
        assert_eq!(*packets_of, packets / 3, "version {version}");
        assert_eq!(*malformed, 0);
        if *version != 10 {
            // softflowd numbers IPFIX messages by the records up to and
            // including each one (RFC 7011: before it), so only v5 and v9
            // sequences are exact here.
            assert_eq!(*gaps, 0, "version {version}");
        }
    }
}

/// nfdump's view: softflowd exports the flow capture as NetFlow v9 once to
/// nfcapd and once to scanwall; the packets per destination address that
/// `nfdump` prints must be scanwall's `all` map (no --local: every flow).
/// Skipped, saying so, without softflowd or nfcapd and nfdump.
#[test]
fn nfdump_sees_what_scanwall_counts() {
    let (Some(sfd), Some(nfcapd), Some(nfdump)) = (
        find_program("softflowd"),
        find_program("nfcapd"),
        find_program("nfdump"),
    ) else {
        eprintln!(
            "skipped nfdump_sees_what_scanwall_counts: softflowd, nfcapd or nfdump not found \
             (Debian packages softflowd, nfdump)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("flows.pcap");
    flow_capture(&capture);
    let nfcapd = Nfcapd::start(&nfcapd, dir.path(), None);
    softflowd(&sfd, &capture, nfcapd.port, 9);
    let c = start("2s", &[]);
    softflowd(&sfd, &capture, c.port, 9);
    let o = c.finish();
    assert!(o.success, "{}", o.log);
    let (by_dst, _) = nfcapd.packets_by_destination(&nfdump);
    assert_eq!(all_by_key(&o.json), by_dst);
}

/// scanwall's `all` map with numeric keys.
fn all_by_key(json: &serde_json::Value) -> BTreeMap<u16, u64> {
    map_of(json, "all")
        .into_iter()
        .map(|(k, v)| (k.parse().unwrap(), v))
        .collect()
}

/// A running `nfcapd` (package nfdump) on a free loopback port, storing
/// under its own folder; with `repeat`, it also sends every datagram it
/// receives on to that loopback port (`-R`), so two collectors see one export.
struct Nfcapd {
    child: std::process::Child,
    port: u16,
    store: std::path::PathBuf,
}

impl Nfcapd {
    fn start(program: &Path, dir: &Path, repeat: Option<u16>) -> Nfcapd {
        let store = dir.join(format!("nfcapd-{}", repeat.unwrap_or(0)));
        std::fs::create_dir(&store).unwrap();
        let port = free_port();
        let mut command = Command::new(program);
        command
            .arg("-w")
            .arg(&store)
            .args(["-b", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(to) = repeat {
            command.args(["-R", &format!("127.0.0.1/{to}")]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nfcapd");
        // nfcapd says nothing when it is ready: wait until its port is taken.
        let deadline = Instant::now() + PATIENCE;
        while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(Instant::now() < deadline, "nfcapd did not bind");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nfcapd { child, port, store }
    }

    /// Stops nfcapd (it writes its file then) and reads what it stored with
    /// `nfdump -o 'fmt:%da|%pkt'`: packets per destination's low 16 bits
    /// (IPv4 flows), as nfdump prints them, and the flows.
    fn packets_by_destination(mut self, nfdump: &Path) -> (BTreeMap<u16, u64>, u64) {
        // SIGTERM, by its own PID.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let out = Command::new(nfdump)
            .arg("-R")
            .arg(&self.store)
            .args(["-q", "-N", "-o", "fmt:%da|%pkt"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut by_dst = BTreeMap::<u16, u64>::new();
        let mut flows = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut parts = line.split('|').map(str::trim);
            let (Some(da), Some(pkt)) = (parts.next(), parts.next()) else {
                continue;
            };
            let addr: std::net::Ipv4Addr = da.parse().unwrap();
            let [_, _, hi, lo] = addr.octets();
            *by_dst.entry(u16::from_be_bytes([hi, lo])).or_default() += pkt.parse::<u64>().unwrap();
            flows += 1;
        }
        assert!(!by_dst.is_empty(), "nfdump printed no flows");
        (by_dst, flows)
    }
}

/// A free loopback UDP port (bound, read, released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the wall draws from: flows counted, the exporter on the status line
/// as its own kind, and the system clock as "now".
#[test]
fn the_wall_session_shows_exporters_on_the_system_clock() {
    let port = free_port();
    let session = udp_collector::session("--netflow", port, None);
    let syn = Flow::v4([198, 51, 100, 1], [192, 0, 2, 37], 6, 8080, SYN, 5, 200);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let d = craft::ipfix(
        4,
        0,
        &[
            craft::set(2, &craft::template(256, &FLOW_V4)),
            craft::set(256, &syn.record_v4()),
        ],
    );
    socket.send_to(&d, ("127.0.0.1", port)).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while session.counters().totals().packets < 5 {
        assert!(Instant::now() < deadline, "the datagram was not counted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut reader = session.frame_reader();
    let frame = reader.read(session.now());
    let info = scanwall::display::status::status_info(&session, frame, 30.0);
    assert_eq!(info.source, format!("netflow 127.0.0.1:{port}"));
    assert!(info.peers.contains("netflow: 127.0.0.1#4 "), "{}", info.peers);
    udp_collector::assert_system_clock_then_stop(session);
}

/// `snapshot --netflow` collects for `--seconds`, then its session ends by itself.
#[test]
fn a_headless_session_collects_for_its_seconds_then_ends() {
    let port = free_port();
    let started = Instant::now();
    let mut session = udp_collector::session("--netflow", port, Some(1.0));
    let dns = Flow::v4([198, 51, 100, 2], [192, 0, 2, 53], 17, 53, 0, 3, 228);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&craft::v5(0, 2, &[dns]), ("127.0.0.1", port))
        .unwrap();
    session.wait().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(session.counters().totals().packets, 6);
}

/// Waits for every pmacctd run to end (each reads its capture to the end),
/// all within the collector's 10 s from `started`, then stops the
/// collector `c`: what it counted, checked to have ended well.
fn after_pmacctd(
    probes: impl IntoIterator<Item = std::process::Child>,
    started: Instant,
    c: Collector,
) -> udp_collector::Outcome {
    for p in probes {
        udp_collector::wait_exit(p, "pmacctd");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(9),
        "pmacctd took {took:?} of the collector's 10 s"
    );
    let o = c.finish();
    assert!(o.success, "{}", o.log);
    o
}

/// Starts pmacctd's `nfprobe` plugin exporting `capture` as NetFlow
/// `version` (9, or 10 for IPFIX) to the loopback `port`, as source id /
/// observation domain `domain` (so that runs side by side are distinct
/// exporters), sampling 1 in `sampling` packets when given. Short flow
/// timeouts; pmacctd expires every flow when it exits.
fn nfprobe(
    program: &Path,
    dir: &Path,
    capture: &Path,
    port: u16,
    (version, domain): (u8, u32),
    sampling: Option<u32>,
) -> std::process::Child {
    let mut plugin = format!(
        "plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:{port}\nnfprobe_version: {version}\n\
         nfprobe_engine: {domain}\n\
         nfprobe_timeouts: tcp=1:tcp.rst=1:tcp.fin=1:udp=1:icmp=1:general=1:maxlife=1:expint=1"
    );
    if let Some(n) = sampling {
        plugin.push_str(&format!("\nsampling_rate: {n}"));
    }
    let name = format!("nfprobe-{version}-{domain}");
    udp_collector::pmacctd(program, dir, &name, capture, &plugin)
}

/// A real exporter: pmacctd's `nfprobe` plugin reads the two captures the
/// softflowd test uses and exports each as NetFlow v9 and as IPFIX, all four
/// side by side (source ids / observation domains 1 to 4) to one collector.
/// Every map must be `count -r`'s of the captures, twice, cell by cell, and
/// each exporter's packets its capture's. Skipped, saying so, without pmacctd.
#[test]
fn a_real_exporter_pmacctd_nfprobe_counts_as_the_capture_does() {
    let Some(program) = find_program("pmacctd") else {
        eprintln!(
            "skipped a_real_exporter_pmacctd_nfprobe_counts_as_the_capture_does: pmacctd not \
             found (Debian package pmacct; scripts/system-packages.sh installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo.pcap");
    demo_capture(&demo);
    let flows = dir.path().join("flows.pcap");
    flow_capture(&flows);
    let expected: Vec<serde_json::Value> = [&demo, &flows].iter().map(|p| count_file(p, &LOCALS)).collect();
    // pmacctd sleeps 2 s before it reads a capture file.
    let c = start("10s", &LOCALS);
    let started = Instant::now();
    let runs = [(9, 1, &demo), (9, 2, &flows), (10, 3, &demo), (10, 4, &flows)];
    let probes: Vec<_> = runs
        .iter()
        .map(|&(version, domain, capture)| {
            nfprobe(&program, dir.path(), capture, c.port, (version, domain), None)
        })
        .collect();
    let o = after_pmacctd(probes, started, c);
    let j = &o.json;
    let sum = |f: &dyn Fn(&serde_json::Value) -> u64| -> u64 { expected.iter().map(f).sum::<u64>() * 2 };
    let packets = sum(&|e| e["packets"].as_u64().unwrap());
    assert_eq!(j["packets"].as_u64(), Some(packets), "{}", j["netflow"]);
    let not_inbound = sum(&|e| e["skipped"]["not_inbound"].as_u64().unwrap());
    assert!(not_inbound > 0);
    assert_eq!(j["skipped"]["not_inbound"].as_u64(), Some(not_inbound));
    assert_maps_are(j, &expected, 2);
    assert_eq!(netflow(j, "malformed"), 0, "{}", j["netflow"]);
    assert_eq!(netflow(j, "kernel_drops"), 0, "{}", j["netflow"]);
    for (reason, n) in j["netflow"]["unusable"].as_object().unwrap() {
        assert_eq!(n, 0, "unusable {reason}: {}", j["netflow"]);
    }
    // Unsampled: no options data.
    assert_eq!(netflow(j, "option_records"), 0, "{}", j["netflow"]);
    let ex = exporters(j);
    // A capture's packets, inbound or not (count's "packets" includes the skipped).
    let of_capture = |i: usize| expected[i]["packets"].as_u64().unwrap();
    let want: Vec<_> = runs
        .iter()
        .map(|&(version, domain, capture)| {
            let i = usize::from(capture != &demo);
            (
                format!("127.0.0.1#{domain}"),
                u64::from(version),
                of_capture(i),
                0,
                0,
            )
        })
        .collect();
    let got: Vec<_> = ex
        .iter()
        .map(|(name, version, _, packets, gaps, malformed, _)| {
            (name.clone(), *version, *packets, *gaps, *malformed)
        })
        .collect();
    assert_eq!(got, want);
}

/// A capture of `n` (at most 1000) TCP SYNs to `port`, each to its own
/// address in 192.0.2.0 - 192.0.5.249: one flow of one packet each.
fn single_syn_capture(path: &Path, port: u16, n: u16) {
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet, 65535).unwrap();
    for i in 0..n {
        let dst = [2 + (i / 250) as u8, (i % 250) as u8];
        let frame = ether(0x0800, &[], &ipv4(6, dst, &tcp(port, SYN), None, 0, 5));
        w.write(
            1_600_000_000_000_000_000 + u64::from(i) * 1_000_000,
            frame.len() as u32,
            &frame,
        )
        .unwrap();
    }
    w.finish().unwrap();
}

/// pmacctd's `nfprobe` with `sampling_rate: N` declares its sampler in
/// options data (a sampler id, its mode and `samplerRandomInterval` N, scope
/// System (v9) or exportingProcessId (IPFIX)) and names the sampler in each
/// flow record; each flow's packets are the sampled ones. A capture of 1000
/// single-packet flows, exported as v9 at 1 in 4 and as IPFIX at 1 in 7:
/// every flow scanwall counts must stand for exactly N packets, in the cell
/// of its port. Skipped, saying so, without pmacctd.
#[test]
fn a_sampled_pmacctd_export_counts_each_flow_times_its_interval() {
    let Some(program) = find_program("pmacctd") else {
        eprintln!(
            "skipped a_sampled_pmacctd_export_counts_each_flow_times_its_interval: pmacctd not \
             found (Debian package pmacct; scripts/system-packages.sh installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let c = start("10s", &[]);
    let started = Instant::now();
    // (version, domain, port, 1 in N)
    let runs = [(9u8, 1u32, 8080u16, 4u64), (10, 2, 9090, 7)];
    let probes: Vec<_> = runs
        .iter()
        .map(|&(version, domain, port, n)| {
            let capture = dir.path().join(format!("syn-{port}.pcap"));
            single_syn_capture(&capture, port, 1000);
            nfprobe(
                &program,
                dir.path(),
                &capture,
                c.port,
                (version, domain),
                Some(n as u32),
            )
        })
        .collect();
    let o = after_pmacctd(probes, started, c);
    let j = &o.json;
    assert_eq!(netflow(j, "malformed"), 0, "{}", j["netflow"]);
    for (reason, n) in j["netflow"]["unusable"].as_object().unwrap() {
        assert_eq!(n, 0, "unusable {reason}: {}", j["netflow"]);
    }
    assert!(netflow(j, "option_records") >= 2, "{}", j["netflow"]);
    let ex = exporters(j);
    assert_eq!(ex.len(), 2, "{ex:?}");
    let mut total = 0;
    for ((name, version, flows, packets, gaps, _, _), (v, domain, port, n)) in ex.iter().zip(runs) {
        assert_eq!(
            (name.as_str(), *version),
            (format!("127.0.0.1#{domain}").as_str(), u64::from(v))
        );
        assert_eq!(*gaps, 0, "{name}");
        assert_eq!(*packets, flows * n, "{name}: {flows} flows at 1 in {n}");
        assert_eq!(cell(j, "synport", port), *packets, "{name}");
        // About 1000 / N flows sampled (binomial: within 6 standard deviations).
        let mean = 1000.0 / n as f64;
        let sd = (mean * (1.0 - 1.0 / n as f64)).sqrt();
        assert!(
            (*flows as f64 - mean).abs() < 6.0 * sd,
            "{name}: {flows} flows at 1 in {n}"
        );
        total += packets;
    }
    assert_eq!(j["packets"].as_u64(), Some(total));
}

/// nfdump's view of a sampled export: pmacctd exports the flow capture as
/// v9 and the demo capture as IPFIX, both at 1 in 4, to nfcapd, which
/// repeats every datagram to scanwall (`-R`): one export, two collectors.
/// nfcapd 1.7 does not apply pmacct's sampler options (nfdump shows the
/// flows as unsampled), so nfdump's packets per destination, times 4, must
/// be scanwall's `all` map, and its flows scanwall's. Skipped, saying so,
/// without pmacctd, nfcapd or nfdump.
#[test]
fn nfdump_sees_what_scanwall_counts_of_a_sampled_pmacctd_export() {
    let (Some(pmacctd), Some(nfcapd), Some(nfdump)) = (
        find_program("pmacctd"),
        find_program("nfcapd"),
        find_program("nfdump"),
    ) else {
        eprintln!(
            "skipped nfdump_sees_what_scanwall_counts_of_a_sampled_pmacctd_export: pmacctd, \
             nfcapd or nfdump not found (Debian packages pmacct, nfdump)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.pcap");
    flow_capture(&flows);
    let demo = dir.path().join("demo.pcap");
    demo_capture(&demo);
    let c = start("10s", &[]);
    let started = Instant::now();
    let nfcapd = Nfcapd::start(&nfcapd, dir.path(), Some(c.port));
    let probes = [
        nfprobe(&pmacctd, dir.path(), &flows, nfcapd.port, (9, 1), Some(4)),
        nfprobe(&pmacctd, dir.path(), &demo, nfcapd.port, (10, 2), Some(4)),
    ];
    let o = after_pmacctd(probes, started, c);
    let j = &o.json;
    let (by_dst, nfdump_flows) = nfcapd.packets_by_destination(&nfdump);
    let want: BTreeMap<u16, u64> = by_dst.into_iter().map(|(k, v)| (k, 4 * v)).collect();
    assert_eq!(all_by_key(j), want);
    assert_eq!(netflow(j, "flows"), nfdump_flows, "{}", j["netflow"]);
    assert_eq!(netflow(j, "malformed"), 0, "{}", j["netflow"]);
}
