//! The body of the `sflow_datagram` fuzz target (`fuzz/fuzz_targets/`), kept
//! in the library so `tests/fuzz_corpus.rs` replays the committed corpus
//! through exactly this code on stable Rust, without libFuzzer.

use std::cell::RefCell;
use std::sync::Arc;

use super::decode::{Datagram, FlowSample, SampledHeader, Visitor};
use super::ingest::{SflowIngest, SflowStats};
use crate::counting::{Counters, Decay};
use crate::maps::MAPS;
use crate::parse::LocalNets;
use crate::source::SourceStatus;

thread_local! {
    /// One set of counters per thread: 65,536 cells per map are too many to
    /// allocate per input.
    static COUNTERS: RefCell<Option<Arc<Counters>>> = const { RefCell::new(None) };
}

/// Fuzz target `sflow_datagram`: the bytes are one UDP payload. Decoding must
/// not panic; a datagram that parses must visit exactly the samples and
/// headers its checking walk found, with header bytes inside the datagram and
/// no zero sampling rate; counting it (twice, as a duplicate arrives) must add
/// exactly the packets it reports.
pub fn sflow_datagram(data: &[u8]) {
    if let Ok(datagram) = Datagram::parse(data) {
        let mut check = Check {
            within: data.as_ptr_range(),
            samples: 0,
            headers: 0,
        };
        datagram.visit(&mut check);
        assert_eq!(check.samples, datagram.walked.flow_samples);
        assert_eq!(check.headers, datagram.walked.headers);
    }
    let counters = COUNTERS.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| Counters::new((0..MAPS.len()).collect(), Decay::NONE))
            .clone()
    });
    let status = Arc::new(SourceStatus::new("fuzz", false));
    let mut ingest = SflowIngest::new(
        &counters,
        &LocalNets::default(),
        None,
        status,
        Arc::new(SflowStats::default()),
    );
    for ts in [1, 2] {
        let before = counters.totals().packets;
        let added = ingest.datagram(ts, data).map_or(0, |c| c.packets);
        let after = counters.totals().packets;
        assert_eq!(after.wrapping_sub(before), added, "packets counted");
    }
    counters.release(ingest.into_writer());
}

struct Check {
    within: std::ops::Range<*const u8>,
    samples: u32,
    headers: u32,
}

impl<'a> Visitor<'a> for Check {
    fn flow_sample(&mut self, sample: &FlowSample) {
        assert_ne!(sample.sampling_rate, 0);
        self.samples += 1;
    }

    fn sampled_header(&mut self, sample: &FlowSample, h: &SampledHeader<'a>) {
        assert_ne!(sample.sampling_rate, 0);
        let range = h.header.as_ptr_range();
        assert!(
            self.within.start <= range.start && range.end <= self.within.end,
            "header outside the datagram"
        );
        self.headers += 1;
    }
}

/// Seed inputs for `sflow_datagram`: well-formed datagrams of every shape the
/// collector reads (compact and expanded samples, Ethernet, IPv4 and IPv6
/// headers, IPv4 and IPv6 agents, counter samples and other records to skip),
/// and a good datagram cut short and with lying lengths.
pub fn seeds() -> Vec<Vec<u8>> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::craft::{self, Sample};
    use crate::craft::{ether, icmp, ipv4, ipv6, tcp, udp};

    let v4_agent = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let v6_agent = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let syn = ipv4(6, [37, 200], &tcp(8080, 0x02), None, 0, 5);
    let dns = ipv4(17, [1, 2], &udp(53), None, 0, 5);
    let ping = ipv6(58, &[], &icmp(128));
    let eth_syn = craft::ethernet_header(&ether(0x0800, &[0x8100], &syn));
    let eth_v6 = craft::ethernet_header(&ether(0x86dd, &[], &ping));
    let raw_v4 = craft::sampled_header(11, dns.len() as u32, 0, &dns);
    let raw_v6 = craft::sampled_header(12, ping.len() as u32, 0, &ping);
    let ext_switch = craft::other_record(0, 1001, &[0; 16]);
    let dropping = Sample {
        drops: 7,
        ..Sample::new(9, 512)
    };
    let good = craft::datagram(
        v4_agent,
        0,
        7,
        1000,
        &[Sample::new(1, 100).compact(&[ext_switch.clone(), eth_syn.clone()])],
    );
    let mut out = vec![
        good.clone(),
        craft::datagram(
            v4_agent,
            1,
            8,
            2000,
            &[Sample::new(2, 1).expanded(std::slice::from_ref(&raw_v4))],
        ),
        craft::datagram(
            v6_agent,
            0,
            1,
            5,
            &[Sample::new(3, 7).compact(std::slice::from_ref(&raw_v6))],
        ),
        craft::datagram(
            v6_agent,
            3,
            2,
            6,
            &[
                craft::counter_sample(1),
                dropping.compact(&[eth_v6.clone(), raw_v4.clone()]),
                Sample::new(10, 2048).expanded(&[ext_switch, eth_syn.clone(), raw_v6]),
                craft::other_record(4413, 5, &[1, 2, 3]),
            ],
        ),
        craft::datagram(v4_agent, 0, 9, 3000, &[]),
        craft::datagram(v4_agent, 0, 10, 4000, &[craft::counter_sample(2)]),
        craft::datagram(
            v4_agent,
            0,
            11,
            5000,
            &[Sample::new(4, 3).compact(&[craft::sampled_header(13, 64, 0, &[0; 8])])],
        ),
    ];
    for cut in [0, 4, 20, 28, 36, 60, 80, 92, good.len() - 1] {
        out.push(good.get(..cut).unwrap_or_default().to_vec());
    }
    // Lengths that lie: sample, records, record, header; a zero rate; a bad version.
    for (at, value) in [
        (32, 4000),
        (32, 8),
        (64, 9),
        (72, 1 << 31),
        (44, 0),
        (0, 4),
        (4, 7),
    ] {
        let mut d = good.clone();
        if let Some(field) = d.get_mut(at..at + 4) {
            field.copy_from_slice(&u32::to_be_bytes(value));
        }
        out.push(d);
    }
    out
}
