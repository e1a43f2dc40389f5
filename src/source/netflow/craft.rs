//! Builds NetFlow v5, v9 and IPFIX datagrams for tests, benchmarks and fuzz
//! seeds (the `testing` feature). Nothing here checks what it is given: a
//! test can build any lie it wants to send.

/// An IPFIX message header (version 10, length of the whole) before `sets`.
pub fn ipfix(domain: u32, sequence: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body = sets.concat();
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&10u16.to_be_bytes());
    out.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
    out.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&domain.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// A NetFlow v9 header (count = `count`) before `flowsets`.
pub fn v9(source_id: u32, sequence: u32, count: u16, flowsets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&9u16.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&360_000u32.to_be_bytes()); // sysUptime
    out.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&source_id.to_be_bytes());
    out.extend_from_slice(&flowsets.concat());
    out
}

/// A set (flowset) of id `id` around `body`, its length including the 4-byte header.
pub fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A template record: id, field count, then (type, length) per field (IANA
/// elements; an empty list is an IPFIX withdrawal).
pub fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for &(t, l) in fields {
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// An IPFIX options template record: `scope` fields then `options` fields.
pub fn ipfix_options_template(id: u16, scope: &[(u16, u16)], options: &[(u16, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&((scope.len() + options.len()) as u16).to_be_bytes());
    out.extend_from_slice(&(scope.len() as u16).to_be_bytes());
    for &(t, l) in scope.iter().chain(options) {
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// A v9 options template record (RFC 3954 section 6.1).
pub fn v9_options_template(id: u16, scope: &[(u16, u16)], options: &[(u16, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&((scope.len() * 4) as u16).to_be_bytes());
    out.extend_from_slice(&((options.len() * 4) as u16).to_be_bytes());
    for &(t, l) in scope.iter().chain(options) {
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&l.to_be_bytes());
    }
    out
}

/// One flow for [`v5`] and the templates [`FLOW_V4`], [`FLOW_V6`].
#[derive(Clone, Copy, Debug)]
pub struct Flow {
    /// Source address (IPv4 as the low 4 bytes of an IPv6-mapped value: use [`Flow::v4`]).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Packets.
    pub packets: u32,
    /// Octets.
    pub octets: u32,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol.
    pub protocol: u8,
    /// TCP flags (OR of the flow's packets).
    pub tcp_flags: u8,
}

impl Flow {
    /// An IPv4 flow.
    pub fn v4(
        src: [u8; 4],
        dst: [u8; 4],
        protocol: u8,
        dst_port: u16,
        tcp_flags: u8,
        packets: u32,
        octets: u32,
    ) -> Flow {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s[..4].copy_from_slice(&src);
        d[..4].copy_from_slice(&dst);
        Flow {
            src: s,
            dst: d,
            packets,
            octets,
            dst_port,
            protocol,
            tcp_flags,
        }
    }

    /// An IPv6 flow.
    pub fn v6(
        src: [u8; 16],
        dst: [u8; 16],
        protocol: u8,
        dst_port: u16,
        tcp_flags: u8,
        packets: u32,
        octets: u32,
    ) -> Flow {
        Flow {
            src,
            dst,
            packets,
            octets,
            dst_port,
            protocol,
            tcp_flags,
        }
    }

    /// The record's bytes under [`FLOW_V4`].
    pub fn record_v4(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.src[..4]);
        out.extend_from_slice(&self.dst[..4]);
        self.tail(&mut out);
        out
    }

    /// The record's bytes under [`FLOW_V6`].
    pub fn record_v6(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.src);
        out.extend_from_slice(&self.dst);
        self.tail(&mut out);
        out
    }

    fn tail(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.packets.to_be_bytes());
        out.extend_from_slice(&self.octets.to_be_bytes());
        out.push(self.protocol);
        out.push(self.tcp_flags);
        out.extend_from_slice(&self.dst_port.to_be_bytes());
    }
}

/// A data template for IPv4 flows: src, dst, packets, octets, protocol, flags, dst port.
pub const FLOW_V4: [(u16, u16); 7] = [(8, 4), (12, 4), (2, 4), (1, 4), (4, 1), (6, 1), (11, 2)];
/// The same for IPv6 flows.
pub const FLOW_V6: [(u16, u16); 7] = [(27, 16), (28, 16), (2, 4), (1, 4), (4, 1), (6, 1), (11, 2)];

/// A NetFlow v5 datagram: header (sampling interval `sampling`, engine 0)
/// and one 48-byte record per flow (IPv4 flows only).
pub fn v5(sequence: u32, sampling: u16, flows: &[Flow]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&5u16.to_be_bytes());
    out.extend_from_slice(&(flows.len() as u16).to_be_bytes());
    out.extend_from_slice(&360_000u32.to_be_bytes());
    out.extend_from_slice(&1_700_000_000u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&sampling.to_be_bytes());
    for f in flows {
        let mut r = [0u8; 48];
        r[0..4].copy_from_slice(&f.src[..4]);
        r[4..8].copy_from_slice(&f.dst[..4]);
        r[16..20].copy_from_slice(&f.packets.to_be_bytes());
        r[20..24].copy_from_slice(&f.octets.to_be_bytes());
        r[32..34].copy_from_slice(&40000u16.to_be_bytes());
        r[34..36].copy_from_slice(&f.dst_port.to_be_bytes());
        r[37] = f.tcp_flags;
        r[38] = f.protocol;
        out.extend_from_slice(&r);
    }
    out
}
