//! The decoder against datagrams written out byte by byte from the sFlow v5
//! specification, then against the builder (`craft`) once the builder is
//! shown to write the same bytes, cut and lied about in every way.

#![allow(clippy::unwrap_used)] // test fixtures

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::source::sflow::craft::{self, Sample};

/// The 42-byte Ethernet frame of the hand-built datagram: UDP from
/// 198.51.100.7:40000 to 192.0.2.37:53.
#[rustfmt::skip]
const FRAME: [u8; 42] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,  0x00, 0x66, 0x77, 0x88, 0x99, 0xaa,  0x08, 0x00,
    0x45, 0x00, 0x00, 0x1c,  0x00, 0x00, 0x00, 0x00,  0x40, 0x11, 0x00, 0x00,
    198, 51, 100, 7,  192, 0, 2, 37,
    0x9c, 0x40, 0x00, 0x35,  0x00, 0x08, 0x00, 0x00,
];

/// One datagram, written field by field from the specification (section 5):
/// agent 192.0.2.1, sub-agent 0, datagram 7, one compact flow sample (1 in
/// 100 on ifIndex 3, 5 drops) with one Ethernet `sampled_header` of FRAME
/// (42 bytes, so 2 bytes of padding).
fn hand_built() -> Vec<u8> {
    #[rustfmt::skip]
    let head: [u8; 92] = [
        0, 0, 0, 5,            // version 5
        0, 0, 0, 1,            // agent address type: IPv4
        192, 0, 2, 1,          // agent address
        0, 0, 0, 0,            // sub_agent_id
        0, 0, 0, 7,            // sequence_number
        0, 0, 0x03, 0xe8,      // uptime: 1000 ms
        0, 0, 0, 1,            // one sample
        0, 0, 0, 1,            //   data_format: enterprise 0, format 1 (flow_sample)
        0, 0, 0, 100,          //   sample length: 32 + 8 + 60
        0, 0, 0, 1,            //     sequence_number
        0, 0, 0, 3,            //     source_id: type 0, index 3
        0, 0, 0, 100,          //     sampling_rate 100
        0, 0, 0x03, 0xe8,      //     sample_pool 1000
        0, 0, 0, 5,            //     drops 5
        0, 0, 0, 3,            //     input ifIndex
        0, 0, 0, 0,            //     output ifIndex
        0, 0, 0, 1,            //     one flow record
        0, 0, 0, 1,            //       data_format: enterprise 0, format 1 (sampled_header)
        0, 0, 0, 60,           //       record length: 16 + 44
        0, 0, 0, 1,            //         header_protocol: Ethernet
        0, 0, 0, 46,           //         frame_length: 42 + FCS
        0, 0, 0, 4,            //         stripped: the FCS
        0, 0, 0, 42,           //         header length
    ];
    let mut d = head.to_vec();
    d.extend_from_slice(&FRAME);
    d.extend_from_slice(&[0, 0]); // padding to a multiple of 4
    assert_eq!(d.len(), 136);
    d
}

/// Offsets into `hand_built()` of the lengths a liar would change.
const SAMPLE_COUNT_AT: usize = 24;
const SAMPLE_LEN_AT: usize = 32;
const RECORD_COUNT_AT: usize = 64;
const RECORD_LEN_AT: usize = 72;
const HEADER_LEN_AT: usize = 88;
const RATE_AT: usize = 44;

fn set(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Everything a visit reports.
#[derive(Default, Debug)]
struct Seen {
    events: Vec<String>,
    headers: Vec<(u32, u32, u32, Vec<u8>, FlowSample)>,
}

impl<'a> Visitor<'a> for Seen {
    fn flow_sample(&mut self, s: &FlowSample) {
        self.events.push(format!("sample {}", s.sequence));
    }
    fn sampled_header(&mut self, s: &FlowSample, h: &SampledHeader<'a>) {
        self.events.push(format!("header {}", h.protocol));
        self.headers
            .push((h.protocol, h.frame_length, h.stripped, h.header.to_vec(), *s));
    }
}

fn visit(data: &[u8]) -> Result<(DatagramHeader, Seen), Malformed> {
    let d = Datagram::parse(data)?;
    let mut seen = Seen::default();
    d.visit(&mut seen);
    Ok((d.header, seen))
}

fn error(data: &[u8]) -> DecodeError {
    Datagram::parse(data).unwrap_err().error
}

#[test]
fn reads_the_hand_built_datagram() {
    let (header, seen) = visit(&hand_built()).unwrap();
    assert_eq!(
        header,
        DatagramHeader {
            agent: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            sub_agent: 0,
            sequence: 7,
            uptime_ms: 1000,
            samples: 1,
        }
    );
    let sample = FlowSample {
        sequence: 1,
        source_id: 3,
        sampling_rate: 100,
        sample_pool: 1000,
        drops: 5,
    };
    assert_eq!(seen.headers, [(1, 46, 4, FRAME.to_vec(), sample)]);
    let h = SampledHeader {
        protocol: 1,
        frame_length: 46,
        stripped: 4,
        header: &FRAME,
    };
    assert_eq!(h.wire_len(), 42);
    let walked = Datagram::parse(&hand_built()).unwrap().walked;
    assert_eq!(
        walked,
        Walked {
            flow_samples: 1,
            headers: 1,
            ..Walked::default()
        }
    );
}

#[test]
fn the_builder_writes_the_hand_built_bytes() {
    let sample = Sample {
        sequence: 1,
        source_type: 0,
        source_index: 3,
        sampling_rate: 100,
        sample_pool: 1000,
        drops: 5,
    };
    let mut built = craft::datagram(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        0,
        7,
        1000,
        &[sample.compact(&[craft::ethernet_header(&FRAME)])],
    );
    // The builder's output interface is 2; the hand-built one says 0.
    set(&mut built, 60, 0);
    assert_eq!(built, hand_built());
}

#[test]
fn every_truncation_is_malformed_and_keeps_the_header_once_readable() {
    let d = hand_built();
    for cut in 0..d.len() {
        let m = Datagram::parse(&d[..cut]).unwrap_err();
        assert!(
            matches!(m.error, DecodeError::Truncated { .. }),
            "cut {cut}: {m:?}"
        );
        assert_eq!(m.header.is_some(), cut >= 28, "cut {cut}");
    }
    let m = Datagram::parse(&d[..100]).unwrap_err();
    assert_eq!(m.header.unwrap().sequence, 7);
}

#[test]
fn lying_lengths_are_malformed() {
    let lies: [(usize, u32); 12] = [
        (SAMPLE_LEN_AT, 104),          // sample longer than the datagram
        (SAMPLE_LEN_AT, 96),           // sample shorter than its records
        (SAMPLE_LEN_AT, 0),            // empty flow sample
        (SAMPLE_LEN_AT, u32::MAX),     // no overflow on the padding
        (RECORD_LEN_AT, 64),           // record longer than its sample
        (RECORD_LEN_AT, 56),           // record shorter than its header
        (RECORD_LEN_AT, u32::MAX - 2), // padding would wrap in 32 bits
        (HEADER_LEN_AT, 45),           // header past its record
        (HEADER_LEN_AT, 40),           // header shorter than its record
        (HEADER_LEN_AT, u32::MAX),
        (SAMPLE_COUNT_AT, 2),    // a sample that is not there
        (RECORD_COUNT_AT, 1000), // records that are not there
    ];
    for (at, value) in lies {
        let mut d = hand_built();
        set(&mut d, at, value);
        let m = Datagram::parse(&d).unwrap_err();
        assert_eq!(m.header.map(|h| h.sequence), Some(7), "{at}={value}");
    }
    // Fewer samples or records than the bytes hold: stray bytes.
    for at in [SAMPLE_COUNT_AT, RECORD_COUNT_AT] {
        let mut d = hand_built();
        set(&mut d, at, 0);
        assert!(matches!(error(&d), DecodeError::Trailing { .. }), "{at}");
    }
    let mut d = hand_built();
    d.extend_from_slice(&[0; 4]);
    assert_eq!(
        error(&d),
        DecodeError::Trailing {
            at: 136,
            what: "the last sample",
            left: 4
        }
    );
}

#[test]
fn a_missing_pad_is_malformed() {
    let frame = &FRAME[..41];
    let mut d = craft::datagram(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        0,
        1,
        1,
        &[Sample::new(1, 10).compact(&[craft::ethernet_header(frame)])],
    );
    assert!(Datagram::parse(&d).is_ok());
    // Drop the 3 padding bytes and shorten the sample and record by 3: the
    // record length now says 57, and 57 + padding overruns the sample.
    d.truncate(d.len() - 3);
    let len = u32::from_be_bytes(d[SAMPLE_LEN_AT..SAMPLE_LEN_AT + 4].try_into().unwrap());
    set(&mut d, SAMPLE_LEN_AT, len - 3);
    let rec = u32::from_be_bytes(d[RECORD_LEN_AT..RECORD_LEN_AT + 4].try_into().unwrap());
    set(&mut d, RECORD_LEN_AT, rec - 3);
    assert!(matches!(error(&d), DecodeError::Truncated { .. }));
}

#[test]
fn bad_versions_address_types_and_rates_are_named() {
    let mut d = hand_built();
    set(&mut d, 0, 4);
    assert_eq!(error(&d), DecodeError::Version(4));
    assert_eq!(error(&d).to_string(), "version 4 (only sFlow version 5 is read)");
    let mut d = hand_built();
    set(&mut d, 4, 3);
    assert_eq!(error(&d), DecodeError::AddressType(3));
    let mut d = hand_built();
    set(&mut d, RATE_AT, 0);
    assert_eq!(error(&d), DecodeError::ZeroSamplingRate { at: 36 });
    assert!(matches!(error(&[]), DecodeError::Truncated { at: 0, .. }));
}

#[test]
fn ipv6_and_unknown_agent_addresses() {
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let d = craft::datagram(
        IpAddr::V6(v6),
        3,
        9,
        5,
        &[Sample::new(1, 2).compact(&[craft::ethernet_header(&FRAME)])],
    );
    let (header, seen) = visit(&d).unwrap();
    assert_eq!(header.agent, IpAddr::V6(v6));
    assert_eq!(header.sub_agent, 3);
    assert_eq!(seen.headers.len(), 1);
    // Address type 0 (unknown) has no address bytes.
    let mut d = hand_built();
    set(&mut d, 4, 0);
    d.drain(8..12);
    assert_eq!(visit(&d).unwrap().0.agent, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
}

#[test]
fn expanded_samples_carry_32_bit_source_ids() {
    let sample = Sample {
        source_type: 2,
        source_index: 0x0123_4567,
        ..Sample::new(4, 512)
    };
    let d = craft::datagram(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        0,
        1,
        1,
        &[sample.expanded(&[craft::sampled_header(11, 28, 0, &FRAME[14..])])],
    );
    let (_, seen) = visit(&d).unwrap();
    let (protocol, frame_length, _, header, s) = &seen.headers[0];
    assert_eq!((*protocol, *frame_length), (11, 28));
    assert_eq!(header.as_slice(), &FRAME[14..]);
    assert_eq!(s.source_id, 2 << 32 | 0x0123_4567);
    assert_eq!(s.sampling_rate, 512);
    // The compact form keeps 24 bits of index and 8 of type.
    let compact = craft::datagram(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 1, 1, &[sample.compact(&[])]);
    let mut seen = Seen::default();
    Datagram::parse(&compact).unwrap().visit(&mut seen);
    assert_eq!(seen.events, ["sample 4"]);
}

#[test]
fn counter_samples_and_other_records_are_skipped_by_length() {
    let ext_switch = craft::other_record(0, 1001, &[0; 16]);
    let vendor = craft::other_record(4413, 1, &[1, 2, 3]);
    let samples = [
        craft::counter_sample(1),
        Sample::new(1, 10).compact(&[ext_switch.clone(), craft::ethernet_header(&FRAME), vendor]),
        craft::other_record(4413, 5, &[9; 10]), // another enterprise's sample
        Sample::new(2, 10).expanded(&[ext_switch, craft::sampled_header(12, 60, 0, &[0x60; 40])]),
    ];
    let d = craft::datagram(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 1, 1, &samples);
    let parsed = Datagram::parse(&d).unwrap();
    assert_eq!(
        parsed.walked,
        Walked {
            flow_samples: 2,
            headers: 2,
            skipped_samples: 2,
            skipped_records: 3,
        }
    );
    let mut seen = Seen::default();
    parsed.visit(&mut seen);
    assert_eq!(seen.events, ["sample 1", "header 1", "sample 2", "header 12"]);
}

#[test]
fn a_datagram_with_no_samples_is_fine() {
    let d = craft::datagram(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 1, 1, &[]);
    assert_eq!(d.len(), 28);
    let (_, seen) = visit(&d).unwrap();
    assert!(seen.events.is_empty());
}

#[test]
fn a_bad_sample_after_good_ones_rejects_the_whole_datagram() {
    let good = Sample::new(1, 10).compact(&[craft::ethernet_header(&FRAME)]);
    let bad = Sample::new(2, 0).compact(&[craft::ethernet_header(&FRAME)]);
    let d = craft::datagram(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, 1, 1, &[good, bad]);
    // Nothing is visited: the datagram counts whole or not at all.
    assert!(matches!(error(&d), DecodeError::ZeroSamplingRate { .. }));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(6343);
    let base = hand_built();
    for _ in 0..20_000 {
        let mut d = base.clone();
        for _ in 0..rng.usize(1..6) {
            let i = rng.usize(..d.len());
            d[i] = rng.u8(..);
        }
        d.truncate(rng.usize(..=d.len()));
        if let Ok(parsed) = Datagram::parse(&d) {
            let mut seen = Seen::default();
            parsed.visit(&mut seen);
            assert_eq!(seen.headers.len(), parsed.walked.headers as usize);
        }
    }
}
