//! The sFlow version 5 datagram walker (<https://sflow.org/sflow_version_5.txt>,
//! section 5): from the bytes of one UDP payload to the raw packet headers it
//! samples, with no I/O.
//!
//! Datagrams come from anyone who can reach the port, so this is a parser of
//! hostile input: every length is bounds-checked before it is used, nothing
//! panics, nothing allocates, and every loop is bounded by the bytes left
//! (each element consumes at least 8 bytes or ends the walk).
//!
//! [`Datagram::parse`] checks the whole datagram first; only a datagram that
//! is well-formed to its last byte is visited ([`Datagram::visit`]). A
//! datagram is thus counted whole or not at all, never half, and a lying
//! length anywhere makes it one malformed datagram.
//!
//! Layout (XDR: big-endian 32-bit words, `opaque<>` = length, bytes, zero
//! padding to a multiple of 4):
//!
//! ```text
//! datagram      version(=5) agent_address sub_agent_id sequence uptime_ms
//!               samples<>: { data_format, opaque sample_data<> }
//! agent_address type (0 unknown, 1 IPv4, 2 IPv6) + 0, 4 or 16 bytes
//! data_format   enterprise (20 bits) << 12 | format (12 bits)
//! flow_sample   (0,1) sequence source_id(type<<24|index) sampling_rate
//!               sample_pool drops input output records<>
//! expanded      (0,3) sequence source_type source_index sampling_rate
//!               sample_pool drops in_format in_value out_format out_value records<>
//! flow_record   { data_format, opaque flow_data<> }
//! sampled_header (0,1) header_protocol frame_length stripped opaque header<>
//! ```
//!
//! Counter samples (0,2), (0,4), other enterprises' samples and every flow
//! record but `sampled_header` are skipped by their length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The only datagram version read (v2 and v4 agents are long gone).
pub const VERSION: u32 = 5;
/// `header_protocol` of an Ethernet (ISO 802.3) header.
pub const PROTOCOL_ETHERNET: u32 = 1;
/// `header_protocol` of a bare IPv4 header.
pub const PROTOCOL_IPV4: u32 = 11;
/// `header_protocol` of a bare IPv6 header.
pub const PROTOCOL_IPV6: u32 = 12;

/// Sample formats (enterprise 0).
const FLOW_SAMPLE: u32 = 1;
const FLOW_SAMPLE_EXPANDED: u32 = 3;
/// Flow record format of `sampled_header` (enterprise 0).
const SAMPLED_HEADER: u32 = 1;

/// The datagram header: which agent sent it and where it is in its sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatagramHeader {
    /// The agent's own address, as it states it (type 0, unknown, reads as 0.0.0.0).
    pub agent: IpAddr,
    /// Distinguishes sub-agents sharing one agent address (line cards).
    pub sub_agent: u32,
    /// Incremented by one per datagram from this agent and sub-agent: a gap is lost datagrams.
    pub sequence: u32,
    /// Milliseconds since the agent booted: a drop means it restarted.
    pub uptime_ms: u32,
    /// Sample records the datagram says it carries.
    pub samples: u32,
}

/// One flow sample's own fields (the same for compact and expanded samples).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSample {
    /// Incremented per sample by the data source that took it.
    pub sequence: u32,
    /// The data source (port, VLAN): source type in the high 32 bits, index in the low 32.
    pub source_id: u64,
    /// 1 in `sampling_rate` packets was sampled: each sample stands for this
    /// many packets (never 0: a zero rate makes the datagram malformed).
    pub sampling_rate: u32,
    /// Packets the source saw in total (sampled or not).
    pub sample_pool: u32,
    /// Samples the agent had to drop for lack of resources, since it started (a counter).
    pub drops: u32,
}

/// A `sampled_header` flow record: the first bytes of one sampled packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampledHeader<'a> {
    /// What `header` starts with ([`PROTOCOL_ETHERNET`], [`PROTOCOL_IPV4`], [`PROTOCOL_IPV6`], ...).
    pub protocol: u32,
    /// The packet's length on the wire (for Ethernet, FCS included).
    pub frame_length: u32,
    /// Bytes removed before the header was taken (usually the 4-byte FCS).
    pub stripped: u32,
    /// The sampled header bytes (padding removed).
    pub header: &'a [u8],
}

impl SampledHeader<'_> {
    /// The packet's length as a capture would record it: the frame length
    /// less what the agent stripped (the FCS), as the classifier expects.
    pub fn wire_len(&self) -> u32 {
        self.frame_length.saturating_sub(self.stripped)
    }
}

/// What a walk over a datagram's samples found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Walked {
    /// Flow samples (compact and expanded).
    pub flow_samples: u32,
    /// `sampled_header` records among them.
    pub headers: u32,
    /// Sample records skipped (counter samples, other enterprises).
    pub skipped_samples: u32,
    /// Flow records skipped (anything but `sampled_header`).
    pub skipped_records: u32,
}

/// Why a datagram was rejected, with the byte offset of the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The datagram ends before a field or a declared length does.
    #[error("truncated at byte {at}: {what} needs {need} bytes, {left} left")]
    Truncated {
        /// Offset of the field.
        at: usize,
        /// The field.
        what: &'static str,
        /// Bytes it needs.
        need: u64,
        /// Bytes left in its enclosing record.
        left: usize,
    },
    /// Not an sFlow version 5 datagram.
    #[error("version {0} (only sFlow version 5 is read)")]
    Version(u32),
    /// An agent address type other than 0, 1 or 2.
    #[error("agent address type {0} (expected 1 = IPv4 or 2 = IPv6)")]
    AddressType(u32),
    /// A flow sample whose sampling rate is 0 (it would stand for no packets).
    #[error("flow sample at byte {at} has sampling rate 0")]
    ZeroSamplingRate {
        /// Offset of the sample.
        at: usize,
    },
    /// Bytes left over after a record's declared contents.
    #[error("{left} stray bytes at byte {at} after {what}")]
    Trailing {
        /// Offset of the first stray byte.
        at: usize,
        /// What they follow.
        what: &'static str,
        /// How many.
        left: usize,
    },
}

/// Receives what [`Datagram::visit`] finds, in datagram order.
pub trait Visitor<'a> {
    /// Every flow sample, before its records (drop counters are per sample).
    fn flow_sample(&mut self, _sample: &FlowSample) {}
    /// Every `sampled_header` record, with the flow sample that carries it.
    fn sampled_header(&mut self, sample: &FlowSample, header: &SampledHeader<'a>);
}

/// A visitor that does nothing: the checking pass.
struct Check;

impl<'a> Visitor<'a> for Check {
    fn sampled_header(&mut self, _: &FlowSample, _: &SampledHeader<'a>) {}
}

/// A datagram checked to its last byte, ready to visit.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// Agent, sequence, uptime.
    pub header: DatagramHeader,
    /// What the checking walk found.
    pub walked: Walked,
    /// The sample records (after the header).
    samples: Xdr<'a>,
}

/// A rejected datagram: the header when it could be read (so the agent can
/// be charged with it), and the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The datagram header, if it was readable.
    pub header: Option<DatagramHeader>,
    /// What was wrong.
    pub error: DecodeError,
}

impl<'a> Datagram<'a> {
    /// Reads the header and checks every sample and record length; `Err` when
    /// anything is out of bounds, inconsistent or left over.
    pub fn parse(data: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Xdr::new(data, 0);
        let header = read_header(&mut r).map_err(|error| Malformed { header: None, error })?;
        let samples = r;
        let walked = walk(samples, header.samples, &mut Check).map_err(|error| Malformed {
            header: Some(header),
            error,
        })?;
        Ok(Datagram {
            header,
            walked,
            samples,
        })
    }

    /// Calls `visitor` for every flow sample and sampled header, in order.
    pub fn visit<V: Visitor<'a>>(&self, visitor: &mut V) {
        // Checked by `parse`: this walk cannot fail.
        let _ = walk(self.samples, self.header.samples, visitor);
    }
}

fn read_header(r: &mut Xdr<'_>) -> Result<DatagramHeader, DecodeError> {
    let version = r.u32("version")?;
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    let agent = match r.u32("agent address type")? {
        0 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        1 => IpAddr::V4(Ipv4Addr::from(r.array::<4>("IPv4 agent address")?)),
        2 => IpAddr::V6(Ipv6Addr::from(r.array::<16>("IPv6 agent address")?)),
        other => return Err(DecodeError::AddressType(other)),
    };
    Ok(DatagramHeader {
        agent,
        sub_agent: r.u32("sub_agent_id")?,
        sequence: r.u32("sequence_number")?,
        uptime_ms: r.u32("uptime")?,
        samples: r.u32("number of samples")?,
    })
}

/// Walks `count` sample records; they must fill `r` exactly.
fn walk<'a, V: Visitor<'a>>(mut r: Xdr<'a>, count: u32, visitor: &mut V) -> Result<Walked, DecodeError> {
    let mut walked = Walked::default();
    for _ in 0..count {
        let format = r.u32("sample data_format")?;
        let body = r.opaque("sample_data")?;
        match split_format(format) {
            (0, FLOW_SAMPLE) => flow_sample(body, false, visitor, &mut walked)?,
            (0, FLOW_SAMPLE_EXPANDED) => flow_sample(body, true, visitor, &mut walked)?,
            _ => walked.skipped_samples += 1,
        }
    }
    r.finish("the last sample")?;
    Ok(walked)
}

/// `(enterprise, format)` of a `data_format` word.
fn split_format(word: u32) -> (u32, u32) {
    (word >> 12, word & 0xfff)
}

/// One flow sample (compact or expanded) and its flow records.
fn flow_sample<'a, V: Visitor<'a>>(
    mut r: Xdr<'a>,
    expanded: bool,
    visitor: &mut V,
    walked: &mut Walked,
) -> Result<(), DecodeError> {
    let at = r.offset();
    let sequence = r.u32("flow sample sequence_number")?;
    let source_id = if expanded {
        let kind = r.u32("source_id_type")?;
        let index = r.u32("source_id_index")?;
        u64::from(kind) << 32 | u64::from(index)
    } else {
        let word = r.u32("source_id")?;
        u64::from(word >> 24) << 32 | u64::from(word & 0x00ff_ffff)
    };
    let sampling_rate = r.u32("sampling_rate")?;
    let sample_pool = r.u32("sample_pool")?;
    let drops = r.u32("drops")?;
    // Input and output interfaces: one word each, or format + value each.
    r.skip(if expanded { 16 } else { 8 }, "interfaces")?;
    if sampling_rate == 0 {
        return Err(DecodeError::ZeroSamplingRate { at });
    }
    let sample = FlowSample {
        sequence,
        source_id,
        sampling_rate,
        sample_pool,
        drops,
    };
    walked.flow_samples += 1;
    visitor.flow_sample(&sample);
    let records = r.u32("number of flow records")?;
    for _ in 0..records {
        let format = r.u32("flow record data_format")?;
        let body = r.opaque("flow_data")?;
        if split_format(format) == (0, SAMPLED_HEADER) {
            let header = sampled_header(body)?;
            walked.headers += 1;
            visitor.sampled_header(&sample, &header);
        } else {
            walked.skipped_records += 1;
        }
    }
    r.finish("the last flow record")
}

fn sampled_header(mut r: Xdr<'_>) -> Result<SampledHeader<'_>, DecodeError> {
    let header = SampledHeader {
        protocol: r.u32("header_protocol")?,
        frame_length: r.u32("frame_length")?,
        stripped: r.u32("stripped")?,
        header: r.opaque("header")?.rest(),
    };
    r.finish("the sampled header")?;
    Ok(header)
}

/// A bounds-checked XDR reader over one record; `base` is its offset in the
/// datagram, for error messages.
#[derive(Clone, Copy, Debug)]
struct Xdr<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Xdr<'a> {
    fn new(data: &'a [u8], base: usize) -> Self {
        Xdr { data, pos: 0, base }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let truncated = DecodeError::Truncated {
            at: self.offset(),
            what,
            need: n,
            left: self.left(),
        };
        let n = usize::try_from(n).map_err(|_| truncated)?;
        let end = self.pos.checked_add(n).ok_or(truncated)?;
        let bytes = self.data.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array::<4>(what).map(u32::from_be_bytes)
    }

    fn skip(&mut self, n: u64, what: &'static str) -> Result<(), DecodeError> {
        self.take(n, what).map(|_| ())
    }

    /// An `opaque<>`: a length, that many bytes, then padding to a multiple of
    /// 4 (which must be there). Returns a reader over the bytes alone.
    fn opaque(&mut self, what: &'static str) -> Result<Xdr<'a>, DecodeError> {
        let len = u64::from(self.u32(what)?);
        let base = self.offset();
        let bytes = self.take(len, what)?;
        self.skip(len.wrapping_neg() & 3, "padding")?;
        Ok(Xdr::new(bytes, base))
    }

    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// Checks that nothing is left after `what`.
    fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        match self.left() {
            0 => Ok(()),
            left => Err(DecodeError::Trailing {
                at: self.offset(),
                what,
                left,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
