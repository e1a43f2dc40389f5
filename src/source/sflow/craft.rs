//! Hand-built sFlow v5 datagrams for tests, benchmarks and fuzz seeds, so the
//! layout is written once outside the decoder (and checked against a datagram
//! written out byte by byte in the decoder's tests).
//!
//! Each function returns a whole XDR element: a sample or flow record comes
//! with its `data_format` word and length, ready to go into its parent.

use std::net::IpAddr;

use super::decode::VERSION;

fn word(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `data_format` and `opaque<>` (length, bytes, zero padding to 4).
fn element(format: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 11);
    word(&mut out, format);
    word(&mut out, body.len() as u32);
    out.extend_from_slice(body);
    out.resize(out.len() + (body.len().wrapping_neg() & 3), 0);
    out
}

/// A `sampled_header` flow record: `protocol` (1 Ethernet, 11 IPv4, 12 IPv6),
/// the packet's `frame_length` on the wire, bytes `stripped`, and the header bytes.
pub fn sampled_header(protocol: u32, frame_length: u32, stripped: u32, header: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    word(&mut body, protocol);
    word(&mut body, frame_length);
    word(&mut body, stripped);
    word(&mut body, header.len() as u32);
    body.extend_from_slice(header);
    body.resize(body.len() + (header.len().wrapping_neg() & 3), 0);
    element(1, &body)
}

/// An Ethernet `sampled_header` record of `frame` as an agent sends it: the
/// frame length counts the 4-byte FCS, which is stripped.
pub fn ethernet_header(frame: &[u8]) -> Vec<u8> {
    sampled_header(1, frame.len() as u32 + 4, 4, frame)
}

/// Any other flow record (`enterprise`, `format`) with `body`, to be skipped.
pub fn other_record(enterprise: u32, format: u32, body: &[u8]) -> Vec<u8> {
    element(enterprise << 12 | format, body)
}

/// The fields of a flow sample other than its records.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Sample sequence number of its data source.
    pub sequence: u32,
    /// Data source type (0 = ifIndex).
    pub source_type: u32,
    /// Data source index.
    pub source_index: u32,
    /// 1 in N.
    pub sampling_rate: u32,
    /// Packets the source saw.
    pub sample_pool: u32,
    /// Dropped samples so far.
    pub drops: u32,
}

impl Sample {
    /// Sample `sequence` of port 1 at 1 in `sampling_rate`, no drops.
    pub fn new(sequence: u32, sampling_rate: u32) -> Self {
        Sample {
            sequence,
            source_type: 0,
            source_index: 1,
            sampling_rate,
            sample_pool: sequence.wrapping_mul(sampling_rate),
            drops: 0,
        }
    }

    /// A compact flow sample (0,1) carrying `records`.
    pub fn compact(&self, records: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        word(&mut body, self.sequence);
        word(
            &mut body,
            self.source_type << 24 | (self.source_index & 0x00ff_ffff),
        );
        self.rest(&mut body, false, records);
        element(1, &body)
    }

    /// An expanded flow sample (0,3) carrying `records`.
    pub fn expanded(&self, records: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        word(&mut body, self.sequence);
        word(&mut body, self.source_type);
        word(&mut body, self.source_index);
        self.rest(&mut body, true, records);
        element(3, &body)
    }

    fn rest(&self, body: &mut Vec<u8>, expanded: bool, records: &[Vec<u8>]) {
        word(body, self.sampling_rate);
        word(body, self.sample_pool);
        word(body, self.drops);
        let interfaces: &[u32] = if expanded {
            &[0, self.source_index, 0, 2]
        } else {
            &[self.source_index, 2]
        };
        for &i in interfaces {
            word(body, i);
        }
        word(body, records.len() as u32);
        for r in records {
            body.extend_from_slice(r);
        }
    }
}

/// A counter sample (0,2) with one generic interface counter record of zeros,
/// to be skipped.
pub fn counter_sample(sequence: u32) -> Vec<u8> {
    let mut body = Vec::new();
    word(&mut body, sequence);
    word(&mut body, 1);
    word(&mut body, 1);
    body.extend_from_slice(&other_record(0, 1, &[0u8; 88]));
    element(2, &body)
}

/// A whole datagram from `agent` (sub-agent `sub_agent`), datagram
/// `sequence`, `uptime_ms` after the agent booted, carrying `samples`.
pub fn datagram(
    agent: IpAddr,
    sub_agent: u32,
    sequence: u32,
    uptime_ms: u32,
    samples: &[Vec<u8>],
) -> Vec<u8> {
    let mut out = Vec::new();
    word(&mut out, VERSION);
    match agent {
        IpAddr::V4(a) => {
            word(&mut out, 1);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            word(&mut out, 2);
            out.extend_from_slice(&a.octets());
        }
    }
    word(&mut out, sub_agent);
    word(&mut out, sequence);
    word(&mut out, uptime_ms);
    word(&mut out, samples.len() as u32);
    for s in samples {
        out.extend_from_slice(s);
    }
    out
}
