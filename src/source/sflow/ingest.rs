//! From one sFlow datagram to counts: decode it, classify each sampled header
//! with the packet parser of its protocol, count it as many packets as its
//! sampling rate says, and keep the per-agent figures (packets, drops,
//! malformed datagrams) the status line and `count` show. No I/O: the
//! collector feeds it datagrams, the benchmark and the fuzz target feed it bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::agents::{AgentKey, AgentTable, Arrival};
use super::decode::{
    Datagram, FlowSample, Malformed, PROTOCOL_ETHERNET, PROTOCOL_IPV4, PROTOCOL_IPV6, SampledHeader, Visitor,
};
use crate::counting::{Counters, ShardWriter};
use crate::parse::{Classifier, LinkType, LocalNets, SkipReason};
use crate::source::{RecordFilter, SourceError, SourceStatus};

/// The link types of the header protocols read, in [`protocol_slot`] order.
pub const HEADER_LINKS: [LinkType; 3] = [LinkType::Ethernet, LinkType::RawIpv4, LinkType::RawIpv6];

/// The index into [`HEADER_LINKS`] of a `header_protocol`, if it is one scanwall reads.
fn protocol_slot(protocol: u32) -> Option<usize> {
    match protocol {
        PROTOCOL_ETHERNET => Some(0),
        PROTOCOL_IPV4 => Some(1),
        PROTOCOL_IPV6 => Some(2),
        _ => None,
    }
}

/// Collector-wide totals (per-agent ones are in the status's peer table),
/// shared with whoever reports them.
#[derive(Debug, Default)]
pub struct SflowStats {
    /// Datagrams received, well-formed or not.
    pub datagrams: AtomicU64,
    /// Datagrams rejected as malformed (nothing in them counted).
    pub malformed: AtomicU64,
    /// Flow samples in well-formed datagrams.
    pub flow_samples: AtomicU64,
    /// Sampled headers among them.
    pub headers: AtomicU64,
    /// Packets the agents dropped as samples (drops field increases x rate).
    pub sample_drops: AtomicU64,
    /// Datagrams lost (sequence gaps).
    pub lost_datagrams: AtomicU64,
    /// Packets estimated lost with them.
    pub lost_packets: AtomicU64,
    /// Datagrams of agents past the tracking cap (counted, not tracked).
    pub untracked: AtomicU64,
    /// Datagrams the kernel dropped for lack of socket buffer (when readable).
    pub kernel_drops: AtomicU64,
    /// Additions cut short at 2^64 - 1 by [`add_saturating`]: an agent claimed
    /// more drops or packets than any total can hold (a lying or broken agent).
    pub saturated: AtomicU64,
}

/// Adds `n` to `total`, stopping at `u64::MAX` rather than wrapping: an agent
/// may claim any drop counter at any sampling rate (up to about 2^64 packets
/// a sample), and a wrapped total would read as a small one. True when the
/// addition was cut short.
fn add_saturating(total: &AtomicU64, n: u64) -> bool {
    // The closure never returns None, so this is always Ok.
    let before = match total.fetch_update(Relaxed, Relaxed, |t| Some(t.saturating_add(n))) {
        Ok(v) | Err(v) => v,
    };
    before.checked_add(n).is_none()
}

/// BPF filters, one per header link type, applied to the sampled header bytes.
pub struct HeaderFilters([RecordFilter; 3]);

impl HeaderFilters {
    /// Compiles `expression` for each header protocol's link type.
    pub fn compile(expression: &str) -> Result<Self, SourceError> {
        let [eth, v4, v6] = HEADER_LINKS;
        Ok(HeaderFilters([
            RecordFilter::compile(expression, eth)?,
            RecordFilter::compile(expression, v4)?,
            RecordFilter::compile(expression, v6)?,
        ]))
    }
}

/// Decoding and counting state of one collector thread.
pub struct SflowIngest {
    classifiers: [Classifier; 3],
    filters: Option<HeaderFilters>,
    writer: ShardWriter,
    agents: AgentTable,
    status: Arc<SourceStatus>,
    stats: Arc<SflowStats>,
}

/// What one well-formed datagram added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatagramCounts {
    /// Flow samples.
    pub flow_samples: u32,
    /// Sampled headers.
    pub headers: u32,
    /// Packets they stand for (scaled by the sampling rates), counted or skipped.
    pub packets: u64,
    /// Packets lost: dropped samples and lost datagrams.
    pub drops: u64,
}

impl SflowIngest {
    /// Counts into a writer of `counters`, inbound to `locals`, filtered by
    /// `filters`; per-agent figures go to `status.peers` and drops to `status.shed`.
    pub fn new(
        counters: &Counters,
        locals: &LocalNets,
        filters: Option<HeaderFilters>,
        status: Arc<SourceStatus>,
        stats: Arc<SflowStats>,
    ) -> Self {
        SflowIngest {
            classifiers: HEADER_LINKS.map(|l| Classifier::new(l, locals.clone())),
            filters,
            writer: counters.writer(),
            agents: AgentTable::new(),
            status,
            stats,
        }
    }

    /// Decodes and counts one datagram that arrived at `ts` (ns since the
    /// Unix epoch). A malformed datagram counts nothing and is charged to its
    /// agent when its header could be read.
    pub fn datagram(&mut self, ts: u64, data: &[u8]) -> Result<DatagramCounts, Malformed> {
        self.stats.datagrams.fetch_add(1, Relaxed);
        self.status.stalled.store(false, Relaxed);
        let datagram = match Datagram::parse(data) {
            Ok(d) => d,
            Err(m) => {
                self.malformed(ts, &m);
                return Err(m);
            }
        };
        let header = datagram.header;
        let arrival = self.agents.arrive(&header, &self.status.peers, ts);
        let mut visit = Count {
            classifiers: &self.classifiers,
            filters: self.filters.as_ref(),
            writer: &mut self.writer,
            agents: &mut self.agents,
            slot: arrival.map(|a| a.slot),
            ts,
            packets: 0,
            sample_drops: 0,
        };
        datagram.visit(&mut visit);
        let (packets, sample_drops) = (visit.packets, visit.sample_drops);
        let lost = match arrival {
            Some(a) => self.agents.finish(a, packets),
            None => {
                self.stats.untracked.fetch_add(1, Relaxed);
                0
            }
        };
        let drops = sample_drops.saturating_add(lost);
        let walked = datagram.walked;
        let s = &self.stats;
        s.flow_samples.fetch_add(u64::from(walked.flow_samples), Relaxed);
        s.headers.fetch_add(u64::from(walked.headers), Relaxed);
        if let Some(Arrival { lost_datagrams, .. }) = arrival {
            s.lost_datagrams.fetch_add(u64::from(lost_datagrams), Relaxed);
        }
        let mut saturated = 0;
        let mut add = |total: &AtomicU64, n: u64| saturated += u64::from(add_saturating(total, n));
        add(&s.sample_drops, sample_drops);
        add(&s.lost_packets, lost);
        add(&self.status.shed, drops);
        if let Some(peer) = arrival.and_then(|a| self.agents.peer(a.slot)) {
            add(&peer.packets, packets);
            add(&peer.drops, drops);
            peer.connected.store(true, Relaxed);
            peer.touch();
        }
        if saturated > 0 {
            s.saturated.fetch_add(saturated, Relaxed);
        }
        Ok(DatagramCounts {
            flow_samples: walked.flow_samples,
            headers: walked.headers,
            packets,
            drops,
        })
    }

    fn malformed(&mut self, ts: u64, m: &Malformed) {
        self.stats.malformed.fetch_add(1, Relaxed);
        let Some(header) = &m.header else { return };
        let slot = self.agents.slot(AgentKey::of(header), &self.status.peers, ts);
        if let Some(peer) = slot.and_then(|s| self.agents.peer(s)) {
            peer.malformed.fetch_add(1, Relaxed);
            peer.connected.store(true, Relaxed);
            peer.touch();
        }
    }

    /// Agents tracked so far.
    pub fn agents(&self) -> usize {
        self.agents.len()
    }

    /// Gives the shard writer back (see [`Counters::release`]).
    pub fn into_writer(self) -> ShardWriter {
        self.writer
    }
}

/// The visitor that counts one datagram's sampled headers.
struct Count<'s> {
    classifiers: &'s [Classifier; 3],
    filters: Option<&'s HeaderFilters>,
    writer: &'s mut ShardWriter,
    agents: &'s mut AgentTable,
    slot: Option<u32>,
    ts: u64,
    packets: u64,
    sample_drops: u64,
}

impl<'a> Visitor<'a> for Count<'_> {
    fn flow_sample(&mut self, sample: &FlowSample) {
        if let Some(slot) = self.slot {
            self.sample_drops = self
                .sample_drops
                .saturating_add(self.agents.sample_drops(slot, sample));
        }
    }

    fn sampled_header(&mut self, sample: &FlowSample, h: &SampledHeader<'a>) {
        let rate = sample.sampling_rate;
        self.packets += u64::from(rate);
        let outcome = match protocol_slot(h.protocol) {
            None => Err(SkipReason::NotIp),
            Some(i) => match self.filters {
                Some(f) if !f.0[i].accepts(h.header) => Err(SkipReason::Filtered),
                _ => self.classifiers[i].classify(h.header, h.wire_len()),
            },
        };
        match outcome {
            Ok(facts) => self.writer.add_repeated(self.ts, &facts, rate),
            Err(reason) => {
                let n = u64::from(rate);
                self.writer.add_totals(self.ts, n, &[(reason, n)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test fixtures

    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::counting::Decay;
    use crate::craft::{ether, ipv4, ipv6_to, tcp, udp};
    use crate::maps::{self, MAPS};
    use crate::source::sflow::craft::{self, Sample};

    const TS: u64 = 1_700_000_000_000_000_000;

    fn agent(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    fn setup(locals: &[&str]) -> (Arc<Counters>, SflowIngest, Arc<SourceStatus>, Arc<SflowStats>) {
        let all = (0..MAPS.len()).collect();
        let counters = Counters::new(all, Decay::NONE);
        let status = Arc::new(SourceStatus::new("sflow test", false));
        let stats = Arc::new(SflowStats::default());
        let locals = LocalNets::parse(locals).unwrap();
        let ingest = SflowIngest::new(&counters, &locals, None, status.clone(), stats.clone());
        (counters, ingest, status, stats)
    }

    fn cell(counters: &Counters, map: &str, key: u16) -> u64 {
        counters.exact_counts(maps::by_name(map).unwrap()).unwrap()[usize::from(key)]
    }

    fn syn_frame(dst_low: [u8; 2], port: u16) -> Vec<u8> {
        ether(0x0800, &[], &ipv4(6, dst_low, &tcp(port, 0x02), None, 0, 5))
    }

    #[test]
    fn samples_count_scaled_by_their_rate_in_every_protocol() {
        let (counters, mut ingest, _, stats) = setup(&["192.0.2.0/24", "2001:db8::/32"]);
        let v4 = ipv4(17, [2, 37], &udp(53), None, 0, 5);
        let v6 = ipv6_to([0x12, 0x34], 6, &[], &tcp(443, 0x02));
        let d = craft::datagram(
            agent(1),
            0,
            1,
            10,
            &[
                Sample::new(1, 100).compact(&[craft::ethernet_header(&syn_frame([2, 7], 8080))]),
                Sample::new(2, 1000).expanded(&[craft::sampled_header(11, v4.len() as u32, 0, &v4)]),
                Sample::new(3, 7).compact(&[craft::sampled_header(12, v6.len() as u32, 0, &v6)]),
            ],
        );
        let got = ingest.datagram(TS, &d).unwrap();
        assert_eq!(got.packets, 1107);
        assert_eq!((got.flow_samples, got.headers, got.drops), (3, 3, 0));
        assert_eq!(cell(&counters, "syn", 0x0207), 100);
        assert_eq!(cell(&counters, "synport", 8080), 100);
        assert_eq!(cell(&counters, "udp", 0x0225), 1000);
        assert_eq!(cell(&counters, "port", 53), 1000);
        assert_eq!(cell(&counters, "synport", 443), 7);
        assert_eq!(cell(&counters, "all", 0x1234), 7);
        let totals = counters.totals();
        assert_eq!(totals.packets, 1107);
        assert_eq!(totals.last_ts, Some(TS));
        assert_eq!(stats.headers.load(Relaxed), 3);
    }

    #[test]
    fn skipped_packets_are_scaled_too() {
        let (counters, mut ingest, _, _) = setup(&["10.0.0.0/8"]);
        let d = craft::datagram(
            agent(1),
            0,
            1,
            10,
            &[
                // Not inbound to 10/8.
                Sample::new(1, 50).compact(&[craft::ethernet_header(&syn_frame([2, 7], 80))]),
                // ARP.
                Sample::new(2, 20).compact(&[craft::ethernet_header(&ether(0x0806, &[], &[0; 28]))]),
                // A header protocol scanwall does not read (MPLS).
                Sample::new(3, 3).compact(&[craft::sampled_header(13, 64, 0, &[0; 8])]),
            ],
        );
        assert_eq!(ingest.datagram(TS, &d).unwrap().packets, 73);
        let t = counters.totals();
        assert_eq!(t.packets, 73);
        assert_eq!(t.skipped[SkipReason::NotInbound.index()], 50);
        assert_eq!(t.skipped[SkipReason::NotIp.index()], 23);
    }

    #[test]
    fn agents_get_packets_drops_and_malformed_datagrams() {
        let (counters, mut ingest, status, stats) = setup(&[]);
        let frame = syn_frame([0, 1], 22);
        let one = |seq: u32, drops: u32| Sample {
            drops,
            ..Sample::new(seq, 10)
        };
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let datagrams = [
            craft::datagram(
                agent(1),
                0,
                1,
                0,
                &[one(1, 2).compact(&[craft::ethernet_header(&frame)])],
            ),
            // Two dropped samples at 1 in 10, and datagram 2 lost (10 packets a datagram).
            craft::datagram(
                agent(1),
                0,
                3,
                0,
                &[one(2, 4).compact(&[craft::ethernet_header(&frame)])],
            ),
            craft::datagram(
                v6,
                0,
                70,
                0,
                &[one(1, 0).compact(&[craft::ethernet_header(&frame)])],
            ),
        ];
        for d in &datagrams {
            ingest.datagram(TS, d).unwrap();
        }
        // Malformed: cut short (charged to agent 1), and garbage (charged to no one).
        assert!(ingest.datagram(TS, &datagrams[0][..40]).is_err());
        assert!(ingest.datagram(TS, b"not sflow").is_err());
        assert_eq!(counters.totals().packets, 30);
        assert_eq!(status.shed.load(Relaxed), 30);
        assert_eq!(stats.malformed.load(Relaxed), 2);
        assert_eq!(stats.datagrams.load(Relaxed), 5);
        assert_eq!(stats.lost_datagrams.load(Relaxed), 1);
        let peers = status.peers.summaries();
        let by_name: Vec<(&str, u64, u64, u64, bool)> = peers
            .iter()
            .map(|p| (p.name.as_str(), p.packets, p.drops, p.malformed, p.live))
            .collect();
        assert_eq!(by_name, [("127.0.0.1", 20, 30, 1, true), ("::1", 10, 0, 0, true)]);
        assert_eq!(ingest.agents(), 2);
    }

    #[test]
    fn drop_totals_saturate_rather_than_wrap() {
        let (_, mut ingest, status, stats) = setup(&[]);
        let frame = syn_frame([0, 1], 22);
        // At 1 in 2^32 - 1, a counter rising by 2^32 - 1 is about 2^64 packets
        // dropped; after a reset (a new baseline) it claims as much again.
        let d = |seq: u32, drops: u32| {
            let sample = Sample {
                drops,
                ..Sample::new(seq, u32::MAX)
            };
            craft::datagram(
                agent(1),
                0,
                seq,
                0,
                &[sample.compact(&[craft::ethernet_header(&frame)])],
            )
        };
        for (seq, drops) in [(1, 0), (2, u32::MAX), (3, 0), (4, u32::MAX)] {
            ingest.datagram(TS, &d(seq, drops)).unwrap();
        }
        assert_eq!(status.shed.load(Relaxed), u64::MAX);
        assert_eq!(stats.sample_drops.load(Relaxed), u64::MAX);
        assert_eq!(status.peers.summaries()[0].drops, u64::MAX);
        // Datagram 4 took the collector's, the shed and the agent's drop
        // totals to the ceiling: counted, for the report and the log.
        assert_eq!(stats.saturated.load(Relaxed), 3);
        ingest.datagram(TS, &d(5, 0)).unwrap();
        assert_eq!(stats.saturated.load(Relaxed), 3, "a new baseline adds nothing");
        assert!(add_saturating(&AtomicU64::new(u64::MAX - 1), 2));
        assert!(!add_saturating(&AtomicU64::new(u64::MAX - 1), 1));
    }

    #[test]
    fn a_filter_applies_to_the_sampled_headers() {
        let all = (0..MAPS.len()).collect();
        let counters = Counters::new(all, Decay::NONE);
        let status = Arc::new(SourceStatus::new("sflow test", false));
        let filters = HeaderFilters::compile("tcp port 22").unwrap();
        let mut ingest = SflowIngest::new(
            &counters,
            &LocalNets::default(),
            Some(filters),
            status,
            Arc::new(SflowStats::default()),
        );
        let v4 = ipv4(6, [0, 9], &tcp(22, 0x02), None, 0, 5);
        let d = craft::datagram(
            agent(1),
            0,
            1,
            0,
            &[
                Sample::new(1, 5).compact(&[craft::ethernet_header(&syn_frame([0, 1], 22))]),
                Sample::new(2, 5).compact(&[craft::ethernet_header(&syn_frame([0, 1], 23))]),
                Sample::new(3, 5).compact(&[craft::sampled_header(11, 40, 0, &v4)]),
            ],
        );
        ingest.datagram(TS, &d).unwrap();
        let t = counters.totals();
        assert_eq!(t.packets, 15);
        assert_eq!(t.skipped[SkipReason::Filtered.index()], 5);
        assert_eq!(cell(&counters, "synport", 22), 10);
    }
}
