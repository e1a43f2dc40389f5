//! IPv6 header, extension-header walk and facts (`COUNTING.md`, "IPv6").

use super::bytes::{be16, be32};
use super::{ICMP_V6, LocalNets, PacketFacts, SkipReason, add_protocol, add_transport};

const FIXED_HEADER: usize = 40;
mod field {
    pub const PAYLOAD_LENGTH: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DESTINATION_OPTIONS: u8 = 60;
const FRAGMENT_HEADER: usize = 8;

fn address(ip: &[u8], at: usize) -> u128 {
    let hi = u128::from(be32(ip, at)) << 96 | u128::from(be32(ip, at + 4)) << 64;
    hi | u128::from(be32(ip, at + 8)) << 32 | u128::from(be32(ip, at + 12))
}

/// Facts of the IPv6 packet starting at `ip`.
#[inline]
pub(super) fn facts(ip: &[u8], locals: &LocalNets) -> Result<PacketFacts, SkipReason> {
    if ip.len() < FIXED_HEADER || ip[0] >> 4 != 6 {
        return Err(SkipReason::Malformed);
    }
    let dst_low16 = be16(ip, field::DST + 14);
    if !locals.is_empty() && !locals.inbound_v6(address(ip, field::SRC), address(ip, field::DST)) {
        return Err(SkipReason::NotInbound);
    }
    let datagram_len = usize::from(be16(ip, field::PAYLOAD_LENGTH)) + FIXED_HEADER;
    let mut facts = PacketFacts {
        dst_low16,
        length: datagram_len.min(65_535) as u16,
        port: 0,
        flags: 0,
    };
    let mut next = ip[field::NEXT_HEADER];
    let mut offset = FIXED_HEADER;
    loop {
        match next {
            HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS => {
                let Some(&[following, ext_len]) = ip.get(offset..offset + 2) else {
                    return Ok(facts); // ran past the captured bytes: all/len only
                };
                next = following;
                offset += (usize::from(ext_len) + 1) * 8;
            }
            FRAGMENT => {
                if ip.len() < offset + FRAGMENT_HEADER {
                    return Ok(facts);
                }
                next = ip[offset];
                let fragment_offset = be16(ip, offset + 2) >> 3;
                offset += FRAGMENT_HEADER;
                if fragment_offset != 0 {
                    // A later fragment: no transport header, counted by protocol only.
                    add_protocol(&mut facts, next, ICMP_V6);
                    return Ok(facts);
                }
            }
            6 | 17 | 58 => {
                if offset > ip.len() {
                    return Ok(facts);
                }
                let room = datagram_len.saturating_sub(offset);
                add_transport(&mut facts, next, ICMP_V6, &ip[offset..], room);
                return Ok(facts);
            }
            _ => return Ok(facts), // unknown header ends the walk: all/len only
        }
    }
}
