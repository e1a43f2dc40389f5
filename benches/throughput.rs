//! Packets per second through each stage of the counting path, and the CPU
//! cost of reading one frame. Input is generated (the demo traffic written as
//! a classic pcap in memory), so nothing is downloaded.
//!
//! `cargo bench --bench throughput` (CI runs each benchmark
//! once as a smoke test, `cargo test --bench '*'`).

mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanwall::counting::{Counters, Decay, FrameReader, PacketSink};
use scanwall::display::scales::FrameScales;
use scanwall::maps::{MAPS, default_shown};
use scanwall::render::ScaleMode;
use scanwall::source::RecordSource;
use scanwall::source::pcap_format::SliceReader;

fn counters(decay: Decay) -> Arc<Counters> {
    Counters::new((0..MAPS.len()).collect(), decay)
}

/// The wall's default: decay plus the 10-minute baseline of the change view.
fn counters_with_baseline() -> Arc<Counters> {
    let baseline = scanwall::counting::HalfLife::parse("10m").ok();
    Counters::with_baseline((0..MAPS.len()).collect(), Decay::default(), baseline)
}

fn stages(c: &mut Criterion) {
    let bytes = support::capture();
    let mut group = c.benchmark_group("count");
    group.throughput(Throughput::Elements(support::PACKETS));
    group.bench_function("record walk", |b| {
        b.iter(|| {
            let mut r = SliceReader::new(&bytes[..], "bench").expect("pcap");
            let mut total = 0usize;
            while let Ok(Some(rec)) = r.next_record() {
                total += rec.data.len();
            }
            black_box(total)
        })
    });
    let classifier = support::classifier();
    group.bench_function("walk + parse", |b| {
        b.iter(|| {
            let mut r = SliceReader::new(&bytes[..], "bench").expect("pcap");
            let mut ok = 0usize;
            while let Ok(Some(rec)) = r.next_record() {
                ok += usize::from(classifier.classify(rec.data, rec.wire_len).is_ok());
            }
            black_box(ok)
        })
    });
    let cases = [
        ("walk + parse + count (9 maps, totals)", counters(Decay::NONE)),
        ("walk + parse + count (9 maps, decay)", counters(Decay::default())),
        (
            "walk + parse + count (9 maps, decay + baseline)",
            counters_with_baseline(),
        ),
    ];
    for (name, counters) in cases {
        let mut sink = PacketSink::new(classifier.clone(), counters.writer());
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut r = SliceReader::new(&bytes[..], "bench").expect("pcap");
                while let Ok(Some(rec)) = r.next_record() {
                    sink.packet(rec.ts_ns, rec.wire_len, rec.data);
                }
                sink.flush();
            })
        });
    }
    // Scan-event attribution beside the counting (the wall's default): the
    // sampler's cost on the packet path, with a thread draining the samples
    // as the wall's event watch does. At this capture's 1 M packets/s of
    // packet time the default budget samples one packet in 64; the last case
    // samples every packet (what a wall under 20,000 packets/s does).
    for (name, budget) in [
        (
            "walk + parse + count (9 maps, decay + baseline, event sampling)",
            scanwall::events::DEFAULT_BUDGET,
        ),
        (
            "walk + parse + count (9 maps, decay + baseline, every packet sampled)",
            u32::MAX,
        ),
    ] {
        let counters = counters_with_baseline();
        let hub = scanwall::events::SampleHub::new(budget, scanwall::events::Overflow::Drop);
        counters.sample_into(hub.clone());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let drain = {
            let (hub, stop) = (hub.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut out = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    hub.drain(&mut out);
                    out.clear();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            })
        };
        let mut sink = PacketSink::new(classifier.clone(), counters.writer());
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut r = SliceReader::new(&bytes[..], "bench").expect("pcap");
                while let Ok(Some(rec)) = r.next_record() {
                    sink.packet(rec.ts_ns, rec.wire_len, rec.data);
                }
                sink.flush();
            })
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = drain.join();
    }
    group.finish();

    // Frame cost: read six decayed maps from two shards (two capture threads).
    let counters = support::two_thread_counters(&bytes);
    let mut reader = FrameReader::new(counters.clone(), default_shown());
    c.bench_function("frame: read 6 decayed maps from 2 shards", |b| {
        b.iter(|| black_box(reader.read(None).at_ns))
    });
    // The wall's whole CPU work per frame before the upload: read, then every
    // shown map's scale numbers; auto and rank also build the rank tables.
    let mut scales = FrameScales::default();
    let half_life = Decay::default().half_life;
    for mode in [ScaleMode::Paper, ScaleMode::Auto] {
        c.bench_function(
            &format!("frame: read 6 maps and their {} scales", mode.name()),
            |b| {
                b.iter(|| {
                    let frame = reader.read(None);
                    scales.update(frame, half_life, None, mode);
                    black_box(scales.scales().len())
                })
            },
        );
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
