#![allow(clippy::unwrap_used)] // test fixtures

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::counting::Decay;
use crate::maps::{self, MAPS};
use crate::source::netflow::craft::{self, FLOW_V4, FLOW_V6, Flow, IPFIX_MESSAGE, V5_ONE, V9_PACKET};
use crate::source::netflow::report::NetflowReport;

const TS: u64 = 1_700_000_000_000_000_000;
const SYN: u8 = 0x02;

fn exporter(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn setup(locals: &[&str]) -> (Arc<Counters>, NetflowIngest, Arc<SourceStatus>, Arc<NetflowStats>) {
    let counters = Counters::new((0..MAPS.len()).collect(), Decay::NONE);
    let status = Arc::new(SourceStatus::new("netflow test", false));
    let stats = Arc::new(NetflowStats::default());
    let locals = LocalNets::parse(locals).unwrap();
    let ingest = NetflowIngest::new(&counters, &locals, status.clone(), stats.clone());
    (counters, ingest, status, stats)
}

fn cell(counters: &Counters, map: &str, key: u16) -> u64 {
    counters.exact_counts(maps::by_name(map).unwrap()).unwrap()[usize::from(key)]
}

fn unusable(stats: &NetflowStats, why: Unusable) -> u64 {
    stats.unusable[why as usize].load(Relaxed)
}

#[test]
fn v5_flows_count_scaled_by_the_header_sampling_interval() {
    let (counters, mut ingest, status, stats) = setup(&["192.0.2.0/24"]);
    let got = ingest.datagram(TS, exporter(1), &V5_ONE).unwrap();
    assert_eq!(
        got,
        DatagramCounts {
            flows: 1,
            packets: 300
        }
    );
    assert_eq!(cell(&counters, "syn", 0x0250), 300);
    assert_eq!(cell(&counters, "synport", 22), 300);
    assert_eq!(cell(&counters, "port", 22), 300);
    assert_eq!(cell(&counters, "all", 0x0250), 300);
    // The mean length: 120 octets over 3 packets.
    assert_eq!(cell(&counters, "len", 40), 300);
    assert_eq!(cell(&counters, "udp", 0x0250), 0);
    let totals = counters.totals();
    assert_eq!((totals.packets, totals.last_ts), (300, Some(TS)));
    let peers = status.peers.summaries();
    assert_eq!(peers[0].name, "127.0.0.1#258");
    assert_eq!(peers[0].packets, 300);
    assert_eq!(stats.flows.load(Relaxed), 1);
}

#[test]
fn v9_templates_data_and_sampling_options() {
    let (counters, mut ingest, _, stats) = setup(&[]);
    // The RFC 3954 packet: two flows, unsampled (the options template has no data yet).
    let got = ingest.datagram(TS, exporter(1), &V9_PACKET).unwrap();
    assert_eq!(
        got,
        DatagramCounts {
            flows: 2,
            packets: 11
        }
    );
    assert_eq!(cell(&counters, "udp", 0x0201), 10);
    assert_eq!(cell(&counters, "port", 53), 10);
    assert_eq!(cell(&counters, "len", 50), 10);
    assert_eq!(cell(&counters, "port", 443), 1);
    // No TCP flags in this template: never in the SYN maps.
    assert_eq!(cell(&counters, "syn", 0x0202), 0);
    // Options data of template 257: system 0, interval 1 in 64, sampler 1.
    let mut options = vec![0, 0, 0, 0];
    options.extend_from_slice(&64u32.to_be_bytes());
    options.push(1);
    let flow = Flow::v4([198, 51, 100, 3], [192, 0, 2, 3], 6, 80, SYN, 2, 80);
    let d = craft::v9(
        9,
        8,
        2,
        &[
            craft::set(257, &options),
            craft::set(0, &craft::template(300, &FLOW_V4)),
            craft::set(300, &flow.record_v4()),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().packets, 128);
    assert_eq!(cell(&counters, "synport", 80), 128);
    assert_eq!(cell(&counters, "syn", 0x0203), 128);
    assert_eq!(stats.option_records.load(Relaxed), 1);
    // Same exporter address, other source id: another template space.
    let d = craft::v9(10, 1, 1, &[craft::set(300, &flow.record_v4())]);
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().flows, 0);
    assert_eq!(unusable(&stats, Unusable::NoTemplate), 1);
    assert_eq!(ingest.tables(), (2, 3));
}

#[test]
fn ipfix_templates_enterprise_fields_variable_lengths_and_withdrawal() {
    let (counters, mut ingest, _, stats) = setup(&[]);
    let got = ingest.datagram(TS, exporter(2), &IPFIX_MESSAGE).unwrap();
    assert_eq!(
        got,
        DatagramCounts {
            flows: 2,
            packets: 12
        }
    );
    // No protocol: counted in `all` and (length unknown: key 0) `len` only.
    assert_eq!(cell(&counters, "all", 0x0209), 5);
    assert_eq!(cell(&counters, "all", 0x020a), 7);
    assert_eq!(cell(&counters, "len", 0), 12);
    assert_eq!(counters.totals().packets, 12);
    // Options data of template 257: selector 1, 1 packet taken, 9 skipped: 1 in 10.
    let mut options = Vec::new();
    for v in [1u32, 1, 9] {
        options.extend_from_slice(&v.to_be_bytes());
    }
    let v6 = Flow::v6(
        [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34],
        58,
        0,
        0,
        3,
        3 * 1280,
    );
    let d = craft::ipfix(
        3,
        7,
        &[
            craft::set(257, &options),
            craft::set(2, &craft::template(400, &FLOW_V6)),
            craft::set(400, &v6.record_v6()),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(2), &d).unwrap().packets, 30);
    assert_eq!(cell(&counters, "icmp", 0x1234), 30);
    assert_eq!(cell(&counters, "len", 1280), 30);
    // Withdrawn, the template no longer reads data.
    let d = craft::ipfix(
        3,
        8,
        &[
            craft::set(2, &craft::template(400, &[])),
            craft::set(400, &v6.record_v6()),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(2), &d).unwrap().flows, 0);
    assert_eq!(unusable(&stats, Unusable::NoTemplate), 1);
    assert_eq!(stats.withdrawn.load(Relaxed), 1); // 400 (258 was never defined)
}

#[test]
fn inbound_rule_and_missing_fields() {
    let (counters, mut ingest, _, stats) = setup(&["192.0.2.0/24"]);
    let flows = [
        // Inbound UDP, outbound (source local), and to elsewhere.
        Flow::v4([198, 51, 100, 1], [192, 0, 2, 5], 17, 123, 0, 4, 400),
        Flow::v4([192, 0, 2, 9], [192, 0, 2, 5], 17, 123, 0, 8, 800),
        Flow::v4([198, 51, 100, 1], [203, 0, 113, 5], 6, 80, SYN, 16, 640),
        // SYN with ACK: not SYN-only; zero packets: unusable.
        Flow::v4([198, 51, 100, 1], [192, 0, 2, 6], 6, 443, 0x12, 1, 40),
        Flow::v4([198, 51, 100, 1], [192, 0, 2, 7], 6, 443, SYN, 0, 0),
    ];
    let d = craft::v5(0, 0, &flows);
    let got = ingest.datagram(TS, exporter(1), &d).unwrap();
    assert_eq!(
        got,
        DatagramCounts {
            flows: 4,
            packets: 29
        }
    );
    let t = counters.totals();
    assert_eq!(t.packets, 29);
    assert_eq!(t.skipped[SkipReason::NotInbound.index()], 24);
    assert_eq!(cell(&counters, "udp", 0x0205), 4);
    assert_eq!(cell(&counters, "port", 443), 1);
    assert_eq!(cell(&counters, "synport", 443), 0);
    assert_eq!(unusable(&stats, Unusable::NoPackets), 1);
    // A template without a destination address: every record unusable.
    let d = craft::ipfix(
        0,
        0,
        &[
            craft::set(2, &craft::template(256, &[(2, 4)])),
            craft::set(256, &[0, 0, 0, 1, 0, 0, 0, 2]),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().flows, 0);
    assert_eq!(unusable(&stats, Unusable::NoDestination), 2);
    // A TCP flow without a port: `all` and `len`, not the port or SYN maps.
    let d = craft::ipfix(
        0,
        2,
        &[
            craft::set(2, &craft::template(257, &[(12, 4), (2, 4), (4, 1), (6, 1)])),
            craft::set(257, &[192, 0, 2, 8, 0, 0, 0, 2, 6, SYN]),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().flows, 1);
    assert_eq!(cell(&counters, "all", 0x0208), 2);
    assert_eq!(cell(&counters, "syn", 0x0208), 0);
}

#[test]
fn hostile_datagrams_are_malformed_or_unusable_never_fatal() {
    let (counters, mut ingest, status, stats) = setup(&[]);
    // Truncated and lying lengths: malformed, charged to the exporter when the header reads.
    assert!(ingest.datagram(TS, exporter(1), &V9_PACKET[..60]).is_err());
    assert!(ingest.datagram(TS, exporter(1), &IPFIX_MESSAGE[..100]).is_err());
    assert!(ingest.datagram(TS, exporter(1), b"junk").is_err());
    assert_eq!(stats.malformed.load(Relaxed), 3);
    // Zero-length fields: a template whose records have no bytes is refused.
    let d = craft::ipfix(0, 0, &[craft::set(2, &craft::template(256, &[(12, 0), (2, 0)]))]);
    ingest.datagram(TS, exporter(1), &d).unwrap();
    assert_eq!(unusable(&stats, Unusable::BadTemplate), 1);
    // Zero-length fields in a usable template are read as absent.
    let d = craft::ipfix(
        0,
        0,
        &[
            craft::set(2, &craft::template(257, &[(12, 4), (2, 4), (4, 0), (11, 0)])),
            craft::set(257, &[192, 0, 2, 1, 0, 0, 0, 1]),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().packets, 1);
    // A variable length that lies: the set is unusable, nothing of it counted.
    let d = craft::ipfix(
        0,
        1,
        &[
            craft::set(2, &craft::template(258, &[(12, 4), (2, 4), (82, 65_535)])),
            craft::set(
                258,
                &[
                    192, 0, 2, 1, 0, 0, 0, 1, 2, b'a', b'b', 192, 0, 2, 1, 0, 0, 0, 1, 9,
                ],
            ),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().flows, 0);
    assert_eq!(unusable(&stats, Unusable::BadRecord), 1);
    // Sampling 0 is ignored; 2^32 - 1 scales, but a flow past 2^40 packets is refused.
    let options = craft::set(3, &craft::ipfix_options_template(259, &[(302, 4)], &[(34, 4)]));
    let zero = craft::ipfix(
        0,
        2,
        &[options.clone(), craft::set(259, &[0, 0, 0, 1, 0, 0, 0, 0])],
    );
    ingest.datagram(TS, exporter(1), &zero).unwrap();
    assert_eq!(unusable(&stats, Unusable::BadSampling), 1);
    let max = craft::ipfix(
        0,
        3,
        &[options, craft::set(259, &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])],
    );
    ingest.datagram(TS, exporter(1), &max).unwrap();
    let d = craft::ipfix(0, 4, &[craft::set(257, &[192, 0, 2, 1, 0, 0, 0, 1])]);
    assert_eq!(
        ingest.datagram(TS, exporter(1), &d).unwrap().packets,
        u64::from(u32::MAX)
    );
    let d = craft::ipfix(0, 5, &[craft::set(257, &[192, 0, 2, 1, 0, 1, 0, 1])]);
    assert_eq!(ingest.datagram(TS, exporter(1), &d).unwrap().flows, 0);
    assert_eq!(unusable(&stats, Unusable::TooManyPackets), 1);
    // 65,535 template ids from one exporter: 256 kept, the rest refused.
    for chunk in (256..=u16::MAX).collect::<Vec<_>>().chunks(60) {
        let sets: Vec<u8> = chunk
            .iter()
            .flat_map(|&id| craft::template(id, &FLOW_V4))
            .collect();
        ingest
            .datagram(TS, exporter(9), &craft::ipfix(0, 0, &[craft::set(2, &sets)]))
            .unwrap();
    }
    assert_eq!(
        unusable(&stats, Unusable::TemplateLimit),
        u64::from(u16::MAX) - 255 - u64::from(super::super::templates::MAX_TEMPLATES_PER_EXPORTER)
    );
    // The two malformed datagrams with readable headers, charged to their exporters.
    let charged: u64 = status.peers.summaries().iter().map(|p| p.malformed).sum();
    assert_eq!(charged, 2);
    let before = counters.totals().packets;
    assert!(before > 0);
}

#[test]
fn spoofed_exporters_beyond_the_bound() {
    let (counters, mut ingest, _, stats) = setup(&[]);
    let max = super::super::templates::MAX_EXPORTERS;
    let flow = Flow::v4([198, 51, 100, 1], [192, 0, 2, 5], 17, 53, 0, 1, 60);
    for i in 0..max as u32 + 5 {
        let d = craft::ipfix(i, 0, &[craft::set(2, &craft::template(256, &FLOW_V4))]);
        ingest.datagram(TS, exporter(1), &d).unwrap();
    }
    assert_eq!(ingest.tables().0, max);
    assert_eq!(unusable(&stats, Unusable::Untracked), 5);
    // v5 needs no template: an untracked exporter's flows still count.
    let d = craft::v5(0, 0, &[flow]);
    ingest
        .datagram(TS, IpAddr::V4(Ipv4Addr::new(127, 9, 9, 9)), &d)
        .unwrap();
    assert_eq!(counters.totals().packets, 1);
    assert_eq!(NetflowReport::new(&stats).exporters.len(), max);
}

#[test]
fn sequence_gaps_per_exporter() {
    let (_, mut ingest, _, stats) = setup(&[]);
    let flow = Flow::v4([198, 51, 100, 1], [192, 0, 2, 5], 17, 53, 0, 1, 60);
    // v5 counts flows: 0 (2 flows), 2, then 10: one gap.
    for seq in [0, 2, 10] {
        ingest
            .datagram(TS, exporter(1), &craft::v5(seq, 0, &[flow, flow]))
            .unwrap();
    }
    // v9 counts datagrams: 1, 2, 4: one gap.
    for seq in [1, 2, 4] {
        ingest
            .datagram(TS, exporter(1), &craft::v9(0, seq, 0, &[]))
            .unwrap();
    }
    assert_eq!(stats.sequence_gaps.load(Relaxed), 2);
    let report = NetflowReport::new(&stats);
    let gaps: Vec<(u16, u64, u64)> = report
        .exporters
        .iter()
        .map(|e| (e.version, e.sequence_gaps, e.flows))
        .collect();
    assert_eq!(gaps, [(5, 1, 6), (9, 1, 0)]);
}

/// A v9 data template: FLOW_V4, then `extra` fields.
fn v4_with(id: u16, extra: &[(u16, u16)]) -> Vec<u8> {
    craft::template(id, &[&FLOW_V4[..], extra].concat())
}

/// pmacctd's `nfprobe` with `sampling_rate: 10`, as it sends it (v9): its
/// first datagram's options template and options data, byte by byte, then
/// flows that name sampler 1 (its flows' last field), and flows that name
/// other samplers or none.
#[test]
fn v9_sampling_applies_to_the_sampler_a_flow_names() {
    let (counters, mut ingest, _, stats) = setup(&[]);
    #[rustfmt::skip]
    let options: [u8; 40] = [
        // options template flowset: id 1, length 26 (as pmacctd sends it, unpadded)
        0x00, 0x01, 0x00, 0x1a,
        0x10, 0x00,             // template 4096
        0x00, 0x04,             // scope length: 1 field
        0x00, 0x0c,             // option length: 3 fields
        0x00, 0x01, 0x00, 0x04, // scope System, 4 bytes
        0x00, 0x30, 0x00, 0x01, // FLOW_SAMPLER_ID 1
        0x00, 0x31, 0x00, 0x01, // FLOW_SAMPLER_MODE 1
        0x00, 0x32, 0x00, 0x04, // FLOW_SAMPLER_RANDOM_INTERVAL 4
        // options data flowset: id 4096, length 14
        0x10, 0x00, 0x00, 0x0e,
        0x00, 0x00, 0x00, 0x00, // System 0
        0x01,                   // sampler 1
        0x02,                   // mode 2 (random)
        0x00, 0x00, 0x00, 0x0a, // 1 in 10
    ];
    // Sampler 2 at 1 in 100, and the device as a whole at 1 in 4 (scope
    // System, samplingInterval), under options template 4097.
    let mut more = Vec::new();
    more.extend_from_slice(&[0, 0, 0, 0, 2, 2, 0, 0, 0, 100]);
    let domain = [0, 0, 0, 0, 0, 0, 0, 4];
    let flow = |port: u16| Flow::v4([198, 51, 100, 1], [192, 0, 2, 1], 17, port, 0, 3, 300);
    let named = |port: u16, sampler: u8| [flow(port).record_v4(), vec![sampler]].concat();
    let d = craft::v9(
        0,
        0,
        8,
        &[
            options.to_vec(),
            craft::set(4096, &more),
            craft::set(1, &craft::v9_options_template(4097, &[(1, 4)], &[(34, 4)])),
            craft::set(4097, &domain),
            craft::set(
                0,
                &[v4_with(1024, &[(48, 1)]), craft::template(1025, &FLOW_V4)].concat(),
            ),
            craft::set(1024, &[named(1, 1), named(2, 2), named(3, 3)].concat()),
            craft::set(1025, &flow(4).record_v4()),
        ],
    );
    let got = ingest.datagram(TS, exporter(1), &d).unwrap();
    assert_eq!(stats.option_records.load(Relaxed), 3);
    // Sampler 1: 3 x 10; sampler 2: 3 x 100; sampler 3 (never declared)
    // and a flow naming none: the device's 1 in 4.
    assert_eq!(cell(&counters, "port", 1), 30);
    assert_eq!(cell(&counters, "port", 2), 300);
    assert_eq!(cell(&counters, "port", 3), 12);
    assert_eq!(cell(&counters, "port", 4), 12);
    assert_eq!(
        got,
        DatagramCounts {
            flows: 4,
            packets: 354
        }
    );
    // A sampler's interval redefined replaces it, for that sampler only.
    let d = craft::v9(
        0,
        1,
        2,
        &[
            craft::set(4096, &[0, 0, 0, 0, 1, 2, 0, 0, 0, 20]),
            craft::set(1024, &[named(1, 1), named(2, 2)].concat()),
        ],
    );
    ingest.datagram(TS, exporter(1), &d).unwrap();
    assert_eq!(cell(&counters, "port", 1), 30 + 60);
    assert_eq!(cell(&counters, "port", 2), 300 + 300);
}

/// v9 scope Interface (type 2, not element 2): the interval is for flows
/// whose INPUT_SNMP is that interface; others stay unsampled.
#[test]
fn v9_interface_scope_applies_to_that_interface_only() {
    let (counters, mut ingest, _, _) = setup(&[]);
    let flow = |port: u16, ifindex: u32| {
        let f = Flow::v4([198, 51, 100, 1], [192, 0, 2, 1], 17, port, 0, 2, 200);
        [f.record_v4(), ifindex.to_be_bytes().to_vec()].concat()
    };
    let d = craft::v9(
        5,
        0,
        4,
        &[
            craft::set(1, &craft::v9_options_template(300, &[(2, 4)], &[(34, 4)])),
            craft::set(300, &[0, 0, 0, 3, 0, 0, 0, 20]),
            craft::set(0, &v4_with(301, &[(10, 4)])),
            craft::set(301, &[flow(1, 3), flow(2, 4)].concat()),
        ],
    );
    assert_eq!(ingest.datagram(TS, exporter(2), &d).unwrap().packets, 40 + 2);
    assert_eq!(cell(&counters, "port", 1), 40);
    assert_eq!(cell(&counters, "port", 2), 2);
}

/// IPFIX: a PSAMP selector (scope selectorId, RFC 5477 systematic count-based
/// sampling: 1 selected, 9 skipped) and an ingressInterface-scoped interval;
/// flows naming a selector or arriving on an interface use theirs, others
/// the observation domain's (scope observationDomainId); another domain of
/// the same address is not touched.
#[test]
fn ipfix_sampling_matches_selector_interface_and_domain_scopes() {
    let (counters, mut ingest, _, _) = setup(&[]);
    let flow = |port: u16, selector: u64, ifindex: u32| {
        let f = Flow::v4([198, 51, 100, 1], [192, 0, 2, 1], 6, port, SYN, 1, 40);
        [
            f.record_v4(),
            selector.to_be_bytes().to_vec(),
            ifindex.to_be_bytes().to_vec(),
        ]
        .concat()
    };
    let sets = [
        craft::set(
            3,
            &[
                craft::ipfix_options_template(400, &[(302, 8)], &[(305, 4), (306, 4)]),
                craft::ipfix_options_template(401, &[(10, 4)], &[(34, 4)]),
                craft::ipfix_options_template(402, &[(149, 4)], &[(34, 4)]),
            ]
            .concat(),
        ),
        craft::set(400, &[0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9]),
        craft::set(401, &[0, 0, 0, 5, 0, 0, 0, 50]),
        craft::set(402, &[0, 0, 0, 9, 0, 0, 0, 2]),
        craft::set(
            2,
            &craft::template(403, &[&FLOW_V4[..], &[(302, 8), (10, 4)]].concat()),
        ),
        craft::set(
            403,
            &[flow(1, 7, 5), flow(2, 8, 5), flow(3, 8, 6), flow(4, 7, 6)].concat(),
        ),
    ];
    ingest
        .datagram(TS, exporter(3), &craft::ipfix(9, 0, &sets))
        .unwrap();
    // Selector 7 (1 in 10) before the interface; selector 8 is not
    // declared: interface 5's 1 in 50; interface 6 neither: the domain's 2.
    assert_eq!(cell(&counters, "synport", 1), 10);
    assert_eq!(cell(&counters, "synport", 2), 50);
    assert_eq!(cell(&counters, "synport", 3), 2);
    assert_eq!(cell(&counters, "synport", 4), 10);
    // Domain 10 of the same address has its own options: none yet.
    let other = craft::ipfix(
        10,
        0,
        &[
            craft::set(
                2,
                &craft::template(403, &[&FLOW_V4[..], &[(302, 8), (10, 4)]].concat()),
            ),
            craft::set(403, &flow(5, 7, 5)),
        ],
    );
    ingest.datagram(TS, exporter(3), &other).unwrap();
    assert_eq!(cell(&counters, "synport", 5), 1);
}

/// At most MAX_SAMPLERS scoped intervals per exporter: what is there first
/// stays, and the refused ones are counted.
#[test]
fn scoped_sampling_intervals_are_bounded_per_exporter() {
    use crate::source::netflow::templates::MAX_SAMPLERS;
    let (counters, mut ingest, _, stats) = setup(&[]);
    let records: Vec<u8> = (1..=MAX_SAMPLERS as u8 + 3)
        .flat_map(|id| [0, 0, 0, 0, id, 0, 0, 0, 3])
        .collect();
    let flow = Flow::v4([198, 51, 100, 1], [192, 0, 2, 1], 17, 53, 0, 1, 100);
    let named = |sampler: u8| [flow.record_v4(), vec![sampler]].concat();
    let d = craft::v9(
        0,
        0,
        4,
        &[
            craft::set(
                1,
                &craft::v9_options_template(300, &[(1, 4)], &[(48, 1), (34, 4)]),
            ),
            craft::set(300, &records),
            craft::set(0, &v4_with(301, &[(48, 1)])),
            craft::set(301, &[named(1), named(MAX_SAMPLERS as u8 + 1)].concat()),
        ],
    );
    ingest.datagram(TS, exporter(4), &d).unwrap();
    assert_eq!(unusable(&stats, Unusable::SamplerLimit), 3);
    // Sampler 1 kept (1 in 3); the 17th refused: its flow counts unsampled.
    assert_eq!(cell(&counters, "port", 53), 3 + 1);
}

/// A flow that names no sampler, from an exporter that declared no
/// domain-wide interval: its one sampler's interval (RFC 3954's example
/// sends FLOW_SAMPLER_ID in options only); with two samplers declared,
/// which one is unknown, and the flow counts unsampled.
#[test]
fn a_flow_naming_no_sampler_takes_the_only_one_declared() {
    let (counters, mut ingest, _, _) = setup(&[]);
    let flow = |port: u16| Flow::v4([198, 51, 100, 1], [192, 0, 2, 1], 17, port, 0, 1, 100).record_v4();
    let options = craft::set(
        1,
        &craft::v9_options_template(300, &[(1, 4)], &[(48, 1), (34, 4)]),
    );
    let data = craft::set(0, &craft::template(301, &FLOW_V4));
    let one = craft::v9(
        0,
        0,
        4,
        &[
            options,
            craft::set(300, &[0, 0, 0, 0, 1, 0, 0, 0, 5]),
            data,
            craft::set(301, &flow(1)),
        ],
    );
    ingest.datagram(TS, exporter(5), &one).unwrap();
    assert_eq!(cell(&counters, "port", 1), 5);
    let two = craft::v9(
        0,
        1,
        2,
        &[
            craft::set(300, &[0, 0, 0, 0, 2, 0, 0, 0, 7]),
            craft::set(301, &flow(2)),
        ],
    );
    ingest.datagram(TS, exporter(5), &two).unwrap();
    assert_eq!(cell(&counters, "port", 2), 1);
}
