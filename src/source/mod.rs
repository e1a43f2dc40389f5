//! Where packets come from: capture files, pcap streams (standard input or TCP
//! senders), live interfaces and the built-in demo traffic.
//!
//! Every source yields the same thing, a [`Record`] (timestamp, wire length,
//! captured bytes) of one link type, through [`RecordSource`]. Pacing, looping and
//! filtering are layered on top ([`pump`]), so they work the same for all sources.

pub mod blocks;
pub mod demo;
pub mod file;
pub mod libpcap;
pub mod listen;
pub mod netflow;
pub mod open;
pub mod pacing;
pub mod parallel;
pub mod pcap_format;
pub mod peers;
pub mod sflow;
pub mod status;
pub mod udp;
pub mod udp_socket;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

pub use pacing::{Pacer, Speed};
pub use status::{SourceStatus, StatusSum};

use crate::counting::PacketSink;
use crate::parse::LinkType;

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Capture time, nanoseconds since the Unix epoch (the packet clock).
    pub ts_ns: u64,
    /// Length on the wire (may exceed `data.len()` when the snapshot length cut it).
    pub wire_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A stream of records of one link type. Records borrow the source's buffer,
/// so reading allocates nothing per packet.
pub trait RecordSource {
    /// The link type of every record.
    fn link(&self) -> LinkType;
    /// The next record; `Ok(None)` at the end of the input.
    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError>;

    /// Hands up to `max` records to `each`; returns how many (0 at the end of
    /// the input). On an error the records before it have been handed over.
    /// Sources that can walk records faster in a batch than one call at a time
    /// (a file in memory) override it.
    #[inline]
    fn read_records<F: FnMut(Record<'_>)>(&mut self, max: usize, mut each: F) -> Result<usize, SourceError>
    where
        Self: Sized,
    {
        for n in 0..max {
            match self.next_record()? {
                Some(r) => each(r),
                None => return Ok(n),
            }
        }
        Ok(max)
    }

    /// True when `next_record` may block waiting for input (a network stream):
    /// counting then flushes after every record so the picture never waits.
    fn may_wait(&self) -> bool {
        false
    }
}

/// What went wrong with a source, worded for the person at the console: each
/// message names the problem and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input could not be opened or read.
    #[error("cannot read {what}: {reason}{}", io_hint(.reason))]
    Io {
        /// The file, stream or connection.
        what: String,
        /// The operating system's reason (not a `source`: the message already
        /// says it, and `{:#}` would say it twice).
        reason: io::Error,
    },
    /// A FIFO, a device, a directory: refused before a byte is read (a
    /// FIFO would wait for a writer, `/dev/zero` never ends).
    #[error("cannot read {what}: it is {kind}, not a capture file{}", not_a_file_hint(*.kind))]
    NotAFile {
        /// The path.
        what: String,
        /// What it is.
        kind: crate::files::Kind,
    },
    /// Fewer bytes than a capture file header.
    #[error("{what} is not a capture file: it is shorter than a pcap header (24 bytes)")]
    TooShort {
        /// The input.
        what: String,
    },
    /// Not pcap or pcapng at all.
    #[error("{what} is not a pcap or pcapng capture file (write one with `tcpdump -w FILE`)")]
    NotPcap {
        /// The input.
        what: String,
    },
    /// pcapng where only classic pcap can be read (streams).
    #[error("{what} is pcapng, but streams must be classic pcap: use `tcpdump -w -` (not --pcapng)")]
    PcapngStream {
        /// The stream.
        what: String,
    },
    /// The input ends inside a record.
    #[error(
        "{what} ends in the middle of a record at byte {offset}: the capture was cut short (records before it were counted)"
    )]
    Truncated {
        /// The input.
        what: String,
        /// Byte offset of the incomplete record.
        offset: u64,
    },
    /// The file got shorter while it was read (another program truncated
    /// it: capture rotation such as `tcpdump -C/-W` does).
    #[error(
        "{what} got shorter while it was read (truncated or rotated by another program): nothing could be read from byte {offset} on (records before it were counted)"
    )]
    Shrank {
        /// The file.
        what: String,
        /// Where a read found the file's end.
        offset: u64,
    },
    /// A record header with an impossible length.
    #[error(
        "{what} has a corrupt record at byte {offset} (length {len}, over 262144): the capture is damaged (records before it were counted)"
    )]
    Corrupt {
        /// The input.
        what: String,
        /// Byte offset of the record header.
        offset: u64,
        /// The length it claimed.
        len: usize,
    },
    /// A link type scanwall does not parse.
    #[error(
        "{what} has link type {linktype}, which scanwall cannot read; supported: {}",
        LinkType::SUPPORTED
    )]
    UnsupportedLink {
        /// The input.
        what: String,
        /// The pcap LINKTYPE number.
        linktype: u32,
    },
    /// A BPF expression libpcap rejected.
    #[error("bad filter expression `{expression}`: {message} (see `man pcap-filter`)")]
    BadFilter {
        /// The expression.
        expression: String,
        /// libpcap's reason.
        message: String,
    },
    /// The interface does not exist.
    #[error("no such interface `{interface}`: list interfaces with `ip link` (or `tcpdump -D`)")]
    NoSuchInterface {
        /// The name given to `-i`.
        interface: String,
    },
    /// Capturing needs privileges this process lacks.
    #[error(
        "no permission to capture on `{interface}`: run as root, or once: sudo setcap cap_net_raw,cap_net_admin+eip {exe}"
    )]
    NoPermission {
        /// The name given to `-i`.
        interface: String,
        /// Path of this executable, for the setcap line.
        exe: String,
    },
    /// A UDP address that cannot be bound (`--sflow`).
    #[error("cannot receive on {what}: {error}{}", bind_hint(.error))]
    Bind {
        /// The address, e.g. `sFlow address 127.0.0.1:6343`.
        what: String,
        /// The operating system's reason (not a `source`: it is in the message
        /// already, and `{:#}` would print it twice).
        error: io::Error,
    },
    /// A source thread panicked (a bug): the counts it made may be partial.
    #[error(
        "the {thread} thread stopped on an internal error (a bug; the message above says where): its counts may be incomplete"
    )]
    Panicked {
        /// The thread's name.
        thread: String,
    },
    /// Any other libpcap failure.
    #[error("{what}: {message}")]
    Libpcap {
        /// The input or interface.
        what: String,
        /// libpcap's message.
        message: String,
    },
}

fn io_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => " (check the path)",
        io::ErrorKind::PermissionDenied => " (check the file's permissions)",
        io::ErrorKind::IsADirectory => " (give a capture file, not a directory)",
        _ => "",
    }
}

/// What to give `-r` instead of something that is no file.
fn not_a_file_hint(kind: crate::files::Kind) -> &'static str {
    match kind {
        crate::files::Kind::Fifo => " (a pipe is read as a stream on standard input: -r - < PIPE)",
        _ => " (give a capture file, e.g. one written by tcpdump -w FILE)",
    }
}

/// The fix for a failed bind, named.
fn bind_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::AddrInUse => " (another program has this port: stop it, or choose another port)",
        io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or cap_net_bind_service: choose a port above 1023)"
        }
        io::ErrorKind::AddrNotAvailable => {
            " (that address is not on this host: give one of its own, or 0.0.0.0 for all)"
        }
        _ => "",
    }
}

impl SourceError {
    pub(crate) fn io(what: &str, source: io::Error) -> Self {
        SourceError::Io {
            what: what.to_string(),
            reason: source,
        }
    }

    pub(crate) fn header(what: &str, e: pcap_format::HeaderError) -> Self {
        let what = what.to_string();
        match e {
            pcap_format::HeaderError::TooShort => SourceError::TooShort { what },
            pcap_format::HeaderError::NotPcap => SourceError::NotPcap { what },
            pcap_format::HeaderError::Pcapng => SourceError::PcapngStream { what },
        }
    }

    /// True when the records before the error were read and counted.
    pub fn kept_earlier_records(&self) -> bool {
        matches!(
            self,
            SourceError::Truncated { .. } | SourceError::Corrupt { .. } | SourceError::Shrank { .. }
        )
    }
}

/// A BPF filter applied to records of sources that libpcap does not filter for
/// us (files, streams, demo), compiled for the source's link type.
pub struct RecordFilter {
    program: pcap::BpfProgram,
}

impl RecordFilter {
    /// Compiles `expression` for `link`.
    pub fn compile(expression: &str, link: LinkType) -> Result<Self, SourceError> {
        let bad = |message: String| SourceError::BadFilter {
            expression: expression.to_string(),
            message,
        };
        let dead =
            pcap::Capture::dead(pcap::Linktype(link.linktype() as i32)).map_err(|e| bad(e.to_string()))?;
        let program = dead.compile(expression, true).map_err(|e| bad(e.to_string()))?;
        Ok(RecordFilter { program })
    }

    /// Whether the filter accepts `data`.
    pub fn accepts(&self, data: &[u8]) -> bool {
        self.program.filter(data)
    }
}

/// How records flow from a source into counting.
pub struct Pump<'a> {
    /// Paces replays (or not, for `--speed max`).
    pub pacer: Pacer,
    /// Optional BPF filter; rejected records count as filtered.
    pub filter: Option<&'a RecordFilter>,
    /// Set to stop reading at the next check.
    pub stop: &'a AtomicBool,
    /// Added to every timestamp (to keep the packet clock rising across `--loop` passes).
    pub ts_offset: u64,
}

/// Records read and the first and last timestamps of one pass over a source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassSummary {
    /// Records read.
    pub records: u64,
    /// First record's timestamp (before the offset).
    pub first_ts: Option<u64>,
    /// Last record's timestamp (before the offset).
    pub last_ts: Option<u64>,
}

/// Reads `source` to its end (or until stopped), counting every record into `sink`.
///
/// On an error the records before it have been counted; the summary so far is
/// returned with the error.
pub fn pump<S: RecordSource>(
    source: &mut S,
    sink: &mut PacketSink,
    pump: &mut Pump<'_>,
) -> (PassSummary, Result<(), SourceError>) {
    if pump.filter.is_none() && pump.pacer.speed() == Speed::Max {
        return pump_flat_out(source, sink, pump.stop, pump.ts_offset);
    }
    let mut summary = PassSummary::default();
    loop {
        if summary.records % 1024 == 0 && pump.stop.load(Relaxed) {
            return (summary, Ok(()));
        }
        let record = match source.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => return (summary, Ok(())),
            Err(e) => return (summary, Err(e)),
        };
        summary.records += 1;
        summary.first_ts.get_or_insert(record.ts_ns);
        summary.last_ts = Some(record.ts_ns);
        let ts = record.ts_ns.saturating_add(pump.ts_offset);
        pump.pacer.pace(ts, pump.stop);
        match pump.filter {
            Some(f) if !f.accepts(record.data) => sink.filtered(ts),
            _ => sink.packet(ts, record.wire_len, record.data),
        }
        // Paced or filtered reads are slow anyway: show every packet at once.
        sink.flush();
    }
}

/// [`pump`] without pacing or filtering (`count`, `--speed max`): the tightest loop.
fn pump_flat_out<S: RecordSource>(
    source: &mut S,
    sink: &mut PacketSink,
    stop: &AtomicBool,
    ts_offset: u64,
) -> (PassSummary, Result<(), SourceError>) {
    // The choice made once per pass, not once per record: each loop is
    // compiled without the other's test.
    if source.may_wait() {
        pump_batches::<S, true>(source, sink, stop, ts_offset)
    } else {
        pump_batches::<S, false>(source, sink, stop, ts_offset)
    }
}

/// [`pump_flat_out`]'s loop; with `FLUSH_EACH` (a source that may wait for
/// input) every record is shown at once. The per-record closure is inlined
/// into the record walk: called, it reloaded everything it captured on every
/// record, and its times went through `Option`s.
#[inline(always)]
fn pump_batches<S: RecordSource, const FLUSH_EACH: bool>(
    source: &mut S,
    sink: &mut PacketSink,
    stop: &AtomicBool,
    ts_offset: u64,
) -> (PassSummary, Result<(), SourceError>) {
    // No record yet: `u64::MAX` is no time a record carries (its seconds
    // fit 32 bits).
    const NONE: u64 = u64::MAX;
    let (mut records, mut first, mut last) = (0u64, NONE, NONE);
    let result = loop {
        if stop.load(Relaxed) {
            break Ok(());
        }
        let read = source.read_records(
            4096,
            #[inline(always)]
            |r| {
                records += 1;
                if first == NONE {
                    first = r.ts_ns;
                }
                last = r.ts_ns;
                sink.packet(r.ts_ns.saturating_add(ts_offset), r.wire_len, r.data);
                if FLUSH_EACH {
                    sink.flush();
                }
            },
        );
        match read {
            Ok(0) => break Ok(()),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
        sink.flush();
    };
    sink.flush();
    let known = |t: u64| (t != NONE).then_some(t);
    let summary = PassSummary {
        records,
        first_ts: known(first),
        last_ts: known(last),
    };
    (summary, result)
}
