//! End-to-end: `scanwall events -r CAPTURE` on captures built here (a /24
//! sweep, one host probed on many ports, one port across many hosts, a /22
//! block, each over background noise, all of them mixed, a sweep at 1.5
//! times a dense background, and noise alone), and `snapshot --events`
//! drawing the outline on the map.
//!
//! Asserts: each structure is found once, at its place, on the maps it
//! belongs to, with its sender as the top source, within a few seconds of
//! packet time of its first packet; noise alone gives no event; JSON and CSV
//! carry the fields the README promises; a replay gives the same events.

#![allow(clippy::unwrap_used)] // test setup: a failure to set up should fail the test

use std::path::{Path, PathBuf};
use std::process::Command;

use scanwall::craft::{ether, ipv4, tcp};
use scanwall::parse::LinkType;
use scanwall::source::pcap_format::PcapWriter;

const SYN: u8 = 0x02;
const SEC: u64 = 1_000_000_000;
/// 2020-09-13T12:26:40Z.
const T0: u64 = 1_600_000_000 * SEC;

/// One packet of a scene: time (s after T0), source, destination 192.0.a.b, port.
type Packet = (f64, [u8; 4], [u8; 2], u16);

/// A TCP SYN frame from `src` to 192.0.`dst`, port `port`.
fn frame(src: [u8; 4], dst: [u8; 2], port: u16) -> Vec<u8> {
    let mut ip = ipv4(6, dst, &tcp(port, SYN), None, 0, 5);
    ip[12..16].copy_from_slice(&src);
    ether(0x0800, &[], &ip)
}

fn write(path: &Path, mut packets: Vec<Packet>) {
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::new(std::io::BufWriter::new(file), LinkType::Ethernet, 65535).unwrap();
    for (t, src, dst, port) in packets {
        let f = frame(src, dst, port);
        w.write(T0 + (t * 1e9) as u64, f.len() as u32, &f).unwrap();
    }
    w.finish().unwrap();
}

/// SYNs from 1,000 sources in 203.0.113.0/22-ish space to random hosts and ports.
fn noise(seconds: u32, pps: u32, seed: u64) -> Vec<Packet> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = seconds * pps;
    (0..n)
        .map(|i| {
            let t = f64::from(i) / f64::from(pps);
            let src = [203, 0, 112 + rng.u8(..4), rng.u8(..)];
            (t, src, [rng.u8(..), rng.u8(..)], rng.u16(1..))
        })
        .collect()
}

/// `pps` packets a second from `src` during `from..to` seconds, the i-th to `dst(i)`.
fn scan(src: [u8; 4], from: f64, to: f64, pps: f64, dst: impl Fn(u32) -> ([u8; 2], u16)) -> Vec<Packet> {
    let n = ((to - from) * pps) as u32;
    (0..n)
        .map(|i| {
            let (d, p) = dst(i);
            (from + f64::from(i) / pps, src, d, p)
        })
        .collect()
}

const SWEEPER: [u8; 4] = [198, 51, 100, 77];
const PROBER: [u8; 4] = [198, 51, 100, 5];
const PORTER: [u8; 4] = [198, 51, 100, 23];
const BLOCKER: [u8; 4] = [198, 51, 100, 99];

fn sweep_24(from: f64) -> Vec<Packet> {
    scan(SWEEPER, from, from + 30.0, 400.0, |i| {
        ([117, (i % 256) as u8], 22)
    })
}
fn one_host_many_ports(from: f64) -> Vec<Packet> {
    scan(PROBER, from, from + 30.0, 300.0, |i| {
        ([7, 42], 1 + (i % 4000) as u16)
    })
}
fn one_port_many_hosts(from: f64) -> Vec<Packet> {
    // Port 23 to every host of 192.0.200-215: row 23 of the addr x port maps.
    scan(PORTER, from, from + 30.0, 300.0, |i| {
        ([200 + (i / 256 % 16) as u8, (i % 256) as u8], 23)
    })
}
fn block_22(from: f64) -> Vec<Packet> {
    scan(BLOCKER, from, from + 30.0, 1500.0, |i| {
        ([8 + (i / 256 % 4) as u8, (i % 256) as u8], 443)
    })
}

fn scanwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
}

/// `scanwall events -r capture --format json` (after `extra`), its events.
fn events(capture: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = scanwall()
        .args(["events", "-r"])
        .arg(capture)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["events"].as_array().unwrap().clone()
}

fn labels(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["label"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Seconds after T0 of an RFC 3339 time this test wrote (2020-09-13T12:26:40 + s).
fn secs(t: &serde_json::Value) -> f64 {
    let text = t.as_str().unwrap();
    let (hms, frac) = text.trim_end_matches('Z').split_once('.').unwrap();
    let time = hms.split_once('T').unwrap().1;
    let mut p = time.split(':').map(|x| x.parse::<f64>().unwrap());
    let (h, m, s) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
    (h - 12.0) * 3600.0 + (m - 26.0) * 60.0 + (s - 40.0) + frac.parse::<f64>().unwrap() / 1000.0
}

fn top_source(e: &serde_json::Value) -> String {
    e["top_sources"][0]["source"].as_str().unwrap().to_string()
}

fn on<'a>(events: &'a [serde_json::Value], map: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["map"] == map).collect()
}

fn capture(dir: &Path, name: &str, packets: Vec<Packet>) -> PathBuf {
    let path = dir.join(name);
    write(&path, packets);
    path
}

#[test]
fn noise_alone_gives_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = capture(dir.path(), "noise.pcap", noise(120, 1500, 1));
    let found = events(&path, &[]);
    assert!(found.is_empty(), "{:?}", labels(&found));
}

#[test]
fn each_structure_alone_is_found_at_its_place_with_its_sender() {
    let dir = tempfile::tempdir().unwrap();
    // A /24 swept: a row on the SYN and all-packets address maps.
    let mut p = noise(120, 800, 2);
    p.extend(sweep_24(30.0));
    let found = events(&capture(dir.path(), "sweep.pcap", p), &["--maps", "syn"]);
    assert_eq!(found.len(), 1, "{:?}", labels(&found));
    let e = &found[0];
    assert_eq!((e["kind"].as_str(), e["row"].as_u64()), (Some("row"), Some(117)));
    assert!(e["column"].is_null() && e["rows"] == serde_json::json!([117, 117]));
    assert_eq!(top_source(e), "198.51.100.77");
    let start = secs(&e["start"]);
    assert!((30.0..33.0).contains(&start), "start {start}");
    // It ends once the scanner stops (the map fades for a while after).
    let end = secs(&e["end"]);
    assert!((59.0..70.0).contains(&end), "end {end}");
    assert!(
        e["label"]
            .as_str()
            .unwrap()
            .starts_with("192.0.117.0/24 swept - TCP SYN - ")
    );
    let packets = e["packets"].as_u64().unwrap();
    assert!(packets >= 12_000, "{packets}");
    assert!(e["peak_pps"].as_f64().unwrap() >= 350.0, "{e}");

    // One host on many ports: a column of the addr x port maps, a block of
    // rows 0-15 on the port maps, nothing on the address map.
    let mut p = noise(90, 800, 3);
    p.extend(one_host_many_ports(30.0));
    let found = events(
        &capture(dir.path(), "host.pcap", p),
        &["--maps", "syn,synaddrport,synport"],
    );
    let l = labels(&found);
    let col = on(&found, "synaddrport");
    assert_eq!(col.len(), 1, "{l:?}");
    assert_eq!(
        (col[0]["kind"].as_str(), col[0]["column"].as_u64()),
        (Some("column"), Some(42)),
        "{l:?}"
    );
    assert_eq!(top_source(col[0]), "198.51.100.5");
    assert!(
        col[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("host 192.0.7.42 probed on many ports"),
        "{l:?}"
    );
    let ports = on(&found, "synport");
    assert_eq!(ports.len(), 1, "{l:?}");
    assert_eq!(ports[0]["rows"], serde_json::json!([0, 15]), "{l:?}");
    assert!(on(&found, "syn").is_empty(), "{l:?}");

    // One port across many hosts: a row of the addr x port maps (port 23).
    let mut p = noise(90, 800, 4);
    p.extend(one_port_many_hosts(30.0));
    let found = events(&capture(dir.path(), "port.pcap", p), &["--maps", "synaddrport"]);
    assert_eq!(found.len(), 1, "{:?}", labels(&found));
    assert_eq!(found[0]["row"].as_u64(), Some(23));
    assert_eq!(top_source(&found[0]), "198.51.100.23");
    assert!(
        found[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("port 23 across hosts"),
        "{:?}",
        labels(&found)
    );
    assert_eq!(found[0]["top_ports"][0]["port"], 23);

    // A /22: one block of four rows.
    let mut p = noise(90, 800, 5);
    p.extend(block_22(30.0));
    let found = events(&capture(dir.path(), "block.pcap", p), &["--maps", "syn"]);
    assert_eq!(found.len(), 1, "{:?}", labels(&found));
    assert_eq!(found[0]["kind"], "block");
    assert_eq!(found[0]["rows"], serde_json::json!([8, 11]));
    assert!(found[0]["row"].is_null());
    assert!(
        found[0]["label"]
            .as_str()
            .unwrap()
            .starts_with("192.0.8.0/22 swept"),
        "{:?}",
        labels(&found)
    );
    assert_eq!(top_source(&found[0]), "198.51.100.99");
}

#[test]
fn mixed_scenes_find_every_part_and_csv_says_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = noise(100, 800, 6);
    p.extend(sweep_24(20.0));
    p.extend(one_host_many_ports(35.0));
    p.extend(block_22(50.0));
    let path = capture(dir.path(), "mixed.pcap", p);
    let found = events(&path, &["--maps", "syn,synaddrport"]);
    let l = labels(&found);
    let syn = on(&found, "syn");
    assert_eq!(syn.len(), 2, "{l:?}");
    let row = syn.iter().find(|e| e["kind"] == "row").expect("the /24");
    assert_eq!(
        (row["row"].as_u64(), top_source(row)),
        (Some(117), "198.51.100.77".into())
    );
    let block = syn.iter().find(|e| e["kind"] == "block").expect("the /22");
    assert_eq!(
        (block["rows"].clone(), top_source(block)),
        (serde_json::json!([8, 11]), "198.51.100.99".into())
    );
    assert!((50.0..53.0).contains(&secs(&block["start"])), "{block}");
    let col = on(&found, "synaddrport");
    assert!(
        col.iter()
            .any(|e| e["column"] == 42 && top_source(e) == "198.51.100.5"),
        "{l:?}"
    );
    // CSV: a header and one line per event, the same events.
    let out = scanwall()
        .args(["events", "-r"])
        .arg(&path)
        .args(["--maps", "syn,synaddrport", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("id,map,kind,row,column,"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), found.len(), "{text}");
    assert!(
        rows.iter()
            .any(|r| r.contains(",syn,row,117,,") && r.contains("198.51.100.77")),
        "{text}"
    );
    // The same capture again: the same events, to the packet; and the
    // events log says each start and end, each as of its own packet time.
    let log = dir.path().join("events.jsonl");
    let again = events(
        &path,
        &["--maps", "syn,synaddrport", "--events-log", log.to_str().unwrap()],
    );
    assert_eq!(found, again);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let starts = lines.iter().filter(|l| l["event"] == "start").count();
    assert_eq!(starts, found.len(), "{lines:?}");
    let first = lines
        .iter()
        .find(|l| l["event"] == "start" && l["row"] == 117)
        .expect("the /24's start");
    // Its age is told at its start (a few seconds), not at the end of the file.
    let label = first["label"].as_str().unwrap();
    let age: u64 = label
        .rsplit(" - ")
        .next()
        .unwrap()
        .trim_end_matches(" s")
        .parse()
        .unwrap();
    assert!(first["end"].is_null() && age < 10, "{label}");
    let ended = lines
        .iter()
        .find(|l| l["event"] == "end" && l["row"] == 117)
        .expect("the /24's end");
    assert_eq!(ended["id"], first["id"]);
    assert!(!ended["end"].is_null());
}

#[test]
fn a_sweep_at_one_and_a_half_times_a_dense_background_is_found() {
    let dir = tempfile::tempdir().unwrap();
    // 5,000 SYN a second over every address (19.5 per /24 per second); from
    // 60 s one /24 gets half as much again from one scanner.
    let mut p = noise(110, 5000, 7);
    p.extend(scan(SWEEPER, 60.0, 100.0, 9.8, |i| {
        ([40, (i * 37 % 256) as u8], 80)
    }));
    let found = events(&capture(dir.path(), "dense.pcap", p), &["--maps", "syn"]);
    assert_eq!(found.len(), 1, "{:?}", labels(&found));
    assert_eq!(found[0]["row"].as_u64(), Some(40));
    assert_eq!(top_source(&found[0]), "198.51.100.77");
    let start = secs(&found[0]["start"]);
    assert!((60.0..70.0).contains(&start), "start {start}");
}

#[test]
fn snapshot_outlines_the_event_on_its_map() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = noise(60, 500, 8);
    p.extend(sweep_24(20.0));
    let path = capture(dir.path(), "snap.pcap", p);
    let png = |name: &str, events: bool| {
        let out = dir.path().join(name);
        let mut cmd = scanwall();
        cmd.args(["snapshot", "-r"])
            .arg(&path)
            .args([
                "--maps", "syn", "--layout", "single", "--at", "40s", "--size", "1024x768", "-o",
            ])
            .arg(&out);
        if events {
            cmd.arg("--events");
        }
        let o = cmd.output().unwrap();
        if !o.status.success() {
            return None;
        }
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        Some((buf, info.width as usize))
    };
    let Some((with, width)) = png("with.png", true) else {
        eprintln!("skipped snapshot_outlines_the_event_on_its_map: no renderer (lavapipe) here");
        return;
    };
    let (without, _) = png("without.png", false).unwrap();
    // The outline's colour (0, 255, 200) appears only with --events.
    // Pixels of the outline's colour (0, 255, 200) that only --events drew.
    let is_mark = |p: &[u8]| p[0] < 40 && p[1] > 215 && (170..=230).contains(&p[2]);
    let marked: Vec<(usize, usize)> = with
        .chunks(4)
        .zip(without.chunks(4))
        .enumerate()
        .filter(|(_, (a, b))| is_mark(a) && !is_mark(b))
        .map(|(i, _)| (i % width, i / width))
        .collect();
    assert!(marked.len() > 500, "{} outline pixels", marked.len());
    // The outline spans the map's width (a whole /24 is a whole row).
    let xs = marked.iter().map(|p| p.0);
    let (min, max) = (xs.clone().min().unwrap(), xs.max().unwrap());
    assert!(max - min > width / 3, "{min}..{max}");
}
