//! How many NetFlow v5 and IPFIX flow records per second one collector
//! thread decodes and counts, without the socket: synthetic flows (a mix of
//! TCP SYN scans, TCP, UDP and ICMP to random hosts of a /16 and random
//! ports) in datagrams as exporters send them: v5 with 30 records (1464
//! bytes), IPFIX with 60 records of a 7-field, 20-byte template (about
//! 1.2 KB), the template in the first datagram. "decode (framing)" is the
//! checking walk alone (header and set lengths); "decode + count" reads every
//! record with its template and counts it into the maps.
//!
//! `cargo bench --bench netflow` (CI runs each benchmark once as a smoke
//! test, `cargo test --bench '*'`). Throughput is in flow records.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scanwall::counting::{Counters, Decay, HalfLife};
use scanwall::maps::MAPS;
use scanwall::parse::LocalNets;
use scanwall::source::SourceStatus;
use scanwall::source::netflow::craft::{self, FLOW_V4, Flow};
use scanwall::source::netflow::decode::Datagram;
use scanwall::source::netflow::{NetflowIngest, NetflowStats};

/// Datagrams per benchmark iteration.
const DATAGRAMS: usize = 500;
/// Records in an IPFIX datagram (60 x 20 bytes + headers: about 1.2 KB).
const IPFIX_RECORDS: usize = 60;
/// Records in a v5 datagram (the most it may carry).
const V5_RECORDS: usize = 30;

/// `n` flows from a fixed pseudo-random sequence.
fn flows(n: usize) -> Vec<Flow> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let r = state;
            let dst = [192, 0, (r >> 8) as u8, (r >> 16) as u8];
            let src = [198, 51, (r >> 24) as u8, (r >> 32) as u8];
            let port = (r >> 40) as u16;
            let packets = 1 + (r >> 56) as u32 % 8;
            match r % 4 {
                0 => Flow::v4(src, dst, 6, port, 0x02, packets, packets * 40),
                1 => Flow::v4(src, dst, 6, port, 0x1b, packets, packets * 600),
                2 => Flow::v4(src, dst, 17, port, 0, packets, packets * 120),
                _ => Flow::v4(src, dst, 1, 0, 0, packets, packets * 84),
            }
        })
        .collect()
}

fn ipfix_datagrams() -> Vec<Vec<u8>> {
    let all = flows(DATAGRAMS * IPFIX_RECORDS);
    let mut sequence = 0u32;
    all.chunks(IPFIX_RECORDS)
        .enumerate()
        .map(|(i, chunk)| {
            let records: Vec<u8> = chunk.iter().flat_map(Flow::record_v4).collect();
            let mut sets = Vec::new();
            if i == 0 {
                sets.push(craft::set(2, &craft::template(256, &FLOW_V4)));
            }
            sets.push(craft::set(256, &records));
            let d = craft::ipfix(1, sequence, &sets);
            sequence += chunk.len() as u32;
            d
        })
        .collect()
}

fn v5_datagrams() -> Vec<Vec<u8>> {
    let all = flows(DATAGRAMS * V5_RECORDS);
    all.chunks(V5_RECORDS)
        .enumerate()
        .map(|(i, chunk)| craft::v5((i * V5_RECORDS) as u32, 0, chunk))
        .collect()
}

fn ingest(counters: &Counters) -> NetflowIngest {
    NetflowIngest::new(
        counters,
        &LocalNets::default(),
        Arc::new(SourceStatus::new("bench", false)),
        Arc::new(NetflowStats::default()),
    )
}

fn netflow(c: &mut Criterion) {
    let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let baseline = HalfLife::parse("10m").ok();
    for (version, datagrams, per) in [
        ("ipfix", ipfix_datagrams(), IPFIX_RECORDS),
        ("v5", v5_datagrams(), V5_RECORDS),
    ] {
        let bytes: usize = datagrams.iter().map(Vec::len).sum();
        eprintln!(
            "{version}: {} datagrams of {per} records, {} bytes each on average",
            datagrams.len(),
            bytes / datagrams.len()
        );
        let mut group = c.benchmark_group(format!("netflow {version}"));
        group.throughput(Throughput::Elements((datagrams.len() * per) as u64));
        group.bench_function("decode (framing)", |b| {
            b.iter(|| {
                let mut sets = 0u32;
                for d in &datagrams {
                    if let Ok(parsed) = Datagram::parse(d) {
                        sets += parsed.walked.data_sets + parsed.walked.v5_records;
                    }
                }
                black_box(sets)
            })
        });
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
                        let _ = black_box(ingest.datagram(ts, exporter, d));
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, netflow);
criterion_main!(benches);
