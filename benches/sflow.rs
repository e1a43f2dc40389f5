//! How many sFlow datagrams and samples per second one collector thread
//! decodes and counts, without the socket: the demo traffic cut into
//! datagrams as a switch sends them (8 flow samples a datagram, each a
//! 128-byte Ethernet header and an extended-switch record, 1 in 1000), about
//! 1.4 KB each.
//!
//! `cargo bench --bench sflow` (CI runs each benchmark
//! once as a smoke test, `cargo test --bench '*'`). Throughput is in flow
//! samples; datagrams per second are that divided by [`SAMPLES_PER_DATAGRAM`].

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanwall::commands::generate::write_demo;
use scanwall::counting::{Counters, Decay, HalfLife};
use scanwall::maps::MAPS;
use scanwall::parse::LocalNets;
use scanwall::source::pcap_format::SliceReader;
use scanwall::source::sflow::craft::{self, Sample};
use scanwall::source::sflow::decode::{Datagram, FlowSample, SampledHeader, Visitor};
use scanwall::source::sflow::{SflowIngest, SflowStats};
use scanwall::source::{RecordSource, SourceStatus};

/// Datagrams per benchmark iteration.
const DATAGRAMS: usize = 1000;
/// Flow samples per datagram (what a switch fits in about 1.4 KB).
const SAMPLES_PER_DATAGRAM: usize = 8;
/// Bytes of each packet an agent samples (the common default).
const HEADER_BYTES: usize = 128;

/// The demo traffic as sFlow datagrams of one agent, numbered in sequence.
fn datagrams() -> Vec<Vec<u8>> {
    let mut capture = Vec::new();
    write_demo(
        &mut capture,
        (DATAGRAMS * SAMPLES_PER_DATAGRAM) as u64,
        100_000.0,
        1,
    )
    .expect("generate");
    let mut reader = SliceReader::new(&capture[..], "bench").expect("pcap");
    let ext_switch = craft::other_record(0, 1001, &[0; 16]);
    let mut out = Vec::new();
    let mut samples = Vec::new();
    let mut seq = 0u32;
    while let Ok(Some(r)) = reader.next_record() {
        seq += 1;
        let header = &r.data[..r.data.len().min(HEADER_BYTES)];
        let record = craft::sampled_header(1, r.wire_len + 4, 4, header);
        samples.push(Sample::new(seq, 1000).compact(&[ext_switch.clone(), record]));
        if samples.len() == SAMPLES_PER_DATAGRAM {
            let agent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
            out.push(craft::datagram(agent, 0, out.len() as u32 + 1, seq, &samples));
            samples.clear();
        }
    }
    out
}

/// Counts what a visit sees, so the decode-only case does the walk and no more.
struct Tally(usize);

impl<'a> Visitor<'a> for Tally {
    fn sampled_header(&mut self, _: &FlowSample, h: &SampledHeader<'a>) {
        self.0 += h.header.len();
    }
}

fn ingest(counters: &Counters) -> SflowIngest {
    SflowIngest::new(
        counters,
        &LocalNets::default(),
        None,
        Arc::new(SourceStatus::new("bench", false)),
        Arc::new(SflowStats::default()),
    )
}

fn sflow(c: &mut Criterion) {
    let datagrams = datagrams();
    let bytes: usize = datagrams.iter().map(Vec::len).sum();
    eprintln!(
        "{} datagrams of {} samples, {} bytes each on average",
        datagrams.len(),
        SAMPLES_PER_DATAGRAM,
        bytes / datagrams.len()
    );
    let mut group = c.benchmark_group("sflow");
    group.throughput(Throughput::Elements(
        (datagrams.len() * SAMPLES_PER_DATAGRAM) as u64,
    ));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut tally = Tally(0);
            for d in &datagrams {
                if let Ok(parsed) = Datagram::parse(d) {
                    parsed.visit(&mut tally);
                }
            }
            black_box(tally.0)
        })
    });
    let baseline = HalfLife::parse("10m").ok();
    let cases = [
        (
            "decode + count (9 maps, totals)",
            Counters::new((0..MAPS.len()).collect(), Decay::NONE),
        ),
        (
            "decode + count (9 maps, decay + baseline)",
            Counters::with_baseline((0..MAPS.len()).collect(), Decay::default(), baseline),
        ),
    ];
    for (name, counters) in cases {
        let mut ingest = ingest(&counters);
        let mut ts = 1_700_000_000_000_000_000u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                for d in &datagrams {
                    ts += 100_000;
                    let _ = black_box(ingest.datagram(ts, d));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sflow);
criterion_main!(benches);
