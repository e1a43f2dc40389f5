//! Sensors into one headless wall, in one process on loopback
//! (`cargo bench --bench sensors`; README "Sensors" has the figures):
//!
//! 1. Merge cost: decoding and merging one delta of K changed cells into the
//!    wall's counters (the wall's default maps, decay and baseline), in µs per
//!    delta, for K from 10 to a whole map.
//! 2. N sensors (1, 4, 16) with K changed cells each per 100 ms interval, each
//!    its own counters and uplink on a real TCP connection to one
//!    `SensorListener`: the wall's measured merge time per delta, and the
//!    end-to-end lag of a marker packet: counted at a sensor, then polled for
//!    in the wall's counters until it is there. The interval alone accounts
//!    for 0 to 100 ms (50 ms on average) of it.
//!
//! Everything runs on one machine, so the sensors' own work (reading their
//! counters every interval) competes with the wall's for the same cores.
//! `scripts/bench-sensors.sh` runs this and compares one sensor's counting
//! rate with `scanwall count` on the same file.

#![allow(clippy::unwrap_used)] // benchmark setup

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use scanwall::counting::{Counters, Decay, DecayMode, HalfLife, ShardWriter};
use scanwall::maps::{self, MapId};
use scanwall::sensor::SensorKey;
use scanwall::sensor::delta::DeltaBuilder;
use scanwall::sensor::listen::{ListenerStats, SensorListener};
use scanwall::sensor::merge;
use scanwall::sensor::uplink::{Uplink, UplinkControl, UplinkState, WallAddr, now_ns};
use scanwall::sensor::wire::{self, DeltaHeader, MapCells, Message};
use scanwall::source::SourceStatus;

const INTERVAL: Duration = Duration::from_millis(100);

/// The wall's counters as the wall runs by default: six maps, 10 s
/// exponential decay, 10 min baseline.
fn wall_counters() -> Arc<Counters> {
    let decay = Decay {
        mode: DecayMode::Exponential,
        half_life: HalfLife::DEFAULT,
    };
    let baseline = HalfLife::new(Duration::from_secs(600));
    Counters::with_baseline(maps::default_shown(), decay, Some(baseline))
}

fn map(name: &str) -> MapId {
    maps::by_name(name).unwrap()
}

/// K distinct keys spread over the map.
fn keys(k: usize, salt: usize) -> Vec<u16> {
    let mut keys: Vec<u16> = (0..k)
        .map(|i| ((i * 65_536 / k + salt) % 65_536) as u16)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

fn merge_cost(quick: bool) {
    println!("merge cost: decode + merge one delta into the wall's counters (6 maps, exp decay, baseline)");
    println!("{:>8} {:>12} {:>12}", "K cells", "µs/delta", "ns/cell");
    let counters = wall_counters();
    let mut writer = counters.writer();
    for k in [10usize, 100, 1_000, 10_000, 65_536] {
        // Sixteen deltas with different cells, in turn, as sixteen sensors would send.
        let frames: Vec<Vec<u8>> = (0..16)
            .map(|salt| {
                let cells: Vec<(u16, u64)> = keys(k, salt * 4099).into_iter().map(|key| (key, 3)).collect();
                let header = DeltaHeader {
                    packets: 3 * k as u64,
                    ..DeltaHeader::default()
                };
                let mut frame = Vec::new();
                wire::encode_delta(
                    &header,
                    &[MapCells {
                        name: "syn",
                        cells: &cells,
                    }],
                    &mut frame,
                );
                frame
            })
            .collect();
        let rounds = if quick {
            2
        } else {
            (2_000_000 / k).clamp(32, 20_000)
        };
        let started = Instant::now();
        for i in 0..rounds {
            let frame = &frames[i % frames.len()];
            let Ok(Some((Message::Delta(d), _))) = wire::decode_frame(frame, wire::MAX_FRAME) else {
                panic!("not a delta")
            };
            // Packet time moves on as it does live: 100 ms per delta.
            merge::merge(
                &d,
                1_700_000_000_000_000_000 + i as u64 * 100_000_000,
                &mut writer,
            );
        }
        let per = started.elapsed().as_secs_f64() / rounds as f64;
        println!("{k:>8} {:>12.1} {:>12.1}", per * 1e6, per * 1e9 / k as f64);
    }
    println!();
}

/// One simulated sensor: its counters, a marker writer, and its uplink.
struct Sensor {
    counters: Arc<Counters>,
    marker: ShardWriter,
    uplink: std::thread::JoinHandle<Result<(), String>>,
    state: Arc<UplinkState>,
}

fn start_sensor(i: usize, wall: SocketAddr, key: &Arc<SensorKey>, control: &Arc<UplinkControl>) -> Sensor {
    let counters = Counters::new(vec![map("icmp"), map("syn")], Decay::NONE);
    let state = Arc::new(UplinkState::default());
    let uplink = Uplink {
        wall: WallAddr {
            host: wall.ip().to_string(),
            port: wall.port(),
        },
        name: format!("bench-{i}"),
        key: key.clone(),
        interval: INTERVAL,
        counters: counters.clone(),
        control: control.clone(),
        state: state.clone(),
        from: DeltaBuilder::now(&counters),
    };
    let uplink = std::thread::spawn(move || uplink.run());
    let marker = counters.writer();
    Sensor {
        counters,
        marker,
        uplink,
        state,
    }
}

/// Counts K changed cells into sensor `i`'s counters every interval until `stop`.
fn start_feeder(
    i: usize,
    counters: &Counters,
    k: usize,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut bulk = counters.writer();
    let stop = stop.clone();
    std::thread::spawn(move || {
        let syn = map("syn");
        let mut round = 0usize;
        while !stop.load(Relaxed) {
            let ts = now_ns();
            for key in keys(k, round * 131 + i) {
                bulk.add_cell(ts, syn, key, 1);
            }
            bulk.add_totals(ts, k as u64, &[]);
            round += 1;
            std::thread::sleep(INTERVAL);
        }
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

fn sensors_into_one_wall(n: usize, k: usize, markers: usize) {
    let counters = wall_counters();
    let key = Arc::new(SensorKey::from_bytes(b"benchmark key, 32 bytes long...."));
    let listener =
        SensorListener::bind("127.0.0.1:0".parse().unwrap(), counters.clone(), key.clone()).unwrap();
    let addr = listener.local_addr().unwrap();
    let stats: Arc<ListenerStats> = listener.stats();
    let status = Arc::new(SourceStatus::new("bench", false));
    let wall_stop = Arc::new(AtomicBool::new(false));
    let wall = {
        let (status, stop) = (status.clone(), wall_stop.clone());
        std::thread::spawn(move || listener.serve(status, stop))
    };
    let control = Arc::new(UplinkControl::default());
    let feed_stop = Arc::new(AtomicBool::new(false));
    let mut sensors: Vec<Sensor> = (0..n).map(|i| start_sensor(i, addr, &key, &control)).collect();
    while !sensors.iter().all(|s| s.state.connected.load(Relaxed)) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Counting starts once every sensor is connected: a wall is never sent
    // what was counted before, and every packet must reach this one.
    let feeders: Vec<_> = sensors
        .iter()
        .enumerate()
        .map(|(i, s)| start_feeder(i, &s.counters, k, &feed_stop))
        .collect();
    // Let a few intervals pass before measuring.
    std::thread::sleep(INTERVAL * 5);
    let icmp_slot = counters.maps().iter().position(|&m| m == map("icmp")).unwrap();
    let (deltas0, merge0) = (stats.deltas.load(Relaxed), stats.merge_ns.load(Relaxed));
    let mut lags = Vec::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for m in 0..markers {
        let s = &mut sensors[m % n];
        let before = counters.totals().per_map[icmp_slot];
        s.marker.add_cell(now_ns(), map("icmp"), 4242, 1);
        let counted = Instant::now();
        loop {
            if counters.totals().per_map[icmp_slot] > before {
                break;
            }
            assert!(counted.elapsed() < Duration::from_secs(10), "marker lost");
            std::thread::sleep(Duration::from_micros(200));
        }
        lags.push(counted.elapsed().as_secs_f64() * 1e3);
        // A pause that is not a multiple of the interval, so markers land all over it.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 90));
    }
    let deltas = stats.deltas.load(Relaxed) - deltas0;
    let merge_ms = (stats.merge_ns.load(Relaxed) - merge0) as f64 / 1e6;
    feed_stop.store(true, Relaxed);
    for f in feeders {
        f.join().unwrap();
    }
    // Only now: the last delta carries every count.
    control.finish.store(true, Relaxed);
    let sensor_packets: u64 = sensors.iter().map(|s| s.counters.totals().packets).sum();
    for s in sensors {
        drop(s.marker);
        s.uplink.join().unwrap().unwrap();
    }
    wall_stop.store(true, Relaxed);
    wall.join().unwrap();
    assert_eq!(
        counters.totals().packets,
        sensor_packets,
        "every packet reached the wall"
    );
    lags.sort_by(f64::total_cmp);
    println!(
        "{n:>3} {k:>7} {deltas:>8} {:>10.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        merge_ms * 1e3 / deltas.max(1) as f64,
        percentile(&lags, 0.0),
        percentile(&lags, 0.5),
        percentile(&lags, 0.95),
        percentile(&lags, 1.0),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; the test script's smoke run
    // (`cargo test --bench '*'`) runs this quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    merge_cost(quick);
    println!("N sensors into one wall, K changed cells per sensor per 100 ms interval, loopback");
    println!(
        "{:>3} {:>7} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "N", "K", "deltas", "µs/delta", "lag min", "median", "p95", "max ms"
    );
    // Quick (a test run): one small set-up, to check the path works.
    let (markers, ns, ks): (usize, &[usize], &[usize]) = if quick {
        (2, &[1], &[100])
    } else {
        (40, &[1, 4, 16], &[1_000, 65_536])
    };
    for &n in ns {
        for &k in ks {
            sensors_into_one_wall(n, k, markers);
        }
    }
}
