//! Hand-built packets: the byte fixtures of the parser's tests, the end-to-end
//! tests' captures and the benchmarks' generated input all come from here, so a
//! packet layout is written once.
//!
//! Addresses: source 198.51.100.7, destination 192.0.2.x (documentation
//! prefixes; these frames only ever go into files and memory, never onto a wire),
//! and 2001:db9::1 -> 2001:db8::1234 for IPv6.

/// IPv4 source of crafted packets.
pub const SRC: [u8; 4] = [198, 51, 100, 7];
/// IPv4 destination of crafted packets; the low two octets are given per packet.
pub const DST: [u8; 4] = [192, 0, 2, 0];

/// An IPv4 packet: protocol, destination low octets, L4 bytes, total length
/// (default: the real one), fragment field (flags and offset) and IHL.
pub fn ipv4(proto: u8, dst_low: [u8; 2], l4: &[u8], total_len: Option<u16>, frag: u16, ihl: u8) -> Vec<u8> {
    let header_len = usize::from(ihl) * 4;
    let mut ip = vec![0u8; header_len];
    ip[0] = 0x40 | ihl;
    let total = total_len.unwrap_or((header_len + l4.len()) as u16);
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&SRC);
    ip[16..18].copy_from_slice(&DST[..2]);
    ip[18..20].copy_from_slice(&dst_low);
    ip.extend_from_slice(l4);
    ip
}

/// A 20-byte TCP header to `dport` with `flags`.
pub fn tcp(dport: u16, flags: u8) -> Vec<u8> {
    let mut t = vec![0u8; 20];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&dport.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t
}

/// An 8-byte UDP header to `dport`.
pub fn udp(dport: u16) -> Vec<u8> {
    let mut u = vec![0u8; 8];
    u[2..4].copy_from_slice(&dport.to_be_bytes());
    u
}

/// An Ethernet frame with VLAN `tags` (TPIDs) before `ethertype`.
pub fn ether(ethertype: u16, tags: &[u16], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    push_tags(&mut f, ethertype, tags, payload);
    f
}

/// An IPv6 packet from 2001:db9::1 to 2001:db8::1234 with extension bytes `ext`.
pub fn ipv6(next: u8, ext: &[u8], payload: &[u8]) -> Vec<u8> {
    ipv6_to([0x12, 0x34], next, ext, payload)
}

/// An IPv6 packet from 2001:db9::1 to 2001:db8:: with the low two bytes
/// `dst_low`, extension bytes `ext` and `payload`; the payload length is the real one.
pub fn ipv6_to(dst_low: [u8; 2], next: u8, ext: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; 40];
    ip[0] = 0x60;
    let plen = (ext.len() + payload.len()) as u16;
    ip[4..6].copy_from_slice(&plen.to_be_bytes());
    ip[6] = next;
    ip[8..24].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ip[24..38].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    ip[38..40].copy_from_slice(&dst_low);
    ip.extend_from_slice(ext);
    ip.extend_from_slice(payload);
    ip
}

/// An 8-byte ICMP (or ICMPv6) header of `kind` (8 = echo request, 128 = ICMPv6 echo).
pub fn icmp(kind: u8) -> Vec<u8> {
    let mut i = vec![0u8; 8];
    i[0] = kind;
    i
}

/// A Linux cooked (SLL, linktype 113) frame: 14 bytes of packet type and
/// address, VLAN `tags` (TPIDs), then `protocol` and `payload` (the layout of
/// [`ether`] after its addresses).
pub fn sll(protocol: u16, tags: &[u16], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[2..4].copy_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f[4..6].copy_from_slice(&6u16.to_be_bytes()); // address length
    push_tags(&mut f, protocol, tags, payload);
    f
}

/// A Linux cooked v2 (SLL2, linktype 276) frame: the protocol field comes first
/// (the first TPID when tagged), the tags' TCI and inner type after the 20-byte header.
pub fn sll2(protocol: u16, tags: &[u16], payload: &[u8]) -> Vec<u8> {
    let mut f = tags.first().copied().unwrap_or(protocol).to_be_bytes().to_vec();
    f.extend_from_slice(&[0u8; 18]);
    f[8..10].copy_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    for i in 0..tags.len() {
        f.extend_from_slice(&[0, 5]);
        f.extend_from_slice(&tags.get(i + 1).copied().unwrap_or(protocol).to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

/// Appends each VLAN tag (TPID, TCI), the `ethertype` and `payload`.
fn push_tags(f: &mut Vec<u8>, ethertype: u16, tags: &[u16], payload: &[u8]) {
    for &tpid in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0, 5]);
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
}

/// A BSD loopback frame: 4-byte address `family` (2 = IPv4; 24, 28, 30 = IPv6),
/// big-endian for LINKTYPE_LOOP, either order for LINKTYPE_NULL.
pub fn null(family: u32, big_endian: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = if big_endian {
        family.to_be_bytes().to_vec()
    } else {
        family.to_le_bytes().to_vec()
    };
    f.extend_from_slice(payload);
    f
}

/// An IPv6 hop-by-hop (0), routing (43) or destination-options (60) extension
/// header announcing `next`, `(len_units + 1) * 8` bytes long (PadN-filled).
pub fn ipv6_option_header(next: u8, len_units: u8) -> Vec<u8> {
    let mut h = vec![0u8; (usize::from(len_units) + 1) * 8];
    h[0] = next;
    h[1] = len_units;
    h[2] = 1; // PadN over the rest
    h[3] = (h.len() - 4) as u8;
    h
}

/// An IPv6 fragment header (44) announcing `next`, at fragment `offset` (in
/// 8-byte units, 13 bits) with the more-fragments flag `more`.
pub fn ipv6_fragment_header(next: u8, offset: u16, more: bool) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    h[0] = next;
    let field = (offset & 0x1fff) << 3 | u16::from(more);
    h[2..4].copy_from_slice(&field.to_be_bytes());
    h[4..8].copy_from_slice(&0x5ca1_ab1eu32.to_be_bytes());
    h
}
