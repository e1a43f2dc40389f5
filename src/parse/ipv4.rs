//! IPv4 header checks and facts (`COUNTING.md`, "IPv4 header").

use super::bytes::{be16, be32};
use super::{ICMP_V4, LocalNets, PacketFacts, SkipReason, add_protocol, add_transport};

const MIN_HEADER: usize = 20;
mod field {
    pub const TOTAL_LENGTH: usize = 2;
    pub const FRAGMENT: usize = 6;
    pub const PROTOCOL: usize = 9;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}
const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;

/// Facts of the IPv4 packet starting at `ip`; `datagram_on_wire` is the wire
/// length minus link header and tags, used when the total length is 0 (offload).
#[inline(always)]
pub(super) fn facts(ip: &[u8], datagram_on_wire: u32, locals: &LocalNets) -> Result<PacketFacts, SkipReason> {
    if ip.len() < MIN_HEADER || ip[0] >> 4 != 4 {
        return Err(SkipReason::Malformed);
    }
    let header_len = usize::from(ip[0] & 0x0f) * 4;
    if header_len < MIN_HEADER || ip.len() < header_len {
        return Err(SkipReason::Malformed);
    }
    let total_length = usize::from(be16(ip, field::TOTAL_LENGTH));
    if total_length != 0 && total_length < header_len {
        return Err(SkipReason::Malformed);
    }
    let datagram_len = if total_length == 0 {
        datagram_on_wire as usize
    } else {
        total_length
    };
    let dst = be32(ip, field::DST);
    if !locals.inbound_v4(be32(ip, field::SRC), dst) {
        return Err(SkipReason::NotInbound);
    }
    let mut facts = PacketFacts {
        dst_low16: dst as u16,
        length: datagram_len.min(65_535) as u16,
        port: 0,
        flags: 0,
    };
    let protocol = ip[field::PROTOCOL];
    if be16(ip, field::FRAGMENT) & FRAGMENT_OFFSET_MASK == 0 {
        let room = datagram_len.saturating_sub(header_len);
        add_transport(&mut facts, protocol, ICMP_V4, &ip[header_len..], room);
    } else {
        add_protocol(&mut facts, protocol, ICMP_V4);
    }
    Ok(facts)
}
