//! Property tests of the packet parser (`Classifier::classify`):
//!
//! - it never panics (and so never reads out of bounds) on arbitrary bytes of
//!   any link type, with or without `--local` prefixes;
//! - a packet built from random valid headers (any link layer and VLAN stack,
//!   IPv4 with options, fragments and odd total lengths, IPv6 with extension
//!   headers, TCP/UDP/ICMP or another protocol, cut by a random snap length)
//!   yields exactly the header facts those headers carry by `COUNTING.md`.
//!
//! The expected facts are computed from the generated header *description*
//! (where each header was put and what it says), never by re-reading the bytes.

use proptest::prelude::*;
use scanwall::craft::{
    ether, icmp, ipv4, ipv6_fragment_header, ipv6_option_header, ipv6_to, null, sll, sll2, tcp, udp,
};
use scanwall::parse::{Classifier, LinkType, LocalNets, PacketFacts, SkipReason};

const ALL_LINKS: [LinkType; 8] = LinkType::ALL;
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// `COUNTING.md` bounds the VLAN walk; the parser's bound is 8 tags.
const MAX_VLAN_TAGS: usize = 8;

/// Local prefixes containing the crafted destinations (192.0.0.0/16 and
/// 2001:db8::/32) but not the sources, so crafted packets are inbound.
fn crafted_locals() -> LocalNets {
    LocalNets::parse(&["192.0.0.0/16", "2001:db8::/32"]).expect("valid prefixes")
}

fn any_link() -> impl Strategy<Value = LinkType> {
    prop::sample::select(ALL_LINKS.to_vec())
}

fn any_locals() -> impl Strategy<Value = LocalNets> {
    prop_oneof![
        Just(LocalNets::default()),
        Just(crafted_locals()),
        Just(LocalNets::parse(&["127.0.0.0/8", "::1/128"]).expect("valid prefixes")),
    ]
}

/// Bytes that look a little like headers more often than uniform noise would:
/// a random prefix of a real header stack, then noise with some bytes flipped.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..160),
        (
            packet(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6)
        )
            .prop_map(|(p, flips)| {
                let mut bytes = p.frame();
                for (at, value) in flips {
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        bytes[i] = value;
                    }
                }
                bytes
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic, for every link type and inbound rule, with
    /// any wire length (including ones shorter than the capture).
    #[test]
    fn never_panics_on_arbitrary_bytes(
        link in any_link(),
        locals in any_locals(),
        data in hostile_bytes(),
        wire_len in any::<u32>(),
    ) {
        let classifier = Classifier::new(link, locals);
        let _ = classifier.classify(&data, wire_len);
        let _ = classifier.classify(&data, data.len() as u32);
    }

    /// A packet built from random valid headers yields exactly their facts.
    #[test]
    fn built_packets_yield_their_header_facts(p in packet()) {
        let frame = p.frame();
        let captured = &frame[..p.captured_len(frame.len())];
        let wire_len = (frame.len() + p.trailer) as u32;
        let expected = p.expected(captured.len(), wire_len);
        for locals in [LocalNets::default(), crafted_locals()] {
            let got = Classifier::new(p.link_type(), locals).classify(captured, wire_len);
            prop_assert_eq!(got, Ok(expected), "packet {:?}", p);
        }
        // A local network that excludes the destination: the same packet is not inbound.
        let elsewhere = LocalNets::parse(&["10.0.0.0/8", "fd00::/8"]).expect("valid prefixes");
        let got = Classifier::new(p.link_type(), elsewhere).classify(captured, wire_len);
        prop_assert_eq!(got, Err(SkipReason::NotInbound));
    }

    /// A VLAN stack deeper than the bound is malformed, never walked to its end.
    #[test]
    fn too_many_vlan_tags_are_malformed(
        tags in prop::collection::vec(prop::sample::select(VLAN_TPIDS.to_vec()), MAX_VLAN_TAGS + 1..20),
        port in any::<u16>(),
    ) {
        let ip = ipv4(6, [1, 2], &tcp(port, 0x02), None, 0, 5);
        for (link, frame) in [
            (LinkType::Ethernet, ether(0x0800, &tags, &ip)),
            (LinkType::LinuxSll, sll(0x0800, &tags, &ip)),
            (LinkType::LinuxSll2, sll2(0x0800, &tags, &ip)),
        ] {
            let got = Classifier::new(link, LocalNets::default()).classify(&frame, frame.len() as u32);
            prop_assert_eq!(got, Err(SkipReason::Malformed), "{:?}", link);
        }
    }
}

/// The link layer in front of the IP header.
#[derive(Clone, Debug)]
enum Link {
    /// Ethernet II with these VLAN TPIDs.
    Ethernet(Vec<u16>),
    /// Linux SLL with these VLAN TPIDs.
    Sll(Vec<u16>),
    /// Linux SLL2 with these VLAN TPIDs.
    Sll2(Vec<u16>),
    /// LINKTYPE_RAW: the version nibble decides.
    Raw,
    /// LINKTYPE_IPV4 or LINKTYPE_IPV6, by the packet's version.
    RawVersioned,
    /// BSD NULL, family in either byte order; the IPv6 family is one of 24, 28, 30.
    Null { big_endian: bool, v6_family: u32 },
    /// OpenBSD LOOP (network byte order).
    Loop { v6_family: u32 },
}

impl Link {
    fn link_type(&self) -> LinkType {
        match self {
            Link::Ethernet(_) => LinkType::Ethernet,
            Link::Sll(_) => LinkType::LinuxSll,
            Link::Sll2(_) => LinkType::LinuxSll2,
            Link::Raw => LinkType::RawIp,
            // Fixed up by `Packet::link_type`, which knows the IP version.
            Link::RawVersioned => LinkType::RawIpv4,
            Link::Null { .. } => LinkType::Null,
            Link::Loop { .. } => LinkType::Loop,
        }
    }

    /// Bytes of link header and tags in front of the IP header.
    fn header_len(&self) -> usize {
        match self {
            Link::Ethernet(tags) => 14 + 4 * tags.len(),
            Link::Sll(tags) => 16 + 4 * tags.len(),
            Link::Sll2(tags) => 20 + 4 * tags.len(),
            Link::Raw | Link::RawVersioned => 0,
            Link::Null { .. } | Link::Loop { .. } => 4,
        }
    }

    fn wrap(&self, v6: bool, ip: &[u8]) -> Vec<u8> {
        let ethertype = if v6 { 0x86dd } else { 0x0800 };
        match self {
            Link::Ethernet(tags) => ether(ethertype, tags, ip),
            Link::Sll(tags) => sll(ethertype, tags, ip),
            Link::Sll2(tags) => sll2(ethertype, tags, ip),
            Link::Raw | Link::RawVersioned => ip.to_vec(),
            Link::Null {
                big_endian,
                v6_family,
            } => null(if v6 { *v6_family } else { 2 }, *big_endian, ip),
            Link::Loop { v6_family } => null(if v6 { *v6_family } else { 2 }, true, ip),
        }
    }
}

fn link() -> impl Strategy<Value = Link> {
    let tags = || prop::collection::vec(prop::sample::select(VLAN_TPIDS.to_vec()), 0..=MAX_VLAN_TAGS);
    let v6_family = || prop::sample::select(vec![24u32, 28, 30]);
    prop_oneof![
        tags().prop_map(Link::Ethernet),
        tags().prop_map(Link::Sll),
        tags().prop_map(Link::Sll2),
        Just(Link::Raw),
        Just(Link::RawVersioned),
        (any::<bool>(), v6_family()).prop_map(|(big_endian, v6_family)| Link::Null {
            big_endian,
            v6_family
        }),
        v6_family().prop_map(|v6_family| Link::Loop { v6_family }),
    ]
}

/// What follows the IP headers.
#[derive(Clone, Debug)]
enum Transport {
    Tcp {
        dport: u16,
        flags: u8,
    },
    Udp {
        dport: u16,
    },
    Icmp,
    /// A protocol no map looks at (and, in IPv6, not an extension header).
    Other(u8),
}

impl Transport {
    /// The protocol number; ICMP's depends on the IP version.
    fn protocol(&self, v6: bool) -> u8 {
        match self {
            Transport::Tcp { .. } => 6,
            Transport::Udp { .. } => 17,
            Transport::Icmp if v6 => 58,
            Transport::Icmp => 1,
            Transport::Other(p) => *p,
        }
    }

    fn header(&self, v6: bool) -> Vec<u8> {
        match self {
            Transport::Tcp { dport, flags } => tcp(*dport, *flags),
            Transport::Udp { dport } => udp(*dport),
            Transport::Icmp => icmp(if v6 { 128 } else { 8 }),
            Transport::Other(_) => Vec::new(),
        }
    }

    /// Size of the header the port and SYN maps need (ICMP's is never read).
    fn needed(&self) -> Option<usize> {
        match self {
            Transport::Tcp { .. } => Some(20),
            Transport::Udp { .. } => Some(8),
            Transport::Icmp | Transport::Other(_) => None,
        }
    }
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        (any::<u16>(), any::<u8>()).prop_map(|(dport, flags)| Transport::Tcp { dport, flags }),
        // SYN-only with random ECE/CWR, so the SYN maps are well exercised.
        (any::<u16>(), 0u8..4).prop_map(|(dport, ecn)| Transport::Tcp {
            dport,
            flags: 0x02 | ecn << 6
        }),
        any::<u16>().prop_map(|dport| Transport::Udp { dport }),
        Just(Transport::Icmp),
        prop::sample::select(vec![2u8, 4, 41, 47, 50, 51, 59, 89, 103, 132, 255]).prop_map(Transport::Other),
    ]
}

/// The IPv4 total length field.
#[derive(Clone, Debug)]
enum TotalLength {
    /// The real datagram length.
    Real,
    /// 0: segmentation offload; the wire length decides.
    Zero,
    /// A claimed length in `IHL * 4 ..= 65535`, shorter or longer than the bytes.
    Claimed(u16),
}

/// One IPv6 extension header.
#[derive(Clone, Debug)]
enum Extension {
    /// Hop-by-hop (0), routing (43) or destination options (60), `(len + 1) * 8` bytes.
    Options { kind: u8, len_units: u8 },
    /// A fragment header at this offset (8-byte units).
    Fragment { offset: u16, more: bool },
}

impl Extension {
    fn kind(&self) -> u8 {
        match self {
            Extension::Options { kind, .. } => *kind,
            Extension::Fragment { .. } => 44,
        }
    }

    fn bytes(&self, next: u8) -> Vec<u8> {
        match self {
            Extension::Options { len_units, .. } => ipv6_option_header(next, *len_units),
            Extension::Fragment { offset, more } => ipv6_fragment_header(next, *offset, *more),
        }
    }

    /// Captured bytes the parser needs at the header's start to step past it.
    fn needed_to_step(&self) -> usize {
        match self {
            Extension::Options { .. } => 2,
            Extension::Fragment { .. } => 8,
        }
    }
}

fn fragment_offset() -> impl Strategy<Value = u16> {
    prop_oneof![3 => Just(0u16), 1 => Just(1u16), 1 => Just(0x1fffu16), 3 => 1u16..=0x1fff]
}

fn extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        (prop::sample::select(vec![0u8, 43, 60]), 0u8..4)
            .prop_map(|(kind, len_units)| Extension::Options { kind, len_units }),
        (fragment_offset(), any::<bool>()).prop_map(|(offset, more)| Extension::Fragment { offset, more }),
    ]
}

/// The IP layer.
#[derive(Clone, Debug)]
enum Ip {
    V4 {
        ihl: u8,
        total: TotalLength,
        fragment_offset: u16,
        more_fragments: bool,
    },
    V6 {
        extensions: Vec<Extension>,
        /// A payload length other than the real one.
        claimed_payload: Option<u16>,
    },
}

fn ip() -> impl Strategy<Value = Ip> {
    let v4 = (5u8..=15, any::<u16>(), 0u8..5, fragment_offset(), any::<bool>()).prop_map(
        |(ihl, claim, which, fragment_offset, more_fragments)| {
            let min = u16::from(ihl) * 4;
            let total = match which {
                0 => TotalLength::Zero,
                // Near the header size: a tiny first fragment whose L4 header does not fit.
                1 => TotalLength::Claimed(min + claim % 32),
                2 => TotalLength::Claimed(min + claim % (u16::MAX - min + 1)),
                _ => TotalLength::Real,
            };
            Ip::V4 {
                ihl,
                total,
                fragment_offset,
                more_fragments,
            }
        },
    );
    let v6 = (
        prop::collection::vec(extension(), 0..4),
        prop::option::weighted(0.3, prop_oneof![0u16..64, any::<u16>()]),
    )
        .prop_map(|(extensions, claimed_payload)| Ip::V6 {
            extensions,
            claimed_payload,
        });
    prop_oneof![v4, v6]
}

/// A whole packet description.
#[derive(Clone, Debug)]
struct Packet {
    link: Link,
    ip: Ip,
    dst_low: [u8; 2],
    transport: Transport,
    payload: Vec<u8>,
    /// Bytes on the wire after the frame (not captured).
    trailer: usize,
    /// Where the snap length cuts, as a fraction of what follows the fixed IP header.
    snap: Option<prop::sample::Index>,
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        link(),
        ip(),
        any::<[u8; 2]>(),
        transport(),
        prop::collection::vec(any::<u8>(), 0..48),
        prop_oneof![Just(0usize), 0usize..3000],
        prop::option::weighted(0.3, any::<prop::sample::Index>()),
    )
        .prop_map(|(link, ip, dst_low, transport, payload, trailer, snap)| Packet {
            link,
            ip,
            dst_low,
            transport,
            payload,
            trailer,
            snap,
        })
}

impl Packet {
    fn is_v6(&self) -> bool {
        matches!(self.ip, Ip::V6 { .. })
    }

    /// Bytes from the IP header's start to the transport header's.
    fn ip_headers_len(&self) -> usize {
        match &self.ip {
            Ip::V4 { ihl, .. } => usize::from(*ihl) * 4,
            Ip::V6 { extensions, .. } => 40 + extensions.iter().map(|e| e.bytes(0).len()).sum::<usize>(),
        }
    }

    /// The fixed part of the IP header, which the snap length never cuts here.
    fn fixed_ip_len(&self) -> usize {
        match &self.ip {
            Ip::V4 { ihl, .. } => usize::from(*ihl) * 4,
            Ip::V6 { .. } => 40,
        }
    }

    fn ip_bytes(&self) -> Vec<u8> {
        let v6 = self.is_v6();
        let mut l4 = self.transport.header(v6);
        l4.extend_from_slice(&self.payload);
        match &self.ip {
            Ip::V4 {
                ihl,
                total,
                fragment_offset,
                more_fragments,
            } => {
                let total = match total {
                    TotalLength::Real => None,
                    TotalLength::Zero => Some(0),
                    TotalLength::Claimed(n) => Some(*n),
                };
                let frag = fragment_offset | if *more_fragments { 0x2000 } else { 0 };
                ipv4(
                    self.transport.protocol(false),
                    self.dst_low,
                    &l4,
                    total,
                    frag,
                    *ihl,
                )
            }
            Ip::V6 {
                extensions,
                claimed_payload,
            } => {
                let mut ext = Vec::new();
                for (i, e) in extensions.iter().enumerate() {
                    let next = extensions
                        .get(i + 1)
                        .map_or(self.transport.protocol(true), Extension::kind);
                    ext.extend_from_slice(&e.bytes(next));
                }
                let first = extensions
                    .first()
                    .map_or(self.transport.protocol(true), Extension::kind);
                let mut ip = ipv6_to(self.dst_low, first, &ext, &l4);
                if let Some(plen) = claimed_payload {
                    ip[4..6].copy_from_slice(&plen.to_be_bytes());
                }
                ip
            }
        }
    }

    /// The whole frame, before the snap length.
    fn frame(&self) -> Vec<u8> {
        self.link.wrap(self.is_v6(), &self.ip_bytes())
    }

    fn link_type(&self) -> LinkType {
        match (&self.link, self.is_v6()) {
            (Link::RawVersioned, true) => LinkType::RawIpv6,
            (link, _) => link.link_type(),
        }
    }

    /// Captured bytes: all of them, or cut somewhere after the fixed IP header.
    fn captured_len(&self, full: usize) -> usize {
        let keep = self.link.header_len() + self.fixed_ip_len();
        match &self.snap {
            Some(at) => keep + at.index(full - keep + 1),
            None => full,
        }
    }

    /// The facts `COUNTING.md` gives this packet when `captured` bytes of it
    /// were captured out of `wire_len`.
    fn expected(&self, captured: usize, wire_len: u32) -> PacketFacts {
        let link_len = self.link.header_len();
        let ip_captured = captured - link_len;
        let v6 = self.is_v6();
        let ip_headers = self.ip_headers_len();
        let mut facts = PacketFacts {
            dst_low16: u16::from_be_bytes(self.dst_low),
            ..PacketFacts::default()
        };
        let protocol_flag = |proto: u8| match proto {
            1 if !v6 => PacketFacts::ICMP,
            58 if v6 => PacketFacts::ICMP,
            17 => PacketFacts::UDP,
            6 => PacketFacts::TCP,
            _ => 0,
        };
        let datagram_len = match &self.ip {
            Ip::V4 { ihl, total, .. } => match total {
                TotalLength::Real => {
                    usize::from(*ihl) * 4 + self.transport.header(false).len() + self.payload.len()
                }
                TotalLength::Zero => wire_len as usize - link_len,
                TotalLength::Claimed(n) => usize::from(*n),
            },
            Ip::V6 { claimed_payload, .. } => {
                let real = ip_headers - 40 + self.transport.header(true).len() + self.payload.len();
                40 + claimed_payload.map_or(real, usize::from)
            }
        };
        facts.length = datagram_len.min(65_535) as u16;
        match &self.ip {
            Ip::V4 { fragment_offset, .. } if *fragment_offset != 0 => {
                facts.flags = protocol_flag(self.transport.protocol(false));
                return facts;
            }
            Ip::V4 { .. } => {}
            Ip::V6 { extensions, .. } => {
                let mut at = 40;
                for (i, e) in extensions.iter().enumerate() {
                    if ip_captured < at + e.needed_to_step() {
                        return facts; // the walk runs past the captured bytes: all/len only
                    }
                    if let Extension::Fragment { offset, .. } = e
                        && *offset != 0
                    {
                        let next = extensions
                            .get(i + 1)
                            .map_or(self.transport.protocol(true), Extension::kind);
                        facts.flags = protocol_flag(next);
                        return facts;
                    }
                    at += e.bytes(0).len();
                }
                if let Transport::Other(_) = self.transport {
                    return facts; // an unknown header ends the walk
                }
                if ip_captured < ip_headers {
                    return facts;
                }
            }
        }
        facts.flags = protocol_flag(self.transport.protocol(v6));
        if let (Some(needed), Transport::Tcp { dport, .. } | Transport::Udp { dport }) =
            (self.transport.needed(), &self.transport)
        {
            let captured_l4 = ip_captured.saturating_sub(ip_headers);
            let room = datagram_len.saturating_sub(ip_headers);
            if captured_l4 >= needed && room >= needed {
                facts.flags |= PacketFacts::L4_PRESENT;
                facts.port = *dport;
                if let Transport::Tcp { flags, .. } = self.transport
                    && flags & 0x3f == 0x02
                {
                    facts.flags |= PacketFacts::SYN_ONLY;
                }
            }
        }
        facts
    }
}

/// The property's own sanity: one packet of each kind, checked by hand, so a
/// wrong model cannot pass by agreeing with a wrong parser everywhere.
#[test]
fn model_agrees_with_hand_checked_packets() {
    let syn = Packet {
        link: Link::Ethernet(vec![0x8100]),
        ip: Ip::V4 {
            ihl: 5,
            total: TotalLength::Real,
            fragment_offset: 0,
            more_fragments: false,
        },
        dst_low: [37, 200],
        transport: Transport::Tcp {
            dport: 8080,
            flags: 0x02,
        },
        payload: Vec::new(),
        trailer: 0,
        snap: None,
    };
    let facts = syn.expected(syn.frame().len(), syn.frame().len() as u32);
    assert_eq!(
        facts,
        PacketFacts {
            dst_low16: 37 * 256 + 200,
            length: 40,
            port: 8080,
            flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
        }
    );
    let later_fragment = Packet {
        link: Link::Null {
            big_endian: false,
            v6_family: 30,
        },
        ip: Ip::V6 {
            extensions: vec![Extension::Fragment {
                offset: 3,
                more: false,
            }],
            claimed_payload: None,
        },
        dst_low: [0x12, 0x34],
        transport: Transport::Udp { dport: 53 },
        payload: vec![0; 4],
        trailer: 0,
        snap: None,
    };
    let frame = later_fragment.frame();
    let facts = later_fragment.expected(frame.len(), frame.len() as u32);
    assert_eq!(
        facts,
        PacketFacts {
            dst_low16: 0x1234,
            length: 40 + 8 + 8 + 4,
            port: 0,
            flags: PacketFacts::UDP,
        }
    );
    let got = Classifier::new(LinkType::Null, LocalNets::default()).classify(&frame, frame.len() as u32);
    assert_eq!(got, Ok(facts));
}
