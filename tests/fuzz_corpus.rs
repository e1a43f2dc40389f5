//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and crash
//! regressions (`fuzz/regressions/<target>/`) through the fuzz targets' own
//! bodies (`scanwall::fuzzing`, and `scanwall::source::sflow::fuzz` for
//! `sflow_datagram`, `scanwall::source::netflow::fuzz` for
//! `netflow_datagram`, `scanwall::sensor::fuzz` for `sensor_frames`), on
//! stable Rust and in well under a second:
//! what a long `cargo fuzz run` found stays fixed.
//!
//! `write_seed_corpus` (ignored; run by `fuzz/seed-corpus.sh`) writes the seed
//! inputs: the tests' own crafted packets for every link type, sFlow and
//! NetFlow/IPFIX datagrams, and the packets and streams of the classic captures in
//! `../shared/corpus/`.

#![allow(clippy::unwrap_used)] // test setup

use std::path::{Path, PathBuf};

use scanwall::craft::{
    ether, icmp, ipv4, ipv6, ipv6_fragment_header, ipv6_option_header, null, sll, sll2, tcp, udp,
};
use scanwall::fuzzing::{config_file, packet_selector, parse_packet, read_stream};
use scanwall::parse::LinkType;
use scanwall::sensor::fuzz as sensor;
use scanwall::source::RecordSource;
use scanwall::source::netflow::fuzz as netflow;
use scanwall::source::pcap_format::{PcapWriter, SliceReader};
use scanwall::source::sflow::fuzz as sflow;

const TARGETS: [&str; 7] = [
    "parse_packet",
    "read_stream",
    "sflow_datagram",
    "netflow_datagram",
    "sensor_frames",
    "sealed_records",
    "config_file",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn run_target(target: &str, input: &[u8]) {
    match target {
        "parse_packet" => parse_packet(input),
        "read_stream" => {
            read_stream(input);
        }
        "sflow_datagram" => sflow::sflow_datagram(input),
        "netflow_datagram" => netflow::netflow_datagram(input),
        "config_file" => config_file(input),
        "sensor_frames" => {
            sensor::sensor_frames(input);
        }
        "sealed_records" => sensor::sealed_records(input),
        _ => unreachable!("unknown target {target}"),
    }
}

/// Seeds for `config_file`: the shipped sample configs and small files that
/// reach each kind of value and each error.
fn config_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = files_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    for text in [
        "half-life = \"10s\"\nmaps = \"syn,udp\"\nfullscreen = true",
        "interface = [\"eth1\", \"eth2\"]\nfilter = \"tcp\"\nlocal = [\"10.0.0.0/8\"]",
        "format = \"json\"\nthreads = 2",
        "fps = 29.97\nmonitor = 1",
        "hlaf-life = \"10s\"",
        "fullscreen = \"yes\"",
        "maps = [1, 2]",
        "config = \"other.toml\"",
        "[section]\nkey = 1",
        "when = 1979-05-27T07:32:00Z",
        "local = \"\"\"\n10.0.0.0/8\"\"\"",
        "format = \"xml\"",
        "read = \"x.pcap\"\ninterface = [\"eth0\"]",
        "speed = \"max\"\nloop = true",
        "= 1",
        "scale = \"rank\"\nview = \"change\"\norder = \"hilbert\"\ncolormap = \"cividis\"",
        "layout = \"focus\"\nfocus = \"syn\"\npresenter = true\npresent-interval = \"20s\"",
        "sflow = \"6343\"\nmetrics = \"9711\"\nuser = \"nobody\"",
        "sensors-listen = \"7311\"\nkey-file = \"/etc/scanwall/key\"",
        "demo = true\ndemo-rate = 1e9\nseed = -1",
    ] {
        seeds.push(text.as_bytes().to_vec());
    }
    seeds
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn committed_corpus_and_regressions_replay_cleanly() {
    for target in TARGETS {
        let mut replayed = 0;
        for dir in ["corpus", "regressions"] {
            for path in files_in(&fuzz_dir().join(dir).join(target)) {
                let input = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| run_target(target, &input));
                assert!(outcome.is_ok(), "{target} fails on {}", path.display());
                replayed += 1;
            }
        }
        assert!(
            replayed >= 20,
            "{target}: only {replayed} committed inputs under fuzz/"
        );
    }
}

#[test]
fn crafted_sensor_frames_pass_their_target() {
    for input in sensor::seeds() {
        sensor::sensor_frames(&input);
    }
}

#[test]
fn crafted_sflow_datagrams_pass_their_target() {
    for datagram in sflow::seeds() {
        sflow::sflow_datagram(&datagram);
    }
}

#[test]
fn crafted_netflow_datagrams_pass_their_target() {
    let seeds = netflow::seeds();
    assert!(seeds.len() >= 20);
    for datagram in seeds {
        netflow::netflow_datagram(&datagram);
    }
}

#[test]
fn crafted_packets_pass_both_targets() {
    for (link, frame) in crafted_packets() {
        let mut input = vec![packet_selector(link)];
        input.extend_from_slice(&frame);
        parse_packet(&input);
    }
    let stream = crafted_stream(LinkType::Ethernet);
    assert!(read_stream(&stream) > 0);
    // Cut anywhere, the stream and file readers still agree (read_stream checks it).
    for cut in (0..stream.len()).step_by(7) {
        read_stream(&stream[..cut]);
    }
}

/// One packet of each shape the tests build, on every link layer.
fn crafted_packets() -> Vec<(LinkType, Vec<u8>)> {
    let v4 = [
        ipv4(6, [37, 200], &tcp(8080, 0x02), None, 0, 5),
        ipv4(6, [1, 2], &tcp(22, 0x12), None, 0, 7),
        ipv4(17, [1, 2], &udp(53), None, 0x0010, 5),
        ipv4(17, [9, 9], &udp(161), Some(0), 0, 5),
        ipv4(1, [5, 6], &icmp(8), None, 0x2000, 5),
        ipv4(6, [3, 4], &tcp(80, 0x02), Some(30), 0, 5),
    ];
    let mut ext = ipv6_option_header(44, 1);
    ext.extend_from_slice(&ipv6_fragment_header(6, 0, true));
    let v6 = [
        ipv6(17, &[], &udp(500)),
        ipv6(0, &ext, &tcp(443, 0x02)),
        ipv6(44, &ipv6_fragment_header(58, 5, false), &icmp(128)),
        ipv6(60, &ipv6_option_header(59, 0), &[]),
    ];
    let mut out = Vec::new();
    for (ip, v6) in v4.iter().map(|p| (p, false)).chain(v6.iter().map(|p| (p, true))) {
        let ethertype = if v6 { 0x86dd } else { 0x0800 };
        let family = if v6 { 30 } else { 2 };
        out.push((LinkType::Ethernet, ether(ethertype, &[0x8100, 0x88a8], ip)));
        out.push((LinkType::LinuxSll, sll(ethertype, &[0x8100], ip)));
        out.push((LinkType::LinuxSll2, sll2(ethertype, &[], ip)));
        out.push((LinkType::RawIp, ip.clone()));
        out.push((if v6 { LinkType::RawIpv6 } else { LinkType::RawIpv4 }, ip.clone()));
        out.push((LinkType::Null, null(family, false, ip)));
        out.push((LinkType::Loop, null(family, true, ip)));
    }
    out
}

/// A classic pcap stream of the crafted packets of `link`.
fn crafted_stream(link: LinkType) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link, 65535).unwrap();
    for (i, (_, frame)) in crafted_packets().iter().filter(|(l, _)| *l == link).enumerate() {
        w.write(
            1_600_000_000_000_000_000 + i as u64,
            frame.len() as u32 + 4,
            frame,
        )
        .unwrap();
    }
    w.finish().unwrap()
}

/// A short stable name for an input (FNV-1a, 64 bits), so seeds are deduplicated.
fn name(input: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in input {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Writes the seed corpus under `$SCANWALL_SEED_DIR/<target>/`.
#[test]
#[ignore = "writes files; run by fuzz/seed-corpus.sh"]
fn write_seed_corpus() {
    let out = PathBuf::from(std::env::var("SCANWALL_SEED_DIR").expect("SCANWALL_SEED_DIR"));
    let write = |target: &str, input: &[u8]| {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name(input)), input).unwrap();
    };
    for (link, frame) in crafted_packets() {
        let mut input = vec![packet_selector(link)];
        input.extend_from_slice(&frame);
        write("parse_packet", &input);
    }
    for link in [LinkType::Ethernet, LinkType::RawIp, LinkType::Null] {
        write("read_stream", &crafted_stream(link));
    }
    for datagram in sflow::seeds() {
        write("sflow_datagram", &datagram);
    }
    for datagram in netflow::seeds() {
        write("netflow_datagram", &datagram);
    }
    for input in config_seeds() {
        write("config_file", &input);
    }
    for input in sensor::seeds() {
        write("sensor_frames", &input);
    }
    for input in sensor::sealed_seeds() {
        write("sealed_records", &input);
    }
    // The shared captures: small classic files whole, and a few packets of each.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    const MAX_STREAM_SEED: usize = 16 << 10;
    const PACKETS_PER_FILE: usize = 4;
    for dir in ["libpcap-tests", "tcpdump-tests"] {
        for path in files_in(&shared.join(dir)) {
            let bytes = std::fs::read(&path).unwrap();
            let Ok(mut reader) = SliceReader::new(bytes.as_slice(), "seed") else {
                continue; // pcapng or not a capture
            };
            if bytes.len() <= MAX_STREAM_SEED {
                write("read_stream", &bytes);
            }
            let selector = packet_selector(reader.link());
            for _ in 0..PACKETS_PER_FILE {
                let Ok(Some(record)) = reader.next_record() else {
                    break;
                };
                let mut input = vec![selector];
                input.extend_from_slice(&record.data[..record.data.len().min(512)]);
                write("parse_packet", &input);
            }
        }
    }
}
