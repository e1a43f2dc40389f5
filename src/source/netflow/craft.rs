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

// Datagrams written out byte by byte from the specifications (the decoder's
// tests, the fuzz seeds): the v5 header and record layout (Cisco), RFC 3954
// (NetFlow v9) sections 5 and 6, RFC 7011 (IPFIX) sections 3, 7 and 8.

/// A v5 header and one record (Cisco's NetFlow v5 export format).
#[rustfmt::skip]
pub const V5_ONE: [u8; 72] = [
    0x00, 0x05,             // version 5
    0x00, 0x01,             // count: 1 record
    0x00, 0x05, 0x7e, 0x40, // sys_uptime: 360000 ms
    0x65, 0x53, 0xf1, 0x00, // unix_secs
    0x00, 0x00, 0x00, 0x00, // unix_nsecs
    0x00, 0x00, 0x00, 0x2a, // flow_sequence 42
    0x01,                   // engine_type 1
    0x02,                   // engine_id 2
    0x40, 0x64,             // sampling: mode 1 (top 2 bits), interval 100
    // record
    198, 51, 100, 7,        // srcaddr
    192, 0, 2, 80,          // dstaddr
    0, 0, 0, 0,             // nexthop
    0x00, 0x01, 0x00, 0x02, // input, output
    0x00, 0x00, 0x00, 0x03, // dPkts 3
    0x00, 0x00, 0x00, 0x78, // dOctets 120
    0x00, 0x05, 0x7a, 0x58, // First
    0x00, 0x05, 0x7e, 0x40, // Last
    0x9c, 0x40,             // srcport 40000
    0x00, 0x16,             // dstport 22
    0x00,                   // pad1
    0x02,                   // tcp_flags: SYN
    0x06,                   // prot: TCP
    0x00,                   // tos
    0x00, 0x00, 0x00, 0x00, // src_as, dst_as
    24, 24,                 // src_mask, dst_mask
    0x00, 0x00,             // pad2
];

/// RFC 3954 section 5: a v9 packet with a template flowset (section 5.2),
/// a data flowset with two records and 2 bytes of padding (5.3), and an
/// options template flowset (6.1) with a System scope and SAMPLING_INTERVAL.
#[rustfmt::skip]
pub const V9_PACKET: [u8; 120] = [
    // header (5.1)
    0x00, 0x09,             // version 9
    0x00, 0x04,             // count: 4 records (template, 2 data, options template)
    0x00, 0x05, 0x7e, 0x40, // sysUpTime
    0x65, 0x53, 0xf1, 0x00, // UNIX secs
    0x00, 0x00, 0x00, 0x07, // sequence 7
    0x00, 0x00, 0x00, 0x09, // source id 9
    // template flowset (5.2): id 0, length 32
    0x00, 0x00, 0x00, 0x20,
    0x01, 0x00, 0x00, 0x06, // template 256, 6 fields
    0x00, 0x08, 0x00, 0x04, // IPV4_SRC_ADDR 4
    0x00, 0x0c, 0x00, 0x04, // IPV4_DST_ADDR 4
    0x00, 0x02, 0x00, 0x04, // IN_PKTS 4
    0x00, 0x01, 0x00, 0x04, // IN_BYTES 4
    0x00, 0x04, 0x00, 0x01, // PROTOCOL 1
    0x00, 0x0b, 0x00, 0x02, // L4_DST_PORT 2
    // data flowset (5.3): id 256, length 4 + 2 x 19 + 2 padding = 44
    0x01, 0x00, 0x00, 0x2c,
    198, 51, 100, 1,   192, 0, 2, 1,   0, 0, 0, 10,   0, 0, 0x01, 0xf4,   17,   0x00, 0x35,
    198, 51, 100, 2,   192, 0, 2, 2,   0, 0, 0, 1,    0, 0, 0, 60,        6,    0x01, 0xbb,
    0x00, 0x00,             // padding
    // options template flowset (6.1): id 1, length 22 rounded to 24
    0x00, 0x01, 0x00, 0x18,
    0x01, 0x01,             // template 257
    0x00, 0x04,             // option scope length: 1 field
    0x00, 0x08,             // option length: 2 fields
    0x00, 0x01, 0x00, 0x04, // scope System, 4 bytes
    0x00, 0x22, 0x00, 0x04, // SAMPLING_INTERVAL 4
    0x00, 0x30, 0x00, 0x01, // FLOW_SAMPLER_ID 1
    0x00, 0x00,             // padding
];

/// RFC 7011: a message (3.1) with a template set (3.4.1) holding an
/// enterprise-specific field (3.2) and a variable-length field (7), a data
/// set with a 1-byte and a 3-byte length, an options template set (3.4.2.2)
/// and a withdrawal (8.1).
#[rustfmt::skip]
pub const IPFIX_MESSAGE: [u8; 120] = [
    // message header (3.1)
    0x00, 0x0a,             // version 10
    0x00, 0x78,             // length 120
    0x65, 0x53, 0xf1, 0x00, // export time
    0x00, 0x00, 0x00, 0x05, // sequence 5
    0x00, 0x00, 0x00, 0x03, // observation domain 3
    // template set: id 2, length 28
    0x00, 0x02, 0x00, 0x1c,
    0x01, 0x00, 0x00, 0x04, // template 256, 4 fields
    0x00, 0x0c, 0x00, 0x04, // destinationIPv4Address 4
    0x80, 0x01, 0x00, 0x04, // enterprise bit | 1, 4 bytes,
    0x00, 0x00, 0x72, 0x79, //   enterprise 29305
    0x00, 0x52, 0xff, 0xff, // interfaceName (82), variable length
    0x00, 0x02, 0x00, 0x08, // packetDeltaCount 8
    // data set: id 256, length 4 + 19 + 20 + 1 padding
    0x01, 0x00, 0x00, 0x2c, // length 44
    192, 0, 2, 9,   0xde, 0xad, 0xbe, 0xef,   2, b'e', b'0',           0, 0, 0, 0, 0, 0, 0, 5,
    192, 0, 2, 10,  0xde, 0xad, 0xbe, 0xef,   255, 0x00, 0x01, b'x',   0, 0, 0, 0, 0, 0, 0, 7,
    0x00,                   // padding
    // options template set: id 3, length 22
    0x00, 0x03, 0x00, 0x16,
    0x01, 0x01,             // template 257
    0x00, 0x03,             // 3 fields
    0x00, 0x01,             // 1 scope field
    0x01, 0x2e, 0x00, 0x04, // scope: selectorId (302), 4
    0x01, 0x31, 0x00, 0x04, // samplingPacketInterval (305), 4
    0x01, 0x32, 0x00, 0x04, // samplingPacketSpace (306), 4
    // template set with a withdrawal of 258 (8.1) and padding
    0x00, 0x02, 0x00, 0x0a,
    0x01, 0x02, 0x00, 0x00, // template 258, field count 0
    0x00, 0x00,             // padding
];
