//! Datagrams written out byte by byte from the specifications: the v5
//! header and record layout (Cisco), RFC 3954 (NetFlow v9) sections 5 and 6,
//! RFC 7011 (IPFIX) sections 3, 7 and 8 (the datagrams are in `craft`).

#![allow(clippy::unwrap_used)] // test fixtures

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::source::netflow::craft::{IPFIX_MESSAGE, V5_ONE, V9_PACKET};

fn elements(d: &Datagram<'_>) -> Vec<String> {
    let mut out = Vec::new();
    d.visit(&mut |e| {
        out.push(match e {
            Element::Template(t) => {
                let fields: Vec<String> = t
                    .fields()
                    .map(|f| format!("{}{}:{}", if f.enterprise { "e" } else { "" }, f.id, f.length))
                    .collect();
                format!(
                    "{}template {} scope {} [{}]",
                    if t.options { "options " } else { "" },
                    t.id,
                    t.scope_count,
                    fields.join(" ")
                )
            }
            Element::Data { template, body } => format!("data {template} {} bytes", body.len()),
            Element::V5Record(r) => format!("v5 record {} bytes", r.len()),
        })
    });
    out
}

#[test]
fn v5_header_and_record() {
    let d = Datagram::parse(&V5_ONE).unwrap();
    assert_eq!(
        d.header,
        Header {
            version: 5,
            domain: 0x0102,
            sequence: 42,
            v5_sampling: 100,
            v5_records: 1
        }
    );
    assert_eq!(elements(&d), ["v5 record 48 bytes"]);
    let mut record = None;
    d.visit(&mut |e| {
        if let Element::V5Record(r) = e {
            record = Some(r);
        }
    });
    let r = record.unwrap();
    assert_eq!(
        address(&r[v5::DST..v5::DST + 4]),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)))
    );
    assert_eq!(uint(&r[v5::PACKETS..v5::PACKETS + 4]), Some(3));
    assert_eq!(r[v5::PROTOCOL], 6);
    assert_eq!(r[v5::TCP_FLAGS], 2);
    // Cut short, a count that lies, more than 30 records, stray bytes.
    assert!(matches!(
        Datagram::parse(&V5_ONE[..71]).unwrap_err().error,
        DecodeError::Truncated { .. }
    ));
    let mut two = V5_ONE;
    two[3] = 2;
    assert!(Datagram::parse(&two).is_err());
    let mut many = V5_ONE;
    many[3] = 31;
    assert_eq!(
        Datagram::parse(&many).unwrap_err().error,
        DecodeError::TooManyRecords(31)
    );
    let mut long = V5_ONE.to_vec();
    long.push(0);
    assert!(matches!(
        Datagram::parse(&long).unwrap_err().error,
        DecodeError::Trailing { .. }
    ));
}

#[test]
fn v9_templates_data_padding_and_options() {
    let d = Datagram::parse(&V9_PACKET).unwrap();
    assert_eq!((d.header.version, d.header.domain, d.header.sequence), (9, 9, 7));
    assert_eq!(
        elements(&d),
        [
            "template 256 scope 0 [8:4 12:4 2:4 1:4 4:1 11:2]",
            "data 256 40 bytes",
            "options template 257 scope 1 [1:4 34:4 48:1]",
        ]
    );
    // The data flowset under its template: two records, the padding left over.
    let fields = [(8, 4), (12, 4), (2, 4), (1, 4), (4, 1), (11, 2)].map(|(id, length)| FieldSpec {
        id,
        enterprise: false,
        length,
    });
    let body = &V9_PACKET[56..96];
    let records = DataRecords::new(body, &fields, 19);
    assert_eq!(records.check(), Ok(2));
    let mut r = records;
    let mut ports = Vec::new();
    while r.next_record(&mut |(f, b)| {
        if f.id == ie::DST_PORT {
            ports.push(uint(b).unwrap());
        }
    }) == Ok(true)
    {}
    assert_eq!(ports, [53, 443]);
    // Options lengths must be whole fields; a flowset length under 4 or past the end is a lie.
    let mut bad = V9_PACKET;
    bad[103] = 0x05;
    assert_eq!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::OptionLength { at: 100 }
    );
    let mut bad = V9_PACKET;
    bad[23] = 0x02;
    assert_eq!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::SetLength { at: 20, length: 2 }
    );
    let mut bad = V9_PACKET;
    bad[23] = 0xff;
    assert!(matches!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::Truncated { .. }
    ));
    for cut in [0, 1, 19, 21, 55, 97, 119] {
        assert!(Datagram::parse(&V9_PACKET[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn ipfix_enterprise_variable_length_options_and_withdrawal() {
    let d = Datagram::parse(&IPFIX_MESSAGE).unwrap();
    assert_eq!((d.header.version, d.header.domain, d.header.sequence), (10, 3, 5));
    assert_eq!(
        elements(&d),
        [
            "template 256 scope 0 [12:4 e1:4 82:65535 2:8]",
            "data 256 40 bytes",
            "options template 257 scope 1 [302:4 305:4 306:4]",
            "template 258 scope 0 []",
        ]
    );
    let mut records = Vec::new();
    d.visit(&mut |e| {
        if let Element::Template(t) = e
            && t.id == 256
        {
            records.push(t.fields().collect::<Vec<_>>());
        }
    });
    let fields = &records[0];
    let body = &IPFIX_MESSAGE[48..88];
    let set = DataRecords::new(body, fields, 4 + 4 + 1 + 8);
    assert_eq!(set.check(), Ok(2));
    let mut set = set;
    let mut seen = Vec::new();
    while set.next_record(&mut |(f, b)| seen.push((f.id, f.enterprise, b.len()))) == Ok(true) {}
    assert_eq!(
        seen,
        [
            (12, false, 4),
            (1, true, 4),
            (82, false, 2),
            (2, false, 8),
            (12, false, 4),
            (1, true, 4),
            (82, false, 1),
            (2, false, 8),
        ]
    );
    // A variable length that runs past the set is an overrun.
    let mut lying = body.to_vec();
    lying[8] = 200;
    assert_eq!(DataRecords::new(&lying, fields, 17).check(), Err(Overrun));
    // The message length must be the datagram's.
    let mut bad = IPFIX_MESSAGE;
    bad[3] = 0x70;
    assert!(matches!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::Trailing { .. }
    ));
    bad[3] = 0x80;
    assert!(matches!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::Truncated { .. }
    ));
    // Options templates need 1..=fields scope fields.
    let mut bad = IPFIX_MESSAGE;
    bad[97] = 0;
    assert!(matches!(
        Datagram::parse(&bad).unwrap_err().error,
        DecodeError::ScopeCount { .. }
    ));
    // An enterprise field cut before its enterprise number.
    assert!(Datagram::parse(&craft_cut_enterprise()).is_err());
}

fn craft_cut_enterprise() -> Vec<u8> {
    use crate::source::netflow::craft;
    let mut t = craft::template(256, &[(0x8001, 4)]);
    t.extend_from_slice(&[0, 0]); // half an enterprise number
    craft::ipfix(0, 0, &[craft::set(2, &t)])
}

#[test]
fn other_versions_and_reserved_sets() {
    assert_eq!(
        Datagram::parse(&[0, 7, 0, 0]).unwrap_err().error,
        DecodeError::Version(7)
    );
    assert!(Datagram::parse(&[]).is_err());
    use crate::source::netflow::craft;
    // Reserved set ids are skipped by their length.
    let m = craft::ipfix(0, 0, &[craft::set(4, &[1, 2, 3, 4]), craft::set(255, &[])]);
    assert_eq!(Datagram::parse(&m).unwrap().walked.skipped_sets, 2);
}

#[test]
fn integers_of_any_reduced_size() {
    assert_eq!(uint(&[1]), Some(1));
    assert_eq!(uint(&[1, 0, 0]), Some(65_536));
    assert_eq!(uint(&[0xff; 8]), Some(u64::MAX));
    assert_eq!(uint(&[]), None);
    assert_eq!(uint(&[0; 9]), None);
    assert_eq!(address(&[1, 2, 3]), None);
}
