//! Scenes built sample by sample: each structure alone, mixed, on a saturated
//! background, and noise alone; each found at its place, with its source,
//! within a few seconds of packet time of its start.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::events::event::EventKind;
use crate::parse::PacketFacts;

const SEC: u64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z: any real packet time.
const T0: u64 = 1_700_000_000 * SEC;

fn map(name: &str) -> MapId {
    MAPS.iter()
        .position(|m| m.name == name)
        .expect("a map of that name")
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// A TCP SYN from `src` to 10.20.`dst`, port `port`, at `ts`, standing for `weight` packets.
fn syn(ts: u64, src: IpAddr, dst: u16, port: u16, weight: u32) -> Sample {
    let facts = PacketFacts {
        dst_low16: dst,
        length: 60,
        port,
        flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
    };
    Sample::new(ts, &facts, src, v4(10, 20, (dst >> 8) as u8, dst as u8), weight)
}

/// `pps` samples a second from `from` to `to` (seconds after T0), each made by `make(i, ts)`.
fn stream(from: u64, to: u64, pps: u64, mut make: impl FnMut(u64, u64) -> Sample) -> Vec<Sample> {
    let n = (to - from) * pps;
    (0..n).map(|i| make(i, T0 + from * SEC + i * SEC / pps)).collect()
}

/// Uniform SYN noise from many sources over every address and port.
fn noise(from: u64, to: u64, pps: u64, weight: u32, seed: u64) -> Vec<Sample> {
    let mut rng = fastrand::Rng::with_seed(seed);
    stream(from, to, pps, |_, ts| {
        let src = v4(100, rng.u8(..), rng.u8(..), rng.u8(..));
        syn(ts, src, rng.u16(..), rng.u16(1..), weight)
    })
}

/// Runs the samples (any order) through a detector of `maps` with the
/// default half-life, in steps of `step` seconds of watermark; returns every
/// event, ended or still live.
fn detect(maps: &[&str], mut samples: Vec<Sample>, step: u64) -> Vec<Event> {
    samples.sort_by_key(|s| s.ts);
    let ids: Vec<MapId> = maps.iter().map(|m| map(m)).collect();
    let mut d = Detector::new(&ids, DetectorConfig::for_half_life(10 * SEC));
    let mut events = Vec::new();
    let mut at = 0;
    while at < samples.len() {
        let until = samples[at].ts + step * SEC;
        let end = samples[at..]
            .iter()
            .position(|s| s.ts >= until)
            .map_or(samples.len(), |n| at + n);
        d.feed(samples[at..end].iter().copied());
        d.advance(until);
        at = end;
        collect(&mut d, &mut events);
    }
    let live = d.finish();
    collect(&mut d, &mut events);
    events.extend(live);
    events.sort_by_key(|e| e.id);
    events
}

fn collect(d: &mut Detector, events: &mut Vec<Event>) {
    for c in d.take_changes() {
        if let Change::Ended(e) = c {
            events.push(e);
        }
    }
}

fn secs(ns: u64) -> f64 {
    ns.saturating_sub(T0) as f64 / 1e9
}

const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77));

/// A /24 sweep: `pps` packets a second over row `row`, cycling its hosts.
fn row_sweep(from: u64, to: u64, pps: u64, row: u8, weight: u32) -> Vec<Sample> {
    stream(from, to, pps, |i, ts| {
        syn(ts, SCANNER, u16::from(row) << 8 | (i % 256) as u16, 22, weight)
    })
}

#[test]
fn uniform_noise_alone_fires_nothing_sparse_or_dense() {
    let events = detect(&["syn", "synaddrport"], noise(0, 180, 3000, 1, 1), 1);
    assert!(
        events.is_empty(),
        "{:?}",
        events.iter().map(|e| e.label(0)).collect::<Vec<_>>()
    );
    // Saturated: 320,000 packets a second, sampled one in 32.
    let events = detect(&["syn"], noise(0, 120, 10_000, 32, 2), 3);
    assert!(
        events.is_empty(),
        "{:?}",
        events.iter().map(|e| e.label(0)).collect::<Vec<_>>()
    );
}

#[test]
fn a_24_sweep_is_one_row_event_with_its_scanner() {
    let mut samples = noise(0, 150, 2000, 1, 3);
    samples.extend(row_sweep(60, 90, 500, 117, 1));
    let events = detect(&["syn"], samples, 1);
    assert_eq!(
        events.len(),
        1,
        "{:?}",
        events.iter().map(|e| e.label(0)).collect::<Vec<_>>()
    );
    let e = &events[0];
    assert_eq!((e.kind, e.rows.0, e.rows.1), (EventKind::Row, 117, 117));
    assert_eq!(e.columns, (0, 255));
    assert_eq!(e.sources.top(1)[0].0, SCANNER);
    assert!((60.0..63.0).contains(&secs(e.start)), "start {}", secs(e.start));
    let end = secs(e.end.expect("ended"));
    assert!((89.0..130.0).contains(&end), "end {end}");
    // The scanner's 15,000 packets, over by at most what Space-Saving allows.
    let scanner = e.sources.top(1)[0].1;
    let slack = e.sources.total() / crate::events::event::TALLY as u64;
    assert!(
        (15_000..=15_000 + slack).contains(&scanner),
        "{scanner} (slack {slack})"
    );
    assert!(
        e.label(e.start).starts_with("10.20.117.0/24 swept - TCP SYN - "),
        "{}",
        e.label(0)
    );
}

#[test]
fn a_sweep_at_one_and_a_half_times_a_saturated_background_is_found() {
    // 200,000 SYN a second over the whole map, sampled one in 16; after two
    // minutes one /24 gets half as much again (its cells at 1.5 times).
    let mut samples = noise(0, 200, 12_500, 16, 4);
    let extra_per_row = 200_000 / 256 / 2;
    samples.extend(row_sweep(120, 160, extra_per_row / 16, 40, 16));
    let events = detect(&["syn"], samples, 2);
    let found: Vec<_> = events.iter().filter(|e| e.rows == (40, 40)).collect();
    assert_eq!(
        found.len(),
        1,
        "{:?}",
        events.iter().map(|e| e.label(0)).collect::<Vec<_>>()
    );
    assert_eq!(
        events.len(),
        1,
        "{:?}",
        events.iter().map(|e| e.label(0)).collect::<Vec<_>>()
    );
    let e = found[0];
    assert!((120.0..126.0).contains(&secs(e.start)), "start {}", secs(e.start));
    assert_eq!(e.sources.top(1)[0].0, SCANNER);
}

#[test]
fn one_host_probed_on_many_ports_is_a_column_and_a_port_range_a_block() {
    let host = 42u16 | 7 << 8;
    let mut samples = noise(0, 120, 1000, 1, 5);
    let prober = v4(203, 0, 113, 5);
    samples.extend(stream(40, 60, 400, |i, ts| {
        syn(ts, prober, host, 1 + (i % 4000) as u16, 1)
    }));
    let events = detect(&["syn", "synaddrport", "synport"], samples, 1);
    let labels: Vec<_> = events.iter().map(|e| e.label(0)).collect();
    let column: Vec<_> = events.iter().filter(|e| e.map == map("synaddrport")).collect();
    assert_eq!(column.len(), 1, "{labels:?}");
    assert_eq!(
        (column[0].kind, column[0].columns),
        (EventKind::Column, (42, 42)),
        "{labels:?}"
    );
    assert_eq!(column[0].sources.top(1)[0].0, prober);
    assert!(
        column[0]
            .label(0)
            .starts_with("host 10.20.7.42 probed on many ports"),
        "{labels:?}"
    );
    // Ports 1-4000: rows 0-15 of the port map.
    let ports: Vec<_> = events.iter().filter(|e| e.map == map("synport")).collect();
    assert_eq!(ports.len(), 1, "{labels:?}");
    assert_eq!(
        (ports[0].kind, ports[0].rows),
        (EventKind::Block, (0, 15)),
        "{labels:?}"
    );
    // One host is one cell of the address map: no line there.
    assert!(events.iter().all(|e| e.map != map("syn")), "{labels:?}");
}

#[test]
fn a_22_sweep_is_one_block_and_mixed_scenes_find_each_part() {
    let mut samples = noise(0, 120, 2000, 1, 6);
    let b = v4(192, 0, 2, 99);
    samples.extend(stream(30, 60, 2000, |i, ts| {
        syn(ts, b, (8 << 8) + (i % 1024) as u16, 443, 1)
    }));
    samples.extend(row_sweep(45, 75, 400, 200, 1));
    let events = detect(&["syn"], samples, 1);
    let labels: Vec<_> = events.iter().map(|e| e.label(0)).collect();
    assert_eq!(events.len(), 2, "{labels:?}");
    let block = events
        .iter()
        .find(|e| e.kind == EventKind::Block)
        .expect("a block");
    assert_eq!((block.rows, block.columns), ((8, 11), (0, 255)), "{labels:?}");
    assert_eq!(block.sources.top(1)[0].0, b);
    assert!(block.label(0).starts_with("10.20.8.0/22 swept"), "{labels:?}");
    let row = events.iter().find(|e| e.kind == EventKind::Row).expect("a row");
    assert_eq!((row.rows, row.sources.top(1)[0].0), ((200, 200), SCANNER));
    assert!((45.0..48.0).contains(&secs(row.start)), "{}", secs(row.start));
}

#[test]
fn the_same_packets_give_the_same_events_at_any_pace() {
    let mut samples = noise(0, 100, 1500, 1, 7);
    samples.extend(row_sweep(30, 50, 300, 9, 1));
    let a = detect(&["syn"], samples.clone(), 1);
    let b = detect(&["syn"], samples, 7);
    let key = |e: &Event| (e.map, e.kind, e.rows, e.columns, e.start, e.end, e.packets);
    assert!(!a.is_empty());
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
}

#[test]
fn a_long_silence_is_crossed_in_one_step() {
    let mut samples = row_sweep(0, 20, 500, 3, 1);
    // Ten days later, another sweep.
    samples.extend(row_sweep(864_000, 864_020, 500, 4, 1));
    let events = detect(&["syn"], samples, 1);
    assert_eq!(events.iter().map(|e| e.rows.0).collect::<Vec<_>>(), vec![3, 4]);
}

/// An input that ends while a sweep goes on: the events still live carry
/// the sweep's rate, whether the input ends on a tick's boundary (no empty
/// tick is closed after it) or inside a tick (its rate is taken over the
/// part the samples span, not over a whole tick).
#[test]
fn events_live_at_the_end_of_the_input_keep_their_rate() {
    for end in [
        40 * SEC,
        40 * SEC + 300_000_000,
        40 * SEC + 700_000_000,
        40 * SEC + 5_000_000,
    ] {
        let mut samples = noise(0, 41, 2000, 1, 7);
        samples.extend(row_sweep(10, 41, 500, 117, 1));
        samples.retain(|s| s.ts < T0 + end);
        samples.sort_by_key(|s| s.ts);
        let mut d = Detector::new(&[map("syn")], DetectorConfig::for_half_life(10 * SEC));
        d.feed(samples.iter().copied());
        // The packet clock where the input ended.
        d.advance(T0 + end);
        let live = d.finish();
        let sweep: Vec<&Event> = live.iter().filter(|e| e.rows == (117, 117)).collect();
        assert_eq!(
            sweep.len(),
            1,
            "ending at {end}: {:?}",
            live.iter().map(|e| e.label(0)).collect::<Vec<_>>()
        );
        let pps = sweep[0].pps;
        assert!(
            (400.0..=600.0).contains(&pps),
            "ending at {end}: {pps} pkt/s, the sweep sent 500"
        );
    }
}
