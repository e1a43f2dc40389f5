//! Link layers: where the IP header starts in a captured frame.

use super::SkipReason;
use super::bytes::{be16, be32, le32};

/// The link types scanwall reads (`COUNTING.md`, "Link layer"), by pcap LINKTYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113): Linux "any" device cooked capture.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276).
    LinuxSll2,
    /// LINKTYPE_RAW (101): the version nibble decides.
    RawIp,
    /// LINKTYPE_IPV4 (228).
    RawIpv4,
    /// LINKTYPE_IPV6 (229).
    RawIpv6,
    /// LINKTYPE_NULL (0): BSD loopback, address family in host byte order.
    Null,
    /// LINKTYPE_LOOP (108): OpenBSD loopback, address family in network byte order.
    Loop,
}

impl LinkType {
    /// Every link type scanwall reads (tests and fuzzing walk them all).
    pub const ALL: [LinkType; 8] = [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::RawIpv4,
        LinkType::RawIpv6,
        LinkType::Null,
        LinkType::Loop,
    ];

    /// Maps a pcap LINKTYPE number; `None` for link types scanwall does not read.
    pub fn from_linktype(value: u32) -> Option<Self> {
        Some(match value {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 => LinkType::RawIp,
            228 => LinkType::RawIpv4,
            229 => LinkType::RawIpv6,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            _ => return None,
        })
    }

    /// The pcap LINKTYPE number, for writing captures and for BPF compilation.
    pub fn linktype(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::RawIp => 101,
            LinkType::RawIpv4 => 228,
            LinkType::RawIpv6 => 229,
            LinkType::Null => 0,
            LinkType::Loop => 108,
        }
    }

    /// The names of all supported link types, for error messages.
    pub const SUPPORTED: &'static str = "Ethernet (1), Linux SLL (113), Linux SLL2 (276), raw IP (101, 228, 229), \
         BSD NULL (0), LOOP (108)";
}

/// Where the network layer is and which IP version it claims.
pub(super) enum Network<'a> {
    Ipv4(&'a [u8]),
    Ipv6(&'a [u8]),
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// Deepest VLAN stack walked; deeper stacks are malformed (they would only be an attack).
const MAX_VLAN_TAGS: usize = 8;
const ETHERNET_HEADER: usize = 14;
const SLL_HEADER: usize = 16;
const SLL2_HEADER: usize = 20;
const NULL_HEADER: usize = 4;
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Finds the IP header in `frame`; returns it with the length of the link
/// header and tags in front of it.
#[inline(always)]
pub(super) fn network_layer(link: LinkType, frame: &[u8]) -> Result<(Network<'_>, usize), SkipReason> {
    match link {
        LinkType::Ethernet => after_ethertype(frame, ETHERNET_HEADER, 12),
        LinkType::LinuxSll => after_ethertype(frame, SLL_HEADER, 14),
        LinkType::LinuxSll2 => after_ethertype(frame, SLL2_HEADER, 0),
        LinkType::RawIp => match frame.first().map(|b| b >> 4) {
            Some(4) => Ok((Network::Ipv4(frame), 0)),
            Some(6) => Ok((Network::Ipv6(frame), 0)),
            _ => Err(SkipReason::Malformed),
        },
        LinkType::RawIpv4 => Ok((Network::Ipv4(frame), 0)),
        LinkType::RawIpv6 => Ok((Network::Ipv6(frame), 0)),
        LinkType::Null | LinkType::Loop => {
            if frame.len() < NULL_HEADER {
                return Err(SkipReason::Malformed);
            }
            let family = if link == LinkType::Loop {
                be32(frame, 0)
            } else {
                // NULL is in the capturing host's byte order: accept either.
                let le = le32(frame, 0);
                if le <= 0xffff { le } else { be32(frame, 0) }
            };
            let ip = &frame[NULL_HEADER..];
            if family == AF_INET {
                Ok((Network::Ipv4(ip), NULL_HEADER))
            } else if AF_INET6.contains(&family) {
                Ok((Network::Ipv6(ip), NULL_HEADER))
            } else {
                Err(SkipReason::NotIp)
            }
        }
    }
}

/// Reads the ethertype at `type_at`, walks VLAN tags after a `header`-byte link
/// header, and checks the IP version nibble against the ethertype.
#[inline(always)]
fn after_ethertype(frame: &[u8], header: usize, type_at: usize) -> Result<(Network<'_>, usize), SkipReason> {
    if frame.len() < header {
        return Err(SkipReason::Malformed);
    }
    let mut ethertype = be16(frame, type_at);
    let mut offset = header;
    let mut tags = 0;
    while VLAN_TPIDS.contains(&ethertype) {
        tags += 1;
        if tags > MAX_VLAN_TAGS || frame.len() < offset + 4 {
            return Err(SkipReason::Malformed);
        }
        ethertype = be16(frame, offset + 2);
        offset += 4;
    }
    let ip = &frame[offset..];
    let version = ip.first().map(|b| b >> 4);
    match ethertype {
        ETHERTYPE_IPV4 if version == Some(4) => Ok((Network::Ipv4(ip), offset)),
        ETHERTYPE_IPV6 if version == Some(6) => Ok((Network::Ipv6(ip), offset)),
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Err(SkipReason::Malformed),
        _ => Err(SkipReason::NotIp),
    }
}
