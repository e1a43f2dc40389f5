//! From one NetFlow/IPFIX datagram to counts: decode it, keep its templates
//! and sampling options, turn each flow record into [`PacketFacts`] by the
//! rules of `COUNTING.md` where they apply (README, "NetFlow and IPFIX"),
//! and count it as many packets as it says, scaled by the sampling interval.
//! No I/O: the collector feeds it datagrams, the benchmark and the fuzz
//! target feed it bytes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::decode::{
    self, DataRecords, Datagram, Element, FieldSpec, Header, IPFIX, Malformed, V5, V9, ie, uint, v5,
};
use super::templates::{Defined, ExporterKey, FigureList, FlowScope, Refused, SamplingScope, Tables};
use crate::counting::{Counters, ShardWriter};
use crate::parse::{LocalNets, PacketFacts, SkipReason};
use crate::source::SourceStatus;

/// A flow that claims more packets than this (after sampling) is not
/// counted: no real flow comes near it (2^40 packets is hours of 100 Gb/s),
/// and one forged record must not saturate the maps.
pub const MAX_FLOW_PACKETS: u64 = 1 << 40;

/// Why flow records, data sets or template records could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// A data set whose template is unknown (not yet received, withdrawn, timed out): per set.
    NoTemplate,
    /// A data set whose records overrun it (a variable length that lies): per set.
    BadRecord,
    /// A flow record without a destination address.
    NoDestination,
    /// A flow record without a packet count, or with 0.
    NoPackets,
    /// A flow record above [`MAX_FLOW_PACKETS`].
    TooManyPackets,
    /// A template id under 256, over 128 fields, or records of no bytes.
    BadTemplate,
    /// A template refused for lack of room (per exporter or in all).
    TemplateLimit,
    /// A sampling option of 0.
    BadSampling,
    /// A sampling option for a sampler, selector or interface beyond the
    /// exporter's [`super::templates::MAX_SAMPLERS`].
    SamplerLimit,
    /// A v9/IPFIX datagram of an exporter past the tracking bound: per datagram.
    Untracked,
}

impl Unusable {
    /// Every reason, in counter order.
    pub const ALL: [Unusable; 10] = [
        Unusable::NoTemplate,
        Unusable::BadRecord,
        Unusable::NoDestination,
        Unusable::NoPackets,
        Unusable::TooManyPackets,
        Unusable::BadTemplate,
        Unusable::TemplateLimit,
        Unusable::BadSampling,
        Unusable::SamplerLimit,
        Unusable::Untracked,
    ];

    /// The name in `count`'s JSON.
    pub fn name(self) -> &'static str {
        match self {
            Unusable::NoTemplate => "no_template",
            Unusable::BadRecord => "bad_record",
            Unusable::NoDestination => "no_destination",
            Unusable::NoPackets => "no_packets",
            Unusable::TooManyPackets => "too_many_packets",
            Unusable::BadTemplate => "bad_template",
            Unusable::TemplateLimit => "template_limit",
            Unusable::BadSampling => "bad_sampling",
            Unusable::SamplerLimit => "sampler_limit",
            Unusable::Untracked => "untracked_exporter",
        }
    }
}

/// Collector-wide totals (per exporter ones are in [`FigureList`] and the
/// status's peer table), shared with whoever reports them.
#[derive(Debug, Default)]
pub struct NetflowStats {
    /// Datagrams received, well-formed or not.
    pub datagrams: AtomicU64,
    /// Datagrams rejected as malformed (nothing in them used).
    pub malformed: AtomicU64,
    /// Well-formed datagrams of v5, v9 and IPFIX.
    pub by_version: [AtomicU64; 3],
    /// Flow records counted (or skipped as not inbound).
    pub flows: AtomicU64,
    /// Options data records read.
    pub option_records: AtomicU64,
    /// Template records kept (new or replaced).
    pub templates: AtomicU64,
    /// Templates withdrawn.
    pub withdrawn: AtomicU64,
    /// Sequence gaps (all exporters).
    pub sequence_gaps: AtomicU64,
    /// Per [`Unusable`] reason.
    pub unusable: [AtomicU64; 10],
    /// Datagrams the kernel dropped for lack of socket buffer (when readable).
    pub kernel_drops: AtomicU64,
    /// Each exporter's figures.
    pub exporters: Arc<FigureList>,
}

impl NetflowStats {
    fn unusable(&self, why: Unusable, n: u64) {
        if let Some(c) = self.unusable.get(why as usize) {
            c.fetch_add(n, Relaxed);
        }
    }
}

/// What one well-formed datagram added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatagramCounts {
    /// Flow records counted or skipped.
    pub flows: u32,
    /// Packets they stand for (scaled), counted or skipped.
    pub packets: u64,
}

/// One flow record's fields that counting reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowFields {
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// packetDeltaCount (unsampled).
    pub packets: Option<u64>,
    /// octetDeltaCount.
    pub octets: Option<u64>,
    /// protocolIdentifier.
    pub protocol: Option<u8>,
    /// tcpControlBits (OR of the flow's packets).
    pub tcp_flags: Option<u16>,
    /// destinationTransportPort.
    pub dst_port: Option<u16>,
    /// A sampling interval carried in the record itself.
    pub sampling: Option<u64>,
    /// The sampler, selector and interfaces it names, to find its sampling interval.
    pub scope: FlowScope,
}

impl FlowFields {
    fn read(&mut self, spec: FieldSpec, bytes: &[u8]) {
        if spec.enterprise {
            return; // another enterprise's element: skipped by its length
        }
        let n = || uint(bytes);
        match spec.id {
            ie::SRC_V4 | ie::SRC_V6 => self.src = decode::address(bytes),
            ie::DST_V4 | ie::DST_V6 => self.dst = decode::address(bytes),
            ie::PACKETS => self.packets = n(),
            ie::OCTETS => self.octets = n(),
            ie::PROTOCOL => self.protocol = n().and_then(|v| u8::try_from(v).ok()),
            ie::TCP_FLAGS => self.tcp_flags = n().and_then(|v| u16::try_from(v).ok()),
            ie::DST_PORT => self.dst_port = n().and_then(|v| u16::try_from(v).ok()),
            ie::SAMPLING_INTERVAL | ie::SAMPLER_RANDOM_INTERVAL => self.sampling = n(),
            ie::SAMPLER_ID => self.scope.sampler = n(),
            ie::SELECTOR_ID => self.scope.selector = n(),
            ie::INGRESS_INTERFACE => self.scope.ingress = n(),
            ie::EGRESS_INTERFACE => self.scope.egress = n(),
            _ => {}
        }
    }

    /// The fields of a 48-byte v5 record.
    pub fn v5(r: &[u8]) -> FlowFields {
        use crate::parse::bytes::{be16, be32};
        let byte = |at: usize| r.get(at).copied();
        FlowFields {
            src: r.get(v5::SRC..v5::SRC + 4).and_then(decode::address),
            dst: r.get(v5::DST..v5::DST + 4).and_then(decode::address),
            packets: Some(u64::from(be32(r, v5::PACKETS))),
            octets: Some(u64::from(be32(r, v5::OCTETS))),
            protocol: byte(v5::PROTOCOL),
            tcp_flags: byte(v5::TCP_FLAGS).map(u16::from),
            dst_port: Some(be16(r, v5::DST_PORT)),
            sampling: None,
            scope: FlowScope::default(),
        }
    }

    /// The packet facts of this flow, or why it lands in no map; the flow's
    /// packets (unscaled) with them.
    pub fn facts(&self, locals: &LocalNets) -> Result<(PacketFacts, u64), Result<SkipReason, Unusable>> {
        let dst = self.dst.ok_or(Err(Unusable::NoDestination))?;
        let packets = self.packets.filter(|&p| p > 0).ok_or(Err(Unusable::NoPackets))?;
        let (inbound, low16, v6) = match dst {
            IpAddr::V4(d) => {
                let src = match self.src {
                    Some(IpAddr::V4(s)) => u32::from(s),
                    _ => 0,
                };
                (locals.inbound_v4(src, u32::from(d)), u32::from(d) as u16, false)
            }
            IpAddr::V6(d) => {
                let src = match self.src {
                    Some(IpAddr::V6(s)) => u128::from(s),
                    _ => 0,
                };
                (locals.inbound_v6(src, u128::from(d)), u128::from(d) as u16, true)
            }
        };
        if !inbound {
            return Err(Ok(SkipReason::NotInbound));
        }
        // The mean IP length of the flow's packets: all a flow record knows.
        let length = self.octets.map_or(0, |o| (o / packets).min(65_535)) as u16;
        let mut flags = 0u8;
        let mut port = 0u16;
        match self.protocol {
            Some(1) if !v6 => flags |= PacketFacts::ICMP,
            Some(58) if v6 => flags |= PacketFacts::ICMP,
            Some(17) => flags |= PacketFacts::UDP,
            Some(6) => flags |= PacketFacts::TCP,
            _ => {}
        }
        if flags & (PacketFacts::UDP | PacketFacts::TCP) != 0
            && let Some(p) = self.dst_port
        {
            flags |= PacketFacts::L4_PRESENT;
            port = p;
            // Of FIN SYN RST PSH ACK URG only SYN, over every packet of the flow.
            if flags & PacketFacts::TCP != 0 && self.tcp_flags.is_some_and(|f| f & 0x3f == 0x02) {
                flags |= PacketFacts::SYN_ONLY;
            }
        }
        let facts = PacketFacts {
            dst_low16: low16,
            length,
            port,
            flags,
        };
        Ok((facts, packets))
    }
}

/// Decoding and counting state of one collector thread.
pub struct NetflowIngest {
    locals: LocalNets,
    writer: ShardWriter,
    tables: Tables,
    status: Arc<SourceStatus>,
    stats: Arc<NetflowStats>,
}

impl NetflowIngest {
    /// Counts into a writer of `counters`, inbound to `locals`; per exporter
    /// figures go to `status.peers` and `stats.exporters`.
    pub fn new(
        counters: &Counters,
        locals: &LocalNets,
        status: Arc<SourceStatus>,
        stats: Arc<NetflowStats>,
    ) -> Self {
        NetflowIngest {
            locals: locals.clone(),
            writer: counters.writer(),
            tables: Tables::new(stats.exporters.clone()),
            status,
            stats,
        }
    }

    /// Decodes and counts one datagram from `from` that arrived at `ts` (ns
    /// since the Unix epoch, the packet clock). A malformed datagram counts
    /// nothing and is charged to its exporter when its header was readable.
    pub fn datagram(&mut self, ts: u64, from: IpAddr, data: &[u8]) -> Result<DatagramCounts, Malformed> {
        self.stats.datagrams.fetch_add(1, Relaxed);
        self.status.stalled.store(false, Relaxed);
        self.tables.sweep(ts);
        let datagram = match Datagram::parse(data) {
            Ok(d) => d,
            Err(m) => {
                self.malformed(from, ts, &m);
                return Err(m);
            }
        };
        let header = datagram.header;
        let slot = match header.version {
            V5 => 0,
            V9 => 1,
            _ => 2,
        };
        self.stats.by_version[slot].fetch_add(1, Relaxed);
        let key = ExporterKey {
            addr: from,
            domain: header.domain,
            version: header.version,
        };
        let tracked = self.tables.exporter(key, ts, &self.status.peers).is_some();
        if !tracked && header.version != V5 {
            // No room for its templates: its data cannot be read.
            self.stats.unusable(Unusable::Untracked, 1);
            return Ok(DatagramCounts::default());
        }
        let mut count = Count {
            ingest: self,
            key,
            header,
            ts,
            counts: DatagramCounts::default(),
            data_records: Some(0),
        };
        datagram.visit(&mut |e| count.element(e));
        let (counts, data_records) = (count.counts, count.data_records);
        let units = match header.version {
            V9 => Some(1),
            IPFIX => data_records,
            _ => Some(u32::from(header.v5_records)),
        };
        if self.tables.sequence(key, header.sequence, units) {
            self.stats.sequence_gaps.fetch_add(1, Relaxed);
        }
        self.stats.flows.fetch_add(u64::from(counts.flows), Relaxed);
        if let Some(e) = self.tables.get(&key) {
            if let Some(f) = &e.figures {
                f.flows.fetch_add(u64::from(counts.flows), Relaxed);
                f.packets.fetch_add(counts.packets, Relaxed);
            }
            if let Some(peer) = &e.peer {
                peer.packets.fetch_add(counts.packets, Relaxed);
                peer.connected.store(true, Relaxed);
                peer.touch();
            }
        }
        Ok(counts)
    }

    fn malformed(&mut self, from: IpAddr, ts: u64, m: &Malformed) {
        self.stats.malformed.fetch_add(1, Relaxed);
        let Some(header) = &m.header else { return };
        let key = ExporterKey {
            addr: from,
            domain: header.domain,
            version: header.version,
        };
        if let Some(e) = self.tables.exporter(key, ts, &self.status.peers) {
            if let Some(f) = &e.figures {
                f.malformed.fetch_add(1, Relaxed);
            }
            if let Some(peer) = &e.peer {
                peer.malformed.fetch_add(1, Relaxed);
                peer.connected.store(true, Relaxed);
                peer.touch();
            }
        }
    }

    /// Exporters tracked and templates held.
    pub fn tables(&self) -> (usize, usize) {
        (self.tables.exporters(), self.tables.templates())
    }

    /// Gives the shard writer back (see [`Counters::release`]).
    pub fn into_writer(self) -> ShardWriter {
        self.writer
    }
}

/// Counts one datagram's elements.
struct Count<'s> {
    ingest: &'s mut NetflowIngest,
    key: ExporterKey,
    header: Header,
    ts: u64,
    counts: DatagramCounts,
    /// Data records in it (for the IPFIX sequence); `None` once a data set could not be read.
    data_records: Option<u32>,
}

impl Count<'_> {
    fn element(&mut self, e: Element<'_>) {
        let stats = &*self.ingest.stats;
        match e {
            Element::V5Record(r) => {
                let sampling = u64::from(self.header.v5_sampling.max(1));
                self.flow(&FlowFields::v5(r), sampling);
            }
            Element::Template(t) => match self.ingest.tables.define(self.key, &t, self.ts) {
                Ok(Defined::New | Defined::Replaced) => {
                    stats.templates.fetch_add(1, Relaxed);
                }
                Ok(Defined::Withdrawn(n)) => {
                    stats.withdrawn.fetch_add(u64::from(n), Relaxed);
                }
                Err(Refused::Bad) => stats.unusable(Unusable::BadTemplate, 1),
                Err(Refused::Full) => stats.unusable(Unusable::TemplateLimit, 1),
            },
            Element::Data { template, body } => self.data_set(template, body),
        }
    }

    fn data_set(&mut self, id: u16, body: &[u8]) {
        let stats = self.ingest.stats.clone();
        let Some(t) = self.ingest.tables.template(self.key, id) else {
            stats.unusable(Unusable::NoTemplate, 1);
            self.data_records = None;
            return;
        };
        // Fields and options kind copied out, so the tables can be updated below.
        let (options, scope) = (t.options, usize::from(t.scope_count));
        let mut fields = [FieldSpec {
            id: 0,
            enterprise: false,
            length: 0,
        }; super::templates::MAX_FIELDS];
        let n = t.fields.len().min(fields.len());
        fields[..n].copy_from_slice(&t.fields[..n]);
        let fields = &fields[..n];
        let records = DataRecords::new(body, fields, t.min_len);
        let Ok(count) = records.check() else {
            stats.unusable(Unusable::BadRecord, 1);
            self.data_records = None;
            return;
        };
        self.data_records = self.data_records.map(|d| d.wrapping_add(count));
        let mut records = records;
        if options {
            stats.option_records.fetch_add(u64::from(count), Relaxed);
            let v9 = self.header.version == V9;
            loop {
                let mut sampling = Sampling::default();
                let mut i = 0usize;
                let more = records.next_record(&mut |(spec, bytes)| {
                    sampling.read(spec, bytes, i < scope, v9);
                    i += 1;
                });
                if more != Ok(true) {
                    break;
                }
                match sampling.interval() {
                    Some(0) => stats.unusable(Unusable::BadSampling, 1),
                    Some(v) => {
                        let exporter =
                            self.ingest
                                .tables
                                .exporter(self.key, self.ts, &self.ingest.status.peers);
                        if let Some(e) = exporter
                            && !e.set_sampling(sampling.scope(), v)
                        {
                            stats.unusable(Unusable::SamplerLimit, 1);
                        }
                    }
                    None => {}
                }
            }
            return;
        }
        let mut flow = FlowFields::default();
        loop {
            let more = records.next_record(&mut |(spec, bytes)| flow.read(spec, bytes));
            if more != Ok(true) {
                break;
            }
            let sampling = match flow.sampling {
                Some(s) if s > 0 => s,
                _ => {
                    let exporter = self.ingest.tables.get(&self.key);
                    u64::from(exporter.map_or(1, |e| e.sampling_of(&flow.scope)))
                }
            };
            self.flow(&flow, sampling);
            flow = FlowFields::default();
        }
    }

    /// Counts one flow record, its packets times `sampling`.
    fn flow(&mut self, flow: &FlowFields, sampling: u64) {
        let stats = &*self.ingest.stats;
        let writer = &mut self.ingest.writer;
        let (facts, packets) = match flow.facts(&self.ingest.locals) {
            Ok(f) => (Some(f.0), f.1),
            // Not inbound: its packets are counted as skipped, as a capture's are.
            Err(Ok(_)) => (None, flow.packets.unwrap_or(0)),
            Err(Err(why)) => {
                stats.unusable(why, 1);
                return;
            }
        };
        let scaled = packets.saturating_mul(sampling);
        if scaled > MAX_FLOW_PACKETS {
            stats.unusable(Unusable::TooManyPackets, 1);
            return;
        }
        self.counts.flows += 1;
        self.counts.packets += scaled;
        match facts {
            Some(facts) => {
                let mut left = scaled;
                while left > 0 {
                    let chunk = left.min(u64::from(u32::MAX));
                    writer.add_repeated(self.ts, &facts, chunk as u32);
                    left -= chunk;
                }
            }
            None => writer.add_totals(self.ts, scaled, &[(SkipReason::NotInbound, scaled)]),
        }
    }
}

/// The sampling fields of one options data record, and what they apply to.
#[derive(Default)]
struct Sampling {
    interval: Option<u64>,
    packet_interval: Option<u64>,
    packet_space: Option<u64>,
    sampler: Option<u64>,
    selector: Option<u64>,
    ingress: Option<u64>,
    egress: Option<u64>,
}

impl Sampling {
    /// Reads one field; `scope` for the options template's scope fields,
    /// which in v9 are scope types (System, Interface, ...), not elements.
    fn read(&mut self, spec: FieldSpec, bytes: &[u8], scope: bool, v9: bool) {
        if spec.enterprise {
            return;
        }
        let n = uint(bytes);
        if scope && v9 {
            if spec.id == decode::v9_scope::INTERFACE {
                self.ingress = n;
            }
            return;
        }
        match spec.id {
            ie::SAMPLER_ID => self.sampler = n,
            ie::SELECTOR_ID => self.selector = n,
            ie::INGRESS_INTERFACE if scope => self.ingress = n,
            ie::EGRESS_INTERFACE if scope => self.egress = n,
            _ if scope => {}
            ie::SAMPLING_INTERVAL | ie::SAMPLER_RANDOM_INTERVAL => self.interval = n,
            ie::SAMPLING_PACKET_INTERVAL => self.packet_interval = n,
            ie::SAMPLING_PACKET_SPACE => self.packet_space = n,
            _ => {}
        }
    }

    /// 1 in N: the interval given, or (selected + skipped) / selected
    /// (RFC 5477 systematic count-based sampling); clamped to 32 bits.
    fn interval(&self) -> Option<u32> {
        let n = match (self.interval, self.packet_interval, self.packet_space) {
            (Some(i), _, _) => i,
            (None, Some(0), Some(_)) => 0,
            (None, Some(i), Some(s)) => i.saturating_add(s) / i,
            _ => return None,
        };
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Which flows the interval is for: the sampler or selector the record
    /// names (as a scope or an option field), else the interface it is
    /// scoped to, else the exporter's whole domain.
    fn scope(&self) -> SamplingScope {
        if let Some(id) = self.sampler {
            SamplingScope::Sampler(id)
        } else if let Some(id) = self.selector {
            SamplingScope::Selector(id)
        } else if let Some(i) = self.ingress {
            SamplingScope::Ingress(i)
        } else if let Some(i) = self.egress {
            SamplingScope::Egress(i)
        } else {
            SamplingScope::Domain
        }
    }
}

/// The peer address a datagram came from, as the exporter's address.
pub fn exporter_addr(from: SocketAddr) -> IpAddr {
    match from.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests;
