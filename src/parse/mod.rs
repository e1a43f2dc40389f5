//! From hostile packet bytes to the few header facts the maps need.
//!
//! Scanners write these bytes, so every read is bounds-checked, nothing panics and
//! nothing allocates. The rules are `COUNTING.md`'s, to the packet. A packet either
//! yields [`PacketFacts`] or the [`SkipReason`] it was not counted for.

use std::net::IpAddr;

pub(crate) mod bytes;
mod ipv4;
mod ipv6;
mod link;
mod local;

pub use link::LinkType;
pub use local::{LocalNets, ParseCidrError, parse_prefix};

/// Why a packet landed in no map. Each reason is counted and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// ARP, LLDP, 802.3 frames and any other non-IP link payload.
    NotIp,
    /// Too short or inconsistent headers: an IP header that cannot be trusted.
    Malformed,
    /// A well-formed IP packet whose destination is not local, or whose source is.
    NotInbound,
    /// Dropped by scanwall itself before counting (overload shedding, BPF on files).
    Filtered,
}

impl SkipReason {
    /// Every reason, in the order of their counters.
    pub const ALL: [SkipReason; 4] = [
        SkipReason::NotIp,
        SkipReason::Malformed,
        SkipReason::NotInbound,
        SkipReason::Filtered,
    ];

    /// Stable name used in JSON output and metrics.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::NotIp => "not_ip",
            SkipReason::Malformed => "malformed",
            SkipReason::NotInbound => "not_inbound",
            SkipReason::Filtered => "filtered",
        }
    }

    /// Index of this reason's counter.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The header facts of one counted (inbound, well-formed) IP packet.
///
/// Only what the maps need, kept small so the counting loop stays in registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketFacts {
    /// Destination address, low 16 bits.
    pub dst_low16: u16,
    /// Datagram length as the `len` map counts it (saturated at 65535).
    pub length: u16,
    /// Destination port, meaningful only with [`PacketFacts::L4_PRESENT`].
    pub port: u16,
    /// Bit set of `ICMP`, `UDP`, `TCP`, `L4_PRESENT`, `SYN_ONLY`.
    pub flags: u8,
}

impl PacketFacts {
    /// IPv4 protocol 1 or IPv6 next header 58.
    pub const ICMP: u8 = 1;
    /// Protocol 17.
    pub const UDP: u8 = 2;
    /// Protocol 6.
    pub const TCP: u8 = 4;
    /// The minimal TCP/UDP header was captured and lies inside the datagram.
    pub const L4_PRESENT: u8 = 8;
    /// TCP header present with only SYN set among FIN SYN RST PSH ACK URG.
    pub const SYN_ONLY: u8 = 16;

    /// Counts in the ICMP map.
    #[inline(always)]
    pub fn is_icmp(&self) -> bool {
        self.flags & Self::ICMP != 0
    }

    /// Counts in the UDP map.
    #[inline(always)]
    pub fn is_udp(&self) -> bool {
        self.flags & Self::UDP != 0
    }

    /// Counts in the SYN maps.
    #[inline(always)]
    pub fn is_syn_only(&self) -> bool {
        self.flags & Self::SYN_ONLY != 0
    }

    /// The destination port when a TCP or UDP header is present.
    #[inline(always)]
    pub fn dst_port(&self) -> Option<u16> {
        (self.flags & Self::L4_PRESENT != 0).then_some(self.port)
    }
}

/// Turns captured frames of one link type into [`PacketFacts`].
#[derive(Clone, Debug)]
pub struct Classifier {
    link: LinkType,
    locals: LocalNets,
}

impl Classifier {
    /// A classifier for frames of `link`, counting packets inbound to `locals`.
    pub fn new(link: LinkType, locals: LocalNets) -> Self {
        Self { link, locals }
    }

    /// The link type this classifier reads.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Classifies one captured frame: `data` is what was captured, `wire_len` the
    /// original length on the wire (needed for segmentation-offload zero lengths).
    #[inline(always)]
    pub fn classify(&self, data: &[u8], wire_len: u32) -> Result<PacketFacts, SkipReason> {
        let (network, link_len) = link::network_layer(self.link, data)?;
        let datagram_on_wire = wire_len.saturating_sub(link_len as u32);
        match network {
            link::Network::Ipv4(ip) => ipv4::facts(ip, datagram_on_wire, &self.locals),
            link::Network::Ipv6(ip) => ipv6::facts(ip, &self.locals),
        }
    }
    /// The source and destination addresses of a frame this classifier
    /// counted: what event attribution records of the few packets it samples
    /// ([`crate::events::Sampler`]). Kept out of [`PacketFacts`], which the
    /// counting loop carries for every packet. `None` for a frame that is not
    /// IP or too short to hold the addresses.
    #[cold]
    pub fn addresses(&self, data: &[u8]) -> Option<(IpAddr, IpAddr)> {
        let (network, _) = link::network_layer(self.link, data).ok()?;
        match network {
            link::Network::Ipv4(ip) => {
                let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
                let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
                Some((IpAddr::from(src), IpAddr::from(dst)))
            }
            link::Network::Ipv6(ip) => {
                let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
                let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
                Some((IpAddr::from(src), IpAddr::from(dst)))
            }
        }
    }
}

/// TCP flags that decide "SYN only": FIN SYN RST PSH ACK URG (ECE and CWR ignored).
const TCP_FLAG_MASK: u8 = 0x3f;
/// The SYN bit.
const TCP_SYN: u8 = 0x02;
/// Minimal TCP header.
const TCP_HEADER: usize = 20;
/// UDP header.
const UDP_HEADER: usize = 8;

/// Fills the L4 part of `facts` for protocol `proto` (ICMP being `icmp`) whose header starts at
/// `l4` (captured bytes) when `room` bytes of datagram remain after the IP headers.
/// Called only for first fragments.
#[inline(always)]
fn add_transport(facts: &mut PacketFacts, proto: u8, icmp: u8, l4: &[u8], room: usize) {
    match proto {
        6 => {
            facts.flags |= PacketFacts::TCP;
            if l4.len() >= TCP_HEADER && room >= TCP_HEADER {
                facts.flags |= PacketFacts::L4_PRESENT;
                facts.port = bytes::be16(l4, 2);
                if l4[13] & TCP_FLAG_MASK == TCP_SYN {
                    facts.flags |= PacketFacts::SYN_ONLY;
                }
            }
        }
        17 => {
            facts.flags |= PacketFacts::UDP;
            if l4.len() >= UDP_HEADER && room >= UDP_HEADER {
                facts.flags |= PacketFacts::L4_PRESENT;
                facts.port = bytes::be16(l4, 2);
            }
        }
        _ => add_protocol(facts, proto, icmp),
    }
}

/// Marks the protocol alone (later fragments, truncated headers): ICMP and UDP
/// still count by protocol number. `icmp` is the family's ICMP number (1 or 58).
#[inline(always)]
fn add_protocol(facts: &mut PacketFacts, proto: u8, icmp: u8) {
    if proto == icmp {
        facts.flags |= PacketFacts::ICMP;
    } else if proto == 17 {
        facts.flags |= PacketFacts::UDP;
    } else if proto == 6 {
        facts.flags |= PacketFacts::TCP;
    }
}

/// ICMP's protocol number in IPv4.
const ICMP_V4: u8 = 1;
/// ICMPv6's next-header number.
const ICMP_V6: u8 = 58;

#[cfg(test)]
mod tests;
