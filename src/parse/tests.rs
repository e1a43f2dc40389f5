//! Hand-made packets for every link type, header check, filter and key of
//! `COUNTING.md`.

use super::*;
use crate::craft::{ether, ipv4, ipv6, tcp, udp};

fn classify(link: LinkType, frame: &[u8]) -> Result<PacketFacts, SkipReason> {
    Classifier::new(link, LocalNets::default()).classify(frame, frame.len() as u32)
}

/// Every map cell the facts land in: (map name, key).
fn cells(facts: &PacketFacts) -> Vec<(&'static str, u16)> {
    crate::maps::MAPS
        .iter()
        .filter_map(|m| m.cell(facts).map(|k| (m.name, k)))
        .collect()
}

#[test]
fn tcp_syn_lands_in_all_syn_and_port_maps() {
    let f = classify(
        LinkType::Ethernet,
        &ether(0x0800, &[], &ipv4(6, [37, 200], &tcp(8080, 0x02), None, 0, 5)),
    )
    .unwrap();
    let key = 37 * 256 + 200;
    assert_eq!(
        cells(&f),
        [
            ("all", key),
            ("syn", key),
            ("port", 8080),
            ("synport", 8080),
            ("addrport", (8080 & 255) << 8 | 200),
            ("synaddrport", (8080 & 255) << 8 | 200),
            ("len", 40)
        ]
    );
}

#[test]
fn syn_only_ignores_ece_and_cwr_but_not_ack() {
    let frame = |flags| ether(0x0800, &[], &ipv4(6, [1, 2], &tcp(22, flags), None, 0, 5));
    for flags in [0x02, 0x42, 0x82, 0xc2] {
        assert!(
            classify(LinkType::Ethernet, &frame(flags)).unwrap().is_syn_only(),
            "{flags:#x}"
        );
    }
    for flags in [0x12, 0x03, 0x06, 0x0a, 0x22, 0x10, 0x00] {
        let f = classify(LinkType::Ethernet, &frame(flags)).unwrap();
        assert!(!f.is_syn_only(), "{flags:#x}");
        assert_eq!(f.dst_port(), Some(22));
    }
}

#[test]
fn udp_and_icmp_maps() {
    let u = classify(LinkType::RawIp, &ipv4(17, [9, 9], &udp(53), None, 0, 5)).unwrap();
    assert_eq!(
        cells(&u),
        [
            ("all", 0x0909),
            ("udp", 0x0909),
            ("port", 53),
            ("addrport", 53 << 8 | 9),
            ("len", 28)
        ]
    );
    let i = classify(
        LinkType::RawIpv4,
        &ipv4(1, [3, 4], &[8, 0, 0, 0, 0, 0, 0, 0], None, 0, 5),
    )
    .unwrap();
    assert_eq!(cells(&i), [("icmp", 0x0304), ("all", 0x0304), ("len", 28)]);
    // An ICMP error quotes a header: it counts only as ICMP.
    let mut quoted = vec![3, 3, 0, 0, 0, 0, 0, 0];
    quoted.extend(ipv4(6, [5, 5], &tcp(80, 0x02), None, 0, 5));
    let e = classify(LinkType::RawIp, &ipv4(1, [3, 4], &quoted, None, 0, 5)).unwrap();
    assert_eq!(cells(&e), [("icmp", 0x0304), ("all", 0x0304), ("len", 68)]);
}

#[test]
fn ipv4_header_checks_are_malformed() {
    let good = ipv4(6, [1, 1], &tcp(80, 2), None, 0, 5);
    let mut v = good.clone();
    v[0] = 0x55; // version 5
    assert_eq!(classify(LinkType::RawIpv4, &v), Err(SkipReason::Malformed));
    let mut v = good.clone();
    v[0] = 0x44; // IHL 4
    assert_eq!(classify(LinkType::RawIpv4, &v), Err(SkipReason::Malformed));
    // IHL 15 but only 40 bytes captured.
    let mut v = good.clone();
    v[0] = 0x4f;
    assert_eq!(classify(LinkType::RawIpv4, &v), Err(SkipReason::Malformed));
    // 0 < total length < IHL * 4.
    let v = ipv4(6, [1, 1], &tcp(80, 2), Some(19), 0, 5);
    assert_eq!(classify(LinkType::RawIpv4, &v), Err(SkipReason::Malformed));
    assert_eq!(
        classify(LinkType::RawIpv4, &good[..19]),
        Err(SkipReason::Malformed)
    );
    // Ethertype IPv4 carrying version 6 is malformed.
    let mut v6 = vec![0x60; 40];
    v6[0] = 0x60;
    assert_eq!(
        classify(LinkType::Ethernet, &ether(0x0800, &[], &v6)),
        Err(SkipReason::Malformed)
    );
    assert_eq!(
        classify(LinkType::Ethernet, &ether(0x86dd, &[], &good)),
        Err(SkipReason::Malformed)
    );
    // Raw IP with neither version.
    assert_eq!(classify(LinkType::RawIp, &[0x50; 40]), Err(SkipReason::Malformed));
    assert_eq!(classify(LinkType::RawIp, &[]), Err(SkipReason::Malformed));
}

#[test]
fn ip_options_move_the_transport_header() {
    let mut l4 = vec![1u8; 8]; // 8 bytes of options (IHL 7)
    l4.extend(tcp(443, 2));
    let mut ip = ipv4(6, [2, 3], &[], Some(28 + 20), 0, 5);
    ip[0] = 0x47;
    ip.extend(&l4);
    let f = classify(LinkType::RawIp, &ip).unwrap();
    assert_eq!(f.dst_port(), Some(443));
    assert!(f.is_syn_only());
    assert_eq!(f.length, 48);
}

#[test]
fn zero_total_length_uses_the_wire_length() {
    let ip = ipv4(6, [1, 1], &tcp(80, 0x10), Some(0), 0, 5);
    let frame = ether(0x0800, &[0x8100], &ip);
    let c = Classifier::new(LinkType::Ethernet, LocalNets::default());
    // Offload: 9014 bytes on the wire, 18 of them Ethernet + one VLAN tag.
    let f = c.classify(&frame, 9014).unwrap();
    assert_eq!(f.length, 8996);
    assert_eq!(f.dst_port(), Some(80));
}

#[test]
fn fragments_and_truncation_keep_protocol_maps_only() {
    // A later fragment of UDP: all, len, udp; no port.
    let later = classify(LinkType::RawIp, &ipv4(17, [4, 4], &udp(53), None, 0x00b9, 5)).unwrap();
    assert_eq!(cells(&later), [("all", 0x0404), ("udp", 0x0404), ("len", 28)]);
    // A later TCP fragment: no SYN, no port.
    let later = classify(LinkType::RawIp, &ipv4(6, [4, 4], &tcp(80, 2), None, 0x2001, 5)).unwrap();
    assert_eq!(cells(&later), [("all", 0x0404), ("len", 40)]);
    // The first fragment (MF set, offset 0) has its header.
    let first = classify(LinkType::RawIp, &ipv4(6, [4, 4], &tcp(80, 2), None, 0x2000, 5)).unwrap();
    assert!(first.is_syn_only());
    // Snap length cut the TCP header.
    let ip = ipv4(6, [4, 4], &tcp(80, 2), None, 0, 5);
    let c = Classifier::new(LinkType::RawIp, LocalNets::default());
    let cut = c.classify(&ip[..30], 40).unwrap();
    assert_eq!(cells(&cut), [("all", 0x0404), ("len", 40)]);
    // The datagram is too short to hold a TCP header, though bytes were captured.
    let short = classify(LinkType::RawIp, &ipv4(6, [4, 4], &tcp(80, 2), Some(30), 0, 5)).unwrap();
    assert_eq!(short.dst_port(), None);
    let short_udp = classify(LinkType::RawIp, &ipv4(17, [4, 4], &udp(53), Some(27), 0, 5)).unwrap();
    assert_eq!(cells(&short_udp), [("all", 0x0404), ("udp", 0x0404), ("len", 27)]);
}

#[test]
fn non_ip_frames_are_not_ip() {
    let arp = ether(0x0806, &[], &[0u8; 28]);
    assert_eq!(classify(LinkType::Ethernet, &arp), Err(SkipReason::NotIp));
    let llc = ether(0x0040, &[], &[0xaa, 0xaa, 3, 0, 0, 0, 8, 0]);
    assert_eq!(classify(LinkType::Ethernet, &llc), Err(SkipReason::NotIp));
    assert_eq!(
        classify(LinkType::Ethernet, &[0u8; 10]),
        Err(SkipReason::Malformed)
    );
}

#[test]
fn vlan_tags_are_walked_to_a_bound() {
    let ip = ipv4(17, [7, 7], &udp(123), None, 0, 5);
    for tags in [&[0x8100][..], &[0x88a8, 0x8100], &[0x9100, 0x9100, 0x8100]] {
        let f = classify(LinkType::Ethernet, &ether(0x0800, tags, &ip)).unwrap();
        assert_eq!(f.dst_port(), Some(123), "{tags:?}");
    }
    let deep = ether(0x0800, &[0x8100; 9], &ip);
    assert_eq!(classify(LinkType::Ethernet, &deep), Err(SkipReason::Malformed));
    // A tag cut short.
    let mut cut = vec![0u8; 12];
    cut.extend_from_slice(&[0x81, 0x00, 0]);
    assert_eq!(classify(LinkType::Ethernet, &cut), Err(SkipReason::Malformed));
}

#[test]
fn linux_cooked_captures() {
    let ip = ipv4(6, [8, 1], &tcp(25, 2), None, 0, 5);
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&ip);
    assert_eq!(classify(LinkType::LinuxSll, &sll).unwrap().dst_port(), Some(25));
    let mut sll_vlan = vec![0u8; 14];
    sll_vlan.extend_from_slice(&[0x81, 0x00, 0, 1, 0x08, 0x00]);
    sll_vlan.extend_from_slice(&ip);
    assert_eq!(
        classify(LinkType::LinuxSll, &sll_vlan).unwrap().dst_port(),
        Some(25)
    );
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(&ip);
    assert_eq!(classify(LinkType::LinuxSll2, &sll2).unwrap().dst_port(), Some(25));
    let c = Classifier::new(LinkType::LinuxSll2, LocalNets::default());
    // Offload length accounts for the 20-byte SLL2 header.
    let mut zero = sll2.clone();
    zero[22..24].copy_from_slice(&[0, 0]);
    assert_eq!(c.classify(&zero, 1020).unwrap().length, 1000);
}

#[test]
fn bsd_loopback_families() {
    let ip4 = ipv4(1, [0, 1], &[8; 8], None, 0, 5);
    for header in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
        let mut f = header.to_vec();
        f.extend(&ip4);
        assert!(classify(LinkType::Null, &f).unwrap().is_icmp());
    }
    let ip6 = ipv6(58, &[], &[128, 0, 0, 0, 0, 0, 0, 0]);
    for fam in [24u32, 28, 30] {
        let mut f = fam.to_le_bytes().to_vec();
        f.extend(&ip6);
        assert!(classify(LinkType::Null, &f).unwrap().is_icmp(), "{fam}");
        let mut f = fam.to_be_bytes().to_vec();
        f.extend(&ip6);
        assert!(classify(LinkType::Loop, &f).unwrap().is_icmp(), "{fam}");
    }
    let mut other = 7u32.to_le_bytes().to_vec();
    other.extend(&ip4);
    assert_eq!(classify(LinkType::Null, &other), Err(SkipReason::NotIp));
    assert_eq!(classify(LinkType::Loop, &[0, 0]), Err(SkipReason::Malformed));
}

#[test]
fn ipv6_extension_headers_are_walked() {
    // Hop-by-hop (8 bytes) then routing (16 bytes) then TCP SYN.
    let mut ext = vec![43, 0, 0, 0, 0, 0, 0, 0];
    ext.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let frame = ether(0x86dd, &[], &ipv6(0, &ext, &tcp(8443, 2)));
    let f = classify(LinkType::Ethernet, &frame).unwrap();
    assert_eq!(cells(&f)[0], ("all", 0x1234));
    assert!(f.is_syn_only());
    assert_eq!(f.dst_port(), Some(8443));
    assert_eq!(f.length, 40 + 24 + 20);
    // Destination options then UDP.
    let f = classify(
        LinkType::RawIpv6,
        &ipv6(60, &[17, 0, 0, 0, 0, 0, 0, 0], &udp(500)),
    )
    .unwrap();
    assert_eq!(f.dst_port(), Some(500));
    assert!(f.is_udp());
}

#[test]
fn ipv6_fragments_unknown_headers_and_truncation() {
    // First fragment (offset 0): UDP header present.
    let first = ipv6(44, &[17, 0, 0, 1, 0, 0, 0, 1], &udp(53));
    assert_eq!(classify(LinkType::RawIp, &first).unwrap().dst_port(), Some(53));
    // Later fragment: all, len and udp by the fragment header's next header.
    let later = ipv6(44, &[17, 0, 0x05, 0x00, 0, 0, 0, 1], &[0u8; 16]);
    let f = classify(LinkType::RawIp, &later).unwrap();
    assert_eq!(cells(&f), [("all", 0x1234), ("udp", 0x1234), ("len", 64)]);
    let later_icmp = ipv6(44, &[58, 0, 0x05, 0x00, 0, 0, 0, 1], &[0u8; 16]);
    assert!(classify(LinkType::RawIp, &later_icmp).unwrap().is_icmp());
    // Unknown header (ESP) ends the walk: all/len only.
    let esp = ipv6(50, &[], &[0u8; 16]);
    assert_eq!(
        cells(&classify(LinkType::RawIp, &esp).unwrap()),
        [("all", 0x1234), ("len", 56)]
    );
    // ICMP's IPv4 number is not ICMPv6.
    let one = ipv6(1, &[], &[0u8; 8]);
    assert!(!classify(LinkType::RawIp, &one).unwrap().is_icmp());
    // A hop-by-hop header that runs past the captured bytes: all/len only.
    let mut runs_past = ipv6(0, &[17, 4, 0, 0, 0, 0, 0, 0], &udp(53));
    runs_past.truncate(48);
    assert_eq!(cells(&classify(LinkType::RawIp, &runs_past).unwrap()).len(), 2);
    // Fixed header not captured.
    assert_eq!(
        classify(LinkType::RawIp, &ipv6(17, &[], &[])[..39]),
        Err(SkipReason::Malformed)
    );
}

#[test]
fn inbound_rule_for_both_families() {
    let locals = LocalNets::parse(&["192.0.2.0/24", "2001:db8::/32"]).unwrap();
    let c = Classifier::new(LinkType::RawIp, locals);
    let ip = ipv4(6, [2, 9], &tcp(80, 2), None, 0, 5); // 192.0.2.9
    assert!(c.classify(&ip, 40).is_ok());
    let mut outbound = ip.clone();
    outbound[12..16].copy_from_slice(&[192, 0, 2, 1]);
    assert_eq!(c.classify(&outbound, 40), Err(SkipReason::NotInbound));
    let mut elsewhere = ip.clone();
    elsewhere[17] = 1; // 192.1.x.x
    assert_eq!(c.classify(&elsewhere, 40), Err(SkipReason::NotInbound));
    let v6 = ipv6(17, &[], &udp(53));
    assert!(c.classify(&v6, 48).is_ok());
    let only_v4 = Classifier::new(LinkType::RawIp, LocalNets::parse(&["192.0.2.0/24"]).unwrap());
    assert_eq!(only_v4.classify(&v6, 48), Err(SkipReason::NotInbound));
}

#[test]
fn length_saturates_and_is_ipv6_payload_plus_40() {
    let mut v6 = ipv6(59, &[], &[]);
    v6[4..6].copy_from_slice(&65535u16.to_be_bytes());
    assert_eq!(classify(LinkType::RawIp, &v6).unwrap().length, 65535);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(3);
    let links = LinkType::ALL;
    let mut buf = [0u8; 96];
    for i in 0..200_000 {
        let len = rng.usize(..buf.len());
        rng.fill(&mut buf[..len]);
        // Bias towards plausible headers so the deep paths are reached.
        if len > 20 && i % 2 == 0 {
            buf[0] = if i % 4 == 0 { 0x45 } else { 0x60 };
        }
        let link = links[i % links.len()];
        let _ = Classifier::new(link, LocalNets::default()).classify(&buf[..len], rng.u32(..));
    }
}
