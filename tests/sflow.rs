//! End-to-end: sFlow v5 datagrams, hand-built (`scanwall::source::sflow::craft`),
//! sent over UDP on loopback to the real binary (`scanwall count --sflow
//! 127.0.0.1:0 --duration 2s --format json`) and to a library `Session` (what
//! the wall runs).
//!
//! Asserts: every sampled packet counts exactly its sampling rate in every
//! map; malformed datagrams are counted (and charged to their agent), logged,
//! never fatal; dropped samples and sequence gaps become drops by the
//! documented rule; agents are told apart; a bad address or a busy port is one
//! clear line and a non-zero exit. With pmacct's `sfprobe` installed, a real
//! exporter's datagrams are counted too.
//!
//! Synchronisation is by the collector's log line, never by sleeping.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

mod udp_collector;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use udp_collector::{Collector, PATIENCE, cell, find_program};

use scanwall::craft::{ether, ipv4, ipv6_to, tcp, udp};
use scanwall::source::sflow::craft::{self, Sample};

/// The collection run: datagrams are sent at once after the collector says
/// it is listening, well inside this.
const DURATION: &str = "2s";
/// Where the crafted packets go (`scanwall::craft` sends to 192.0.2.x and 2001:db8::1234).
const LOCALS: [&str; 4] = ["--local", "192.0.2.0/24", "--local", "2001:db8::/32"];

/// A running `scanwall count --sflow` for [`DURATION`].
fn start(extra: &[&str]) -> Collector {
    Collector::start("--sflow", "sFlow", DURATION, extra)
}

/// (name, packets, drops, malformed) of each agent in the report.
fn agents(json: &serde_json::Value) -> Vec<(String, u64, u64, u64)> {
    json["sflow"]["agents"]
        .as_array()
        .expect("sflow.agents")
        .iter()
        .map(|a| {
            (
                a["agent"].as_str().unwrap().to_string(),
                a["packets"].as_u64().unwrap(),
                a["drops"].as_u64().unwrap(),
                a["malformed"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn sflow(json: &serde_json::Value, field: &str) -> u64 {
    json["sflow"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("sflow.{field} in {json}"))
}

const AGENT_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const AGENT_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// A TCP SYN to 192.0.2.37:8080 in an Ethernet frame (with `tags`).
fn syn_8080(tags: &[u16]) -> Vec<u8> {
    ether(0x0800, tags, &ipv4(6, [2, 37], &tcp(8080, 0x02), None, 0, 5))
}

#[test]
fn samples_count_scaled_by_their_sampling_rate_exactly() {
    let c = start(&LOCALS);
    let dns = ipv4(17, [2, 53], &udp(53), None, 0, 5);
    let v6_syn = ipv6_to([0x12, 0x34], 6, &[], &tcp(443, 0x02));
    let a = [
        craft::datagram(
            AGENT_V4,
            0,
            1,
            1000,
            &[
                Sample::new(1, 100).compact(&[craft::ethernet_header(&syn_8080(&[]))]),
                craft::counter_sample(1),
                Sample::new(2, 1000).expanded(&[craft::sampled_header(11, dns.len() as u32, 0, &dns)]),
            ],
        ),
        craft::datagram(
            AGENT_V4,
            0,
            2,
            2000,
            &[Sample::new(3, 100).compact(&[craft::ethernet_header(&syn_8080(&[0x8100]))])],
        ),
    ];
    let b = [craft::datagram(
        AGENT_V6,
        0,
        1,
        5,
        &[Sample::new(1, 7).compact(&[craft::sampled_header(12, v6_syn.len() as u32, 0, &v6_syn)])],
    )];
    c.send(Ipv4Addr::new(127, 0, 0, 1), &a);
    c.send(Ipv4Addr::new(127, 0, 0, 2), &b);
    let out = c.finish();
    assert!(out.success, "{}", out.log);
    let j = &out.json;
    // 192.0.2.37 is key 2 << 8 | 37; 192.0.2.53 is 2 << 8 | 53.
    assert_eq!(cell(j, "synport", 8080), 200);
    assert_eq!(cell(j, "syn", 0x0225), 200);
    assert_eq!(cell(j, "all", 0x0225), 200);
    assert_eq!(cell(j, "udp", 0x0235), 1000);
    assert_eq!(cell(j, "port", 53), 1000);
    assert_eq!(cell(j, "synport", 443), 7);
    assert_eq!(cell(j, "all", 0x1234), 7);
    assert_eq!(j["packets"], 1207);
    assert_eq!(sflow(j, "datagrams"), 3);
    assert_eq!(sflow(j, "flow_samples"), 4);
    assert_eq!(sflow(j, "sampled_headers"), 4);
    assert_eq!(sflow(j, "malformed"), 0);
    assert_eq!(
        agents(j),
        [
            ("127.0.0.1".to_string(), 1200, 0, 0),
            ("::1".to_string(), 7, 0, 0)
        ]
    );
}

#[test]
fn malformed_datagrams_are_counted_not_fatal() {
    let c = start(&LOCALS);
    let good = |seq| {
        craft::datagram(
            AGENT_V4,
            0,
            seq,
            seq * 1000,
            &[Sample::new(seq, 10).compact(&[craft::ethernet_header(&syn_8080(&[]))])],
        )
    };
    let mut lying = good(9);
    lying[32..36].copy_from_slice(&4000u32.to_be_bytes()); // sample length
    let mut zero_rate = good(9);
    zero_rate[44..48].copy_from_slice(&0u32.to_be_bytes());
    let mut version_4 = good(9);
    version_4[..4].copy_from_slice(&4u32.to_be_bytes());
    let mut trailing = good(9);
    trailing.extend_from_slice(&[0; 8]);
    let truncated = good(9)[..60].to_vec();
    c.send(
        Ipv4Addr::new(127, 0, 0, 1),
        &[
            good(1),
            b"not sflow at all".to_vec(),
            Vec::new(),
            lying,
            zero_rate,
            version_4,
            trailing,
            truncated,
            vec![0xff; 1400],
            good(2),
        ],
    );
    let out = c.finish();
    assert!(out.success, "{}", out.log);
    let j = &out.json;
    assert_eq!(cell(j, "synport", 8080), 20, "only the good datagrams count");
    assert_eq!(j["packets"], 20);
    assert_eq!(sflow(j, "datagrams"), 10);
    assert_eq!(sflow(j, "malformed"), 8);
    // Lying, zero rate, trailing and truncated have a readable header.
    assert_eq!(agents(j), [("127.0.0.1".to_string(), 20, 0, 4)]);
    assert!(
        out.log.contains("malformed sFlow datagram"),
        "malformed datagrams are logged:\n{}",
        out.log
    );
    assert!(
        out.log.lines().filter(|l| l.contains("malformed")).count() <= 2,
        "logging is rate-limited:\n{}",
        out.log
    );
}

#[test]
fn dropped_samples_and_sequence_gaps_are_drops() {
    let c = start(&LOCALS);
    let datagram = |seq: u32, sample_seq: u32, drops: u32| {
        let s = Sample {
            drops,
            ..Sample::new(sample_seq, 50)
        };
        craft::datagram(
            AGENT_V4,
            0,
            seq,
            seq * 100,
            &[s.compact(&[craft::ethernet_header(&syn_8080(&[]))])],
        )
    };
    // Drops 3 -> 5: two samples of 1 in 50 lost (100 packets). Datagrams 3
    // and 4 never arrive: 2 x the mean of 50 packets per datagram.
    c.send(
        Ipv4Addr::new(127, 0, 0, 1),
        &[datagram(1, 1, 3), datagram(2, 2, 5), datagram(5, 3, 5)],
    );
    let out = c.finish();
    assert!(out.success, "{}", out.log);
    let j = &out.json;
    assert_eq!(j["packets"], 150);
    assert_eq!(sflow(j, "sample_drops"), 100);
    assert_eq!(sflow(j, "lost_datagrams"), 2);
    assert_eq!(sflow(j, "lost_packets"), 100);
    assert_eq!(agents(j), [("127.0.0.1".to_string(), 150, 200, 0)]);
}

#[test]
fn bad_addresses_and_busy_ports_are_one_clear_line() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(args)
            .output()
            .expect("run scanwall");
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(&["count", "--sflow", "switchhost", "--duration", "1s"]);
    assert!(
        e.contains("invalid value 'switchhost' for '--sflow") && e.contains("e.g. 0.0.0.0:6343"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    let busy = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let e = run(&["count", "--sflow", &addr, "--duration", "1s"]);
    assert!(
        e.contains(&format!("cannot receive on sFlow address {addr}")) && e.contains("another program"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    let e = run(&["count", "--sflow", "6343"]);
    assert!(e.contains("--duration"), "{e}");
    let e = run(&["count", "--sflow", "6343", "-r", "x.pcap", "--duration", "1s"]);
    assert!(e.contains("cannot be used with"), "{e}");
}

/// A capture of 1000 TCP SYNs to 192.0.2.0-255 on `port`.
fn syn_capture(path: &std::path::Path, port: u16) {
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet, 65535).unwrap();
    for i in 0..1000u64 {
        let frame = ether(0x0800, &[], &ipv4(6, [2, i as u8], &tcp(port, 0x02), None, 0, 5));
        w.write(
            1_600_000_000_000_000_000 + i * 10_000_000,
            frame.len() as u32,
            &frame,
        )
        .unwrap();
    }
    w.finish().unwrap();
}

/// A real exporter: pmacct's `pmacctd` reads a capture and its `sfprobe`
/// plugin exports the packets as sFlow, once at 1 in 1 (agent 127.0.0.1,
/// SYNs to port 8080) and once at 1 in 10 (agent 127.0.0.2, port 9090).
/// Skipped, saying so, where pmacct is not installed.
#[test]
fn a_real_exporter_pmacct_sfprobe_is_counted() {
    let Some(pmacctd) = find_program("pmacctd") else {
        eprintln!(
            "skipped a_real_exporter_pmacct_sfprobe_is_counted: pmacctd not found \
             (Debian package pmacct; scripts/system-packages.sh installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // pmacctd waits 2 s before it reads a capture file.
    let c = Collector::start("--sflow", "sFlow", "8s", &LOCALS);
    let probes: Vec<Child> = [(1, 8080, "127.0.0.1"), (10, 9090, "127.0.0.2")]
        .iter()
        .map(|&(rate, port, agent)| {
            let capture = dir.path().join(format!("syn-{port}.pcap"));
            syn_capture(&capture, port);
            let plugin = format!(
                "plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:{}\n\
                 sfprobe_agentip: {agent}\nsampling_rate: {rate}",
                c.port
            );
            udp_collector::pmacctd(&pmacctd, dir.path(), &format!("probe-{port}"), &capture, &plugin)
        })
        .collect();
    for p in probes {
        udp_collector::wait_exit(p, "pmacctd");
    }
    let out = c.finish();
    assert!(out.success, "{}", out.log);
    let j = &out.json;
    assert_eq!(sflow(j, "malformed"), 0, "{j}");
    assert_eq!(sflow(j, "lost_datagrams"), 0, "{j}");
    let (all, tenth) = (cell(j, "synport", 8080), cell(j, "synport", 9090));
    // sfprobe keeps its last, partly filled datagram when it exits (996 of
    // 1000 here); everything it sends counts.
    assert!((990..=1000).contains(&all), "1 in 1: {all} of 1000\n{j}");
    // Random 1-in-10 sampling: each sample counts 10.
    assert_eq!(tenth % 10, 0, "{j}");
    assert!((400..=1600).contains(&tenth), "1 in 10: {tenth} for 1000\n{j}");
    assert_eq!(j["packets"], all + tenth);
    assert_eq!(sflow(j, "sampled_headers"), all + tenth / 10);
    let mut agents = agents(j);
    agents.sort();
    assert_eq!(
        agents,
        [
            ("127.0.0.1".to_string(), all, 0, 0),
            ("127.0.0.2".to_string(), tenth, 0, 0)
        ]
    );
}

/// A free loopback UDP port (bound, read, released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends `datagrams` to the loopback `port`.
fn send_to(port: u16, datagrams: &[Vec<u8>]) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        socket.send_to(d, ("127.0.0.1", port)).unwrap();
    }
}

/// What the wall draws from: counts scaled, the agent and its drops on the
/// status line, and the system clock as "now" (a quiet network fades).
#[test]
fn the_wall_session_shows_agents_and_drops_on_the_system_clock() {
    let port = free_port();
    let session = udp_collector::session("--sflow", port, None);
    let sample = |seq: u32, drops: u32| Sample {
        drops,
        ..Sample::new(seq, 25)
    };
    send_to(
        port,
        &[
            craft::datagram(
                AGENT_V4,
                2,
                1,
                10,
                &[sample(1, 0).compact(&[craft::ethernet_header(&syn_8080(&[]))])],
            ),
            craft::datagram(
                AGENT_V4,
                2,
                2,
                20,
                &[sample(2, 4).compact(&[craft::ethernet_header(&syn_8080(&[]))])],
            ),
        ],
    );
    let deadline = Instant::now() + PATIENCE;
    while session.counters().totals().packets < 50 {
        assert!(Instant::now() < deadline, "the datagrams were not counted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut reader = session.frame_reader();
    let frame = reader.read(session.now());
    let info = scanwall::display::status::status_info(&session, frame, 30.0);
    assert_eq!(info.source, format!("sflow 127.0.0.1:{port}"));
    assert_eq!(info.shed, 100, "4 dropped samples at 1 in 25");
    assert!(info.peers.contains("127.0.0.1#2 "), "{}", info.peers);
    let agents: Vec<(String, u64, u64, bool)> = session
        .status()
        .peers
        .summaries()
        .iter()
        .map(|p| (p.name.clone(), p.packets, p.drops, p.live))
        .collect();
    assert_eq!(agents, [("127.0.0.1#2".to_string(), 50, 100, true)]);
    udp_collector::assert_system_clock_then_stop(session);
}

/// `snapshot --sflow` collects for `--seconds`, then its session ends by itself.
#[test]
fn a_headless_session_collects_for_its_seconds_then_ends() {
    let port = free_port();
    let started = Instant::now();
    let mut session = udp_collector::session("--sflow", port, Some(1.0));
    send_to(
        port,
        &[craft::datagram(
            AGENT_V4,
            0,
            1,
            10,
            &[Sample::new(1, 3).compact(&[craft::ethernet_header(&syn_8080(&[]))])],
        )],
    );
    session.wait().unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(session.counters().totals().packets, 3);
}

/// Listeners run together into one set of maps: a pcap stream on `--listen`
/// and sFlow on `--sflow` in one `count` (and so on one wall), both counted,
/// the sFlow figures reported; neither is ignored.
#[test]
fn a_stream_listener_and_sflow_count_together() {
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    use std::io::Write;
    let tcp_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{tcp_port}");
    let mut args = vec!["--listen", &listen];
    args.extend(LOCALS);
    let c = Collector::start("--sflow", "sFlow", DURATION, &args);
    // Three SYNs to 192.0.2.37 port 8080 over the stream...
    let mut pcap = PcapWriter::new(Vec::new(), LinkType::Ethernet, 65535).unwrap();
    let frame = syn_8080(&[]);
    for i in 0..3 {
        pcap.write(1_600_000_000_000_000_000 + i, frame.len() as u32, &frame)
            .unwrap();
    }
    let mut sender = std::net::TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    sender.write_all(&pcap.finish().unwrap()).unwrap();
    drop(sender);
    // ...and one sample of the same SYN at 1 in 100 over sFlow.
    c.send(
        Ipv4Addr::new(127, 0, 0, 1),
        &[craft::datagram(
            AGENT_V4,
            0,
            1,
            1000,
            &[Sample::new(1, 100).compact(&[craft::ethernet_header(&frame)])],
        )],
    );
    let out = c.finish();
    assert!(out.success, "{}", out.log);
    let j = &out.json;
    assert_eq!(cell(j, "synport", 8080), 103, "3 from the stream, 100 from sFlow");
    assert_eq!(j["packets"], 103);
    assert_eq!(sflow(j, "datagrams"), 1);
    assert!(
        out.log.contains("listening for pcap streams on 127.0.0.1:"),
        "{}",
        out.log
    );
}
