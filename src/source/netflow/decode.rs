//! The NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) datagram
//! walker: from the bytes of one UDP payload to its header, its template
//! records and its data sets, with no I/O.
//!
//! Datagrams come from anyone who can reach the port, so this is a parser of
//! hostile input: every length is checked before it is used, nothing panics,
//! nothing allocates, and every loop consumes at least one byte per turn or
//! ends.
//!
//! [`Datagram::parse`] checks the framing of the whole datagram first (the
//! header, every set's length, every template record); a datagram that lies
//! anywhere in its framing is one malformed datagram and nothing of it is
//! used. Data records cannot be checked without their template, which lives
//! in the collector's table ([`super::templates`]): [`DataRecords`] walks one
//! data set with its template and says when a record overruns the set.
//!
//! Layouts (big-endian):
//!
//! ```text
//! v5     version(=5) count sys_uptime_ms unix_secs unix_nsecs flow_sequence
//!        engine_type(1) engine_id(1) sampling(2: mode << 14 | interval)
//!        count x 48-byte records: srcaddr dstaddr nexthop input(2) output(2)
//!        dPkts dOctets first last srcport(2) dstport(2) pad(1) tcp_flags(1)
//!        prot(1) tos(1) src_as(2) dst_as(2) src_mask(1) dst_mask(1) pad(2)
//! v9     version(=9) count sys_uptime_ms unix_secs sequence source_id, then
//!        flowsets: id(2) length(2) body; id 0 templates, 1 options templates,
//!        >= 256 data
//! IPFIX  version(=10) length(2) export_time sequence observation_domain, then
//!        sets: id(2) length(2) body; id 2 templates, 3 options templates,
//!        >= 256 data
//! template record          id(2) field_count(2) field_count x field specifier
//! v9 options template      id(2) scope_length(2) option_length(2) (type, length)...
//! IPFIX options template   id(2) field_count(2) scope_field_count(2) field specifiers
//! field specifier          type(2) length(2); IPFIX: type's top bit set means
//!                          a 4-byte enterprise number follows; length 65535 is
//!                          variable (in the data: 1 byte, or 255 then 2 bytes)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// NetFlow version 5.
pub const V5: u16 = 5;
/// NetFlow version 9.
pub const V9: u16 = 9;
/// IPFIX (the version field of an IPFIX message).
pub const IPFIX: u16 = 10;

/// Bytes of a v5 header and of one v5 flow record.
pub const V5_HEADER: usize = 24;
/// Bytes of one v5 flow record.
pub const V5_RECORD: usize = 48;
/// A v5 datagram carries at most this many records (Cisco's limit; 24 + 30 x 48 = 1464 bytes).
pub const V5_MAX_RECORDS: u16 = 30;
/// A field length that means "variable" (IPFIX only).
pub const VARIABLE: u16 = 65_535;
/// The first set id of a data set.
pub const FIRST_DATA_SET: u16 = 256;

/// Information elements scanwall reads (RFC 7012; v9 field types are the same numbers).
pub mod ie {
    /// octetDeltaCount (v9 IN_BYTES).
    pub const OCTETS: u16 = 1;
    /// packetDeltaCount (v9 IN_PKTS).
    pub const PACKETS: u16 = 2;
    /// protocolIdentifier (v9 PROTOCOL).
    pub const PROTOCOL: u16 = 4;
    /// tcpControlBits (v9 TCP_FLAGS).
    pub const TCP_FLAGS: u16 = 6;
    /// sourceTransportPort is 7; destinationTransportPort (v9 L4_DST_PORT).
    pub const DST_PORT: u16 = 11;
    /// sourceIPv4Address (v9 IPV4_SRC_ADDR).
    pub const SRC_V4: u16 = 8;
    /// destinationIPv4Address (v9 IPV4_DST_ADDR).
    pub const DST_V4: u16 = 12;
    /// sourceIPv6Address (v9 IPV6_SRC_ADDR).
    pub const SRC_V6: u16 = 27;
    /// destinationIPv6Address (v9 IPV6_DST_ADDR).
    pub const DST_V6: u16 = 28;
    /// ingressInterface (v9 INPUT_SNMP).
    pub const INGRESS_INTERFACE: u16 = 10;
    /// egressInterface (v9 OUTPUT_SNMP).
    pub const EGRESS_INTERFACE: u16 = 14;
    /// samplerId (v9 FLOW_SAMPLER_ID): which sampler an options record
    /// describes, or a flow record was sampled by.
    pub const SAMPLER_ID: u16 = 48;
    /// selectorId (RFC 5477): as [`SAMPLER_ID`], for PSAMP selectors.
    pub const SELECTOR_ID: u16 = 302;
    /// samplingInterval (v9 SAMPLING_INTERVAL): 1 in N packets.
    pub const SAMPLING_INTERVAL: u16 = 34;
    /// samplerRandomInterval (v9 FLOW_SAMPLER_RANDOM_INTERVAL): 1 in N packets.
    pub const SAMPLER_RANDOM_INTERVAL: u16 = 50;
    /// samplingPacketInterval (RFC 5477): packets selected in a row.
    pub const SAMPLING_PACKET_INTERVAL: u16 = 305;
    /// samplingPacketSpace (RFC 5477): packets not selected after them.
    pub const SAMPLING_PACKET_SPACE: u16 = 306;
}

/// NetFlow v9 options scope field types (RFC 3954 section 6.1): a number
/// space of their own, not information elements.
pub mod v9_scope {
    /// The whole exporting device.
    pub const SYSTEM: u16 = 1;
    /// An interface (its SNMP index).
    pub const INTERFACE: u16 = 2;
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
        need: usize,
        /// Bytes left in its enclosing set or datagram.
        left: usize,
    },
    /// Not NetFlow v5, v9 or IPFIX.
    #[error("version {0} (NetFlow 5 and 9 and IPFIX (10) are read)")]
    Version(u16),
    /// A v5 header that claims more than 30 records.
    #[error("v5 header claims {0} records (at most 30)")]
    TooManyRecords(u16),
    /// A set (flowset) length under 4, the size of its own header.
    #[error("set at byte {at} has length {length} (at least 4)")]
    SetLength {
        /// Offset of the set.
        at: usize,
        /// The length it gave.
        length: u16,
    },
    /// A v9 options template whose scope or option length is not a whole number of fields.
    #[error("options template at byte {at}: scope or option length not a multiple of 4")]
    OptionLength {
        /// Offset of the template record.
        at: usize,
    },
    /// An IPFIX options template with no scope field, or more scope fields than fields.
    #[error("options template at byte {at}: {scope} scope fields of {fields}")]
    ScopeCount {
        /// Offset of the template record.
        at: usize,
        /// Scope fields claimed.
        scope: u16,
        /// Fields claimed.
        fields: u16,
    },
    /// Bytes left over after the last record, or an IPFIX message length that is not the datagram's.
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

/// Which protocol a datagram speaks, and the header fields the collector keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// [`V5`], [`V9`] or [`IPFIX`].
    pub version: u16,
    /// v9 source id, IPFIX observation domain, v5 engine type << 8 | engine id:
    /// with the exporter's address, it names one template space and one sequence.
    pub domain: u32,
    /// v5: flows before this datagram; v9: datagrams before it; IPFIX: data
    /// records before it (each modulo 2^32).
    pub sequence: u32,
    /// v5 only: the sampling interval in the header (0 and 1 mean unsampled).
    pub v5_sampling: u16,
    /// v5 only: flow records.
    pub v5_records: u16,
}

/// One field specifier of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The information element (enterprise bit cleared).
    pub id: u16,
    /// Whether an enterprise number followed (then `id` is that enterprise's, not IANA's).
    pub enterprise: bool,
    /// Bytes in each record, or [`VARIABLE`].
    pub length: u16,
}

/// A template record as it appears on the wire (fields not yet read).
#[derive(Clone, Copy, Debug)]
pub struct TemplateRecord<'a> {
    /// The template id (>= 256 for a usable one).
    pub id: u16,
    /// Fields, scope fields first in an options template.
    pub field_count: u16,
    /// Scope fields among them (0 for a data template).
    pub scope_count: u16,
    /// Whether it is an options template.
    pub options: bool,
    /// The field specifiers' bytes.
    fields: Reader<'a>,
    version: u16,
}

impl<'a> TemplateRecord<'a> {
    /// Whether this is an IPFIX withdrawal (a field count of 0).
    pub fn is_withdrawal(&self) -> bool {
        self.field_count == 0
    }

    /// The field specifiers, in order (checked by [`Datagram::parse`]).
    pub fn fields(&self) -> impl Iterator<Item = FieldSpec> + 'a {
        let mut r = self.fields;
        let (count, version) = (self.field_count, self.version);
        (0..count).map_while(move |_| read_field(&mut r, version).ok())
    }
}

/// One element of a datagram, in order.
#[derive(Clone, Copy, Debug)]
pub enum Element<'a> {
    /// A (possibly options) template record, or an IPFIX withdrawal.
    Template(TemplateRecord<'a>),
    /// A data set: its template id and its bytes (records and padding).
    Data {
        /// The set id, i.e. the template id.
        template: u16,
        /// The records and any padding.
        body: &'a [u8],
    },
    /// A v5 flow record (48 bytes, checked).
    V5Record(&'a [u8]),
}

/// What the checking walk found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Walked {
    /// Template and options template records (withdrawals included).
    pub templates: u32,
    /// Data sets.
    pub data_sets: u32,
    /// v5 records.
    pub v5_records: u32,
    /// Sets with reserved ids, skipped.
    pub skipped_sets: u32,
}

/// A datagram whose framing is checked to its last byte.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// Version, domain, sequence.
    pub header: Header,
    /// What the checking walk found.
    pub walked: Walked,
    body: Reader<'a>,
}

/// A rejected datagram: the header when it could be read, and the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The header, if it was readable.
    pub header: Option<Header>,
    /// What was wrong.
    pub error: DecodeError,
}

impl<'a> Datagram<'a> {
    /// Reads the header and checks the framing of every set and template
    /// record; `Err` when anything is out of bounds or left over.
    pub fn parse(data: &'a [u8]) -> Result<Self, Malformed> {
        let (header, body) = read_header(data).map_err(|error| Malformed { header: None, error })?;
        if header.version == IPFIX {
            message_length(data).map_err(|error| Malformed {
                header: Some(header),
                error,
            })?;
        }
        let walked = walk(header, body, &mut |_| {}).map_err(|error| Malformed {
            header: Some(header),
            error,
        })?;
        Ok(Datagram { header, walked, body })
    }

    /// Calls `each` for every template record, data set and v5 record, in order.
    pub fn visit(&self, each: &mut impl FnMut(Element<'a>)) {
        // Checked by `parse`: this walk cannot fail.
        let _ = walk(self.header, self.body, each);
    }
}

fn read_header(data: &[u8]) -> Result<(Header, Reader<'_>), DecodeError> {
    let mut r = Reader::new(data, 0);
    let version = r.u16("version")?;
    match version {
        V5 => {
            let count = r.u16("count")?;
            r.skip(12, "uptime and time")?;
            let sequence = r.u32("flow_sequence")?;
            let engine = r.u16("engine type and id")?;
            let sampling = r.u16("sampling_interval")?;
            if count > V5_MAX_RECORDS {
                return Err(DecodeError::TooManyRecords(count));
            }
            let header = Header {
                version,
                domain: u32::from(engine),
                sequence,
                v5_sampling: sampling & 0x3fff,
                v5_records: count,
            };
            Ok((header, r))
        }
        V9 => {
            r.skip(10, "count, uptime and time")?;
            let sequence = r.u32("sequence")?;
            let domain = r.u32("source_id")?;
            Ok((header(version, domain, sequence), r))
        }
        IPFIX => {
            r.skip(2, "length")?; // checked by `parse`, once the exporter is known
            r.skip(8, "export time and sequence")?;
            let sequence = be32(data, 8);
            let domain = r.u32("observation domain")?;
            Ok((header(version, domain, sequence), r))
        }
        other => Err(DecodeError::Version(other)),
    }
}

/// An IPFIX message's length field must be the datagram's length.
fn message_length(data: &[u8]) -> Result<(), DecodeError> {
    let length = usize::from(crate::parse::bytes::be16(data, 2));
    if length > data.len() {
        return Err(DecodeError::Truncated {
            at: 0,
            what: "message",
            need: length,
            left: data.len(),
        });
    }
    if length < data.len() {
        return Err(DecodeError::Trailing {
            at: length,
            what: "the message",
            left: data.len() - length,
        });
    }
    Ok(())
}

fn header(version: u16, domain: u32, sequence: u32) -> Header {
    Header {
        version,
        domain,
        sequence,
        v5_sampling: 0,
        v5_records: 0,
    }
}

/// Walks the body after the header, calling `each` for what it finds.
fn walk<'a>(
    header: Header,
    mut r: Reader<'a>,
    each: &mut impl FnMut(Element<'a>),
) -> Result<Walked, DecodeError> {
    let mut walked = Walked::default();
    if header.version == V5 {
        for _ in 0..header.v5_records {
            each(Element::V5Record(r.take(V5_RECORD, "v5 flow record")?.rest()));
            walked.v5_records += 1;
        }
        r.finish("the last v5 record")?;
        return Ok(walked);
    }
    let (templates, options) = if header.version == V9 { (0, 1) } else { (2, 3) };
    while r.left() > 0 {
        let at = r.offset();
        let id = r.u16("set id")?;
        let length = r.u16("set length")?;
        let body_len = usize::from(length)
            .checked_sub(4)
            .ok_or(DecodeError::SetLength { at, length })?;
        let body = r.take(body_len, "set")?;
        if id == templates || id == options {
            template_set(body, header.version, id == options, each, &mut walked)?;
        } else if id >= FIRST_DATA_SET {
            walked.data_sets += 1;
            each(Element::Data {
                template: id,
                body: body.rest(),
            });
        } else {
            walked.skipped_sets += 1;
        }
    }
    Ok(walked)
}

/// The template records of one (options) template set, then padding.
fn template_set<'a>(
    mut r: Reader<'a>,
    version: u16,
    options: bool,
    each: &mut impl FnMut(Element<'a>),
    walked: &mut Walked,
) -> Result<(), DecodeError> {
    // A record is at least 4 bytes (an IPFIX withdrawal); fewer left is padding.
    while r.left() >= 4 {
        let at = r.offset();
        let id = r.u16("template id")?;
        let (field_count, scope_count) = if options && version == V9 {
            let scope_len = r.u16("option scope length")?;
            let option_len = r.u16("option length")?;
            if scope_len % 4 != 0 || option_len % 4 != 0 {
                return Err(DecodeError::OptionLength { at });
            }
            ((scope_len / 4).saturating_add(option_len / 4), scope_len / 4)
        } else {
            let fields = r.u16("field count")?;
            let scope = if options && fields > 0 {
                let scope = r.u16("scope field count")?;
                if scope == 0 || scope > fields {
                    return Err(DecodeError::ScopeCount { at, scope, fields });
                }
                scope
            } else {
                0
            };
            (fields, scope)
        };
        if field_count == 0 && (version == V9 || id == 0) {
            // v9 has no withdrawal, and template id 0 is no template: zero padding.
            break;
        }
        let start = r;
        for _ in 0..field_count {
            read_field(&mut r, version)?;
        }
        let used = r.offset() - start.offset();
        let fields = start.sub(used);
        each(Element::Template(TemplateRecord {
            id,
            field_count,
            scope_count,
            options,
            fields,
            version,
        }));
        walked.templates += 1;
    }
    Ok(())
}

fn read_field(r: &mut Reader<'_>, version: u16) -> Result<FieldSpec, DecodeError> {
    let kind = r.u16("field type")?;
    let length = r.u16("field length")?;
    let enterprise = version == IPFIX && kind & 0x8000 != 0;
    if enterprise {
        r.skip(4, "enterprise number")?;
    }
    Ok(FieldSpec {
        id: if enterprise { kind & 0x7fff } else { kind },
        enterprise,
        length,
    })
}

/// One data record's fields, as [`DataRecords`] yields them: each field's
/// spec and bytes, in template order.
pub type FieldValue<'a> = (FieldSpec, &'a [u8]);

/// Walks the records of a data set with its template's fields: a record at a
/// time while at least `min_len` bytes are left (fewer is padding).
#[derive(Clone, Debug)]
pub struct DataRecords<'a, 't> {
    r: Reader<'a>,
    fields: &'t [FieldSpec],
    min_len: usize,
}

/// A data record that runs past the end of its set (a variable-length field's length lies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overrun;

impl<'a, 't> DataRecords<'a, 't> {
    /// The records of `body` under `fields`; `min_len` (> 0) is the template's
    /// shortest record (variable-length fields as 1 byte).
    pub fn new(body: &'a [u8], fields: &'t [FieldSpec], min_len: usize) -> Self {
        DataRecords {
            r: Reader::new(body, 0),
            fields,
            min_len: min_len.max(1),
        }
    }

    /// Checks that every record fits; returns how many there are.
    pub fn check(&self) -> Result<u32, Overrun> {
        let mut walk = self.clone();
        let mut n = 0u32;
        while walk.next_record(&mut |_| {})? {
            n += 1;
        }
        Ok(n)
    }

    /// Calls `each` with every field of the next record; `Ok(false)` when
    /// only padding is left.
    pub fn next_record(&mut self, each: &mut impl FnMut(FieldValue<'a>)) -> Result<bool, Overrun> {
        if self.r.left() < self.min_len {
            return Ok(false);
        }
        for &spec in self.fields {
            let len = if spec.length == VARIABLE {
                match self.r.u8("length").map_err(|_| Overrun)? {
                    255 => usize::from(self.r.u16("length").map_err(|_| Overrun)?),
                    n => usize::from(n),
                }
            } else {
                usize::from(spec.length)
            };
            let bytes = self.r.take(len, "field").map_err(|_| Overrun)?.rest();
            each((spec, bytes));
        }
        Ok(true)
    }
}

/// An unsigned integer field of 1 to 8 bytes (RFC 7011 reduced-size
/// encoding); `None` for any other length.
pub fn uint(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)))
}

/// An address field: 4 bytes IPv4, 16 bytes IPv6, `None` otherwise.
pub fn address(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(b)))
    } else if let Ok(b) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        None
    }
}

/// v5 record field offsets.
pub mod v5 {
    /// srcaddr.
    pub const SRC: usize = 0;
    /// dstaddr.
    pub const DST: usize = 4;
    /// dPkts.
    pub const PACKETS: usize = 16;
    /// dOctets.
    pub const OCTETS: usize = 20;
    /// dstport.
    pub const DST_PORT: usize = 34;
    /// tcp_flags.
    pub const TCP_FLAGS: usize = 37;
    /// prot.
    pub const PROTOCOL: usize = 38;
}

fn be32(b: &[u8], at: usize) -> u32 {
    crate::parse::bytes::be32(b, at)
}

/// A bounds-checked big-endian reader over one part of a datagram; `base` is
/// its offset in the datagram, for error messages.
#[derive(Clone, Copy, Debug)]
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// A reader over the next `n` bytes (which the caller has consumed already).
    fn sub(&self, n: usize) -> Reader<'a> {
        let end = self.pos.saturating_add(n).min(self.data.len());
        Reader::new(self.data.get(self.pos..end).unwrap_or_default(), self.offset())
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        let truncated = DecodeError::Truncated {
            at: self.offset(),
            what,
            need: n,
            left: self.left(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated)?;
        let bytes = self.data.get(self.pos..end).ok_or(truncated)?;
        let base = self.offset();
        self.pos = end;
        Ok(Reader::new(bytes, base))
    }

    fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.take(n, what).map(|_| ())
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?.data.first().copied().unwrap_or(0))
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?.data;
        Ok(crate::parse::bytes::be16(b, 0))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?.data;
        Ok(crate::parse::bytes::be32(b, 0))
    }

    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

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
