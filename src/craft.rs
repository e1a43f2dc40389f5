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
    for &tpid in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0, 5]);
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv6 packet from 2001:db9::1 to 2001:db8::1234 with extension bytes `ext`.
pub fn ipv6(next: u8, ext: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut ip = vec![0u8; 40];
    ip[0] = 0x60;
    let plen = (ext.len() + payload.len()) as u16;
    ip[4..6].copy_from_slice(&plen.to_be_bytes());
    ip[6] = next;
    ip[8..24].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ip[24..40].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34]);
    ip.extend_from_slice(ext);
    ip.extend_from_slice(payload);
    ip
}
