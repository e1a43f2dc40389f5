//! Classic pcap, read without libpcap: a record walker over bytes in memory
//! (a file's blocks, `super::blocks`) and the same walker over a byte stream
//! (standard input, a TCP sender). libpcap's own file reader costs about three quarters of the
//! time a fast counter needs (see the performance issue); pcapng still goes
//! through libpcap (`super::libpcap`).
//!
//! Both byte orders and both timestamp resolutions are read. A record longer
//! than [`MAX_RECORD`] is corrupt: nothing trustworthy follows it.

use std::io::{self, Read};

#[cfg(doc)]
use super::blocks::BlockReader;
use super::{Record, RecordSource, SourceError};
use crate::parse::LinkType;
use crate::prefetch::{CACHE_LINE, prefetch};

/// Length of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Length of each record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// Largest record accepted (libpcap's own maximum snapshot length).
pub const MAX_RECORD: usize = 262_144;

const MAGIC_MICRO: u32 = 0xa1b2_c3d4;
const MAGIC_NANO: u32 = 0xa1b2_3c4d;
const MAGIC_PCAPNG: u32 = 0x0a0d_0d0a;

/// What the file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHeader {
    /// Fields are big-endian relative to the reader's little-endian view.
    pub big_endian: bool,
    /// Timestamps carry nanoseconds instead of microseconds.
    pub nanos: bool,
    /// The capture's snapshot length.
    pub snaplen: u32,
    /// The pcap LINKTYPE number.
    pub linktype: u32,
}

impl FileHeader {
    /// The snapshot length libpcap applies: a 0 or oversized value means the maximum.
    pub fn effective_snaplen(&self) -> usize {
        match self.snaplen as usize {
            0 => MAX_RECORD,
            n => n.min(MAX_RECORD),
        }
    }
}

/// Why a header was not classic pcap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 24 bytes.
    TooShort,
    /// A pcapng section header: read it through libpcap instead.
    Pcapng,
    /// Not a capture file at all.
    NotPcap,
}

/// Reads the 24-byte file header.
pub fn parse_file_header(b: &[u8]) -> Result<FileHeader, HeaderError> {
    let Some(head) = b.get(..FILE_HEADER_LEN) else {
        if b.len() >= 4 && u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == MAGIC_PCAPNG {
            return Err(HeaderError::Pcapng);
        }
        return Err(HeaderError::TooShort);
    };
    let le = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let magic = le(0);
    let (big_endian, nanos) = match magic {
        MAGIC_MICRO => (false, false),
        MAGIC_NANO => (false, true),
        m if m.swap_bytes() == MAGIC_MICRO => (true, false),
        m if m.swap_bytes() == MAGIC_NANO => (true, true),
        MAGIC_PCAPNG => return Err(HeaderError::Pcapng),
        _ => return Err(HeaderError::NotPcap),
    };
    let field = |at: usize| if big_endian { le(at).swap_bytes() } else { le(at) };
    Ok(FileHeader {
        big_endian,
        nanos,
        snaplen: field(16),
        // The upper bits hold FCS information in some writers (the LINKTYPE is 16 bits).
        linktype: field(20) & 0xffff,
    })
}

/// One step of walking records in a buffer.
enum Step {
    /// A whole record: its fields, where its data starts, and its total size.
    Record {
        ts_ns: u64,
        wire_len: u32,
        data_at: usize,
        data_len: usize,
        size: usize,
    },
    /// The buffer ends inside this record.
    NeedMore,
    /// The record header claims an impossible length.
    Corrupt(usize),
}

/// The 32-bit field at byte `i` of a record header, in the file's byte order.
#[inline(always)]
fn header_field(h: &FileHeader, rh: &[u8; RECORD_HEADER_LEN], i: usize) -> u32 {
    if h.big_endian {
        field_in::<true>(rh, i)
    } else {
        field_in::<false>(rh, i)
    }
}

/// [`header_field`] in a byte order known where it is compiled (`BIG`).
#[inline(always)]
fn field_in<const BIG: bool>(rh: &[u8; RECORD_HEADER_LEN], i: usize) -> u32 {
    let v = u32::from_le_bytes([rh[i], rh[i + 1], rh[i + 2], rh[i + 3]]);
    if BIG { v.swap_bytes() } else { v }
}

#[inline(always)]
fn step(h: &FileHeader, b: &[u8]) -> Step {
    let Some(rh) = b
        .get(..RECORD_HEADER_LEN)
        .and_then(|h| <&[u8; RECORD_HEADER_LEN]>::try_from(h).ok())
    else {
        return Step::NeedMore;
    };
    let field = |at: usize| header_field(h, rh, at);
    let incl = field(8) as usize;
    if incl > MAX_RECORD {
        return Step::Corrupt(incl);
    }
    let size = RECORD_HEADER_LEN + incl;
    if b.len() < size {
        return Step::NeedMore;
    }
    let frac = u64::from(field(4));
    let ts_ns = u64::from(field(0)) * 1_000_000_000 + if h.nanos { frac } else { frac * 1_000 };
    Step::Record {
        ts_ns,
        wire_len: field(12),
        data_at: RECORD_HEADER_LEN,
        // As libpcap does, bytes beyond the file's snapshot length are skipped.
        data_len: incl.min(h.effective_snaplen()),
        size,
    }
}

pub(super) fn link_of(h: &FileHeader, what: &str) -> Result<LinkType, SourceError> {
    LinkType::from_linktype(h.linktype).ok_or_else(|| SourceError::UnsupportedLink {
        what: what.to_string(),
        linktype: h.linktype,
    })
}

/// Seconds in a day, for the time checks of [`BlockReader::guess_boundary`].
const DAY_SECS: u32 = 86_400;

/// Plausible records in a row that [`BlockReader::guess_boundary`] wants
/// before it takes a position for a record boundary.
pub const RESYNC_CONFIRM: usize = 16;

/// How far past its start [`BlockReader::guess_boundary`] looks: more than
/// any record, so in a file of whole records a boundary is always in reach.
pub const RESYNC_SEARCH: usize = 2 * (RECORD_HEADER_LEN + MAX_RECORD);

/// Records of a classic pcap held in memory (benchmarks, the fuzz targets);
/// files are read in blocks by [`BlockReader`], with this walk.
pub struct SliceReader<D: AsRef<[u8]>> {
    data: D,
    header: FileHeader,
    link: LinkType,
    pos: usize,
    start: usize,
    end: usize,
    /// The header's effective snapshot length, kept for the hot path.
    snaplen: usize,
    what: String,
}

impl<D: AsRef<[u8]>> SliceReader<D> {
    /// Reads the header of `data`; `what` names the input in errors.
    pub fn new(data: D, what: &str) -> Result<Self, SourceError> {
        let header = parse_file_header(data.as_ref()).map_err(|e| SourceError::header(what, e))?;
        let link = link_of(&header, what)?;
        let end = data.as_ref().len();
        Ok(SliceReader {
            data,
            header,
            link,
            pos: FILE_HEADER_LEN,
            start: FILE_HEADER_LEN,
            end,
            snaplen: header.effective_snaplen(),
            what: what.to_string(),
        })
    }

    /// Starts again at the first record (for `--loop`).
    pub fn rewind(&mut self) {
        self.pos = self.start;
    }
}

/// The first position at or after `from` where records seem to begin:
/// [`RESYNC_CONFIRM`] plausible record headers in a row follow from it, or
/// fewer that end exactly at `end`, the end of the data. Only a guess: bytes
/// inside a packet can look like records, so a reader of the part starting
/// there must have it confirmed by the part before ending exactly there.
/// `None` when nothing within [`RESYNC_SEARCH`] bytes looks so (a damaged
/// file, or the end of the data).
///
/// `window` holds the data's bytes from position `base` on (all of them, or
/// as far as the guess may look); `first_secs` is the time of the data's
/// first record.
pub(super) fn guess_boundary_in(
    header: &FileHeader,
    snaplen: usize,
    window: &[u8],
    base: u64,
    from: u64,
    end: u64,
    first_secs: u32,
) -> Option<u64> {
    let last = from.saturating_add(RESYNC_SEARCH as u64).min(end);
    (from..last).find(|&at| plausible_run(header, snaplen, window, base, at, end, first_secs))
}

/// Whether [`RESYNC_CONFIRM`] plausible records follow from `at` (or fewer,
/// ending exactly at `end`) in data whose first record was taken at
/// `first_secs`; `window` holds the data from `base` on.
fn plausible_run(
    header: &FileHeader,
    snaplen: usize,
    window: &[u8],
    base: u64,
    mut at: u64,
    end: u64,
    first_secs: u32,
) -> bool {
    let frac_limit = if header.nanos { 1_000_000_000 } else { 1_000_000 };
    let mut previous_secs = None;
    for _ in 0..RESYNC_CONFIRM {
        if at == end {
            return true;
        }
        let Some(rh) = usize::try_from(at - base)
            .ok()
            .and_then(|i| window.get(i..i + RECORD_HEADER_LEN))
            .and_then(|h| <&[u8; RECORD_HEADER_LEN]>::try_from(h).ok())
        else {
            return false;
        };
        let field = |i: usize| header_field(header, rh, i);
        let (secs, frac, incl, wire) = (field(0), field(4), field(8) as usize, field(12) as usize);
        // As a writer would have made it: a fraction of a second, some
        // bytes (a run of zeros is no run of records), no more than the
        // snapshot length, no more than were on the wire, within a day of
        // the record before and a year of the file's first (a header read
        // a few bytes off takes its time from another field, or from
        // packet bytes).
        let near = previous_secs.is_none_or(|p: u32| p.abs_diff(secs) <= DAY_SECS)
            && first_secs.abs_diff(secs) <= 366 * DAY_SECS;
        if frac >= frac_limit || incl == 0 || incl > snaplen || incl > wire || !near {
            return false;
        }
        previous_secs = Some(secs);
        at += (RECORD_HEADER_LEN + incl) as u64;
    }
    at <= end
}

impl<D: AsRef<[u8]>> SliceReader<D> {
    /// The file header.
    pub fn header(&self) -> FileHeader {
        self.header
    }
}

impl<D: AsRef<[u8]>> RecordSource for SliceReader<D> {
    fn link(&self) -> LinkType {
        self.link
    }

    #[inline]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        let all = self.data.as_ref();
        if self.pos >= self.end {
            return Ok(None);
        }
        match record_at(all, self.pos, self.end, &self.header, self.snaplen) {
            Ok((record, next)) => {
                self.pos = next;
                Ok(Some(record))
            }
            Err(e) => {
                self.pos = self.end;
                Err(e.into_error(0, &self.what))
            }
        }
    }

    /// The hot path of `count`: the data and the position stay in registers
    /// for the whole batch, `each` is inlined into the walk, and the bytes a
    /// kilobyte ahead are prefetched (the walk is a chain of loads that the
    /// hardware prefetcher did not keep up with).
    #[inline]
    fn read_records<F: FnMut(Record<'_>)>(&mut self, max: usize, mut each: F) -> Result<usize, SourceError> {
        let all = self.data.as_ref();
        let (end, header, snaplen) = (self.end, self.header, self.snaplen);
        let mut pos = self.pos;
        let mut n = 0;
        while n < max && pos < end {
            // Two cache lines: a minimum-size record is a little longer
            // than one, so one hint a record would skip a line now and then.
            prefetch(all, pos + PREFETCH_AHEAD);
            prefetch(all, pos + PREFETCH_AHEAD + CACHE_LINE);
            match record_at(all, pos, end, &header, snaplen) {
                Ok((record, next)) => {
                    pos = next;
                    n += 1;
                    each(record);
                }
                Err(e) => {
                    self.pos = self.end;
                    return Err(e.into_error(0, &self.what));
                }
            }
        }
        self.pos = pos;
        Ok(n)
    }
}

/// How far ahead of the record being read its bytes are asked for
/// ([`crate::prefetch`]): about 15 records of a minimum-size scan. Measured
/// on 10 million such records: 512 bytes ahead took 0.25-0.29 s, 1024 and
/// 4096 0.23-0.24 s, none 0.36-0.38 s; the second line of each hint took
/// another 6 % off (medians of eight alternate runs, 0.34 -> 0.32 s).
pub(super) const PREFETCH_AHEAD: usize = 1024;

/// Why a record in memory cannot be read (at which position of the bytes):
/// what [`SourceError`] it becomes.
pub(super) enum RecordError {
    Truncated(usize),
    Corrupt(usize, usize),
}

impl RecordError {
    /// The error, at its offset in the input: `base` is the input offset
    /// of the bytes' first.
    #[cold]
    pub(super) fn into_error(self, base: u64, what: &str) -> SourceError {
        match self {
            RecordError::Truncated(at) => SourceError::Truncated {
                what: what.to_string(),
                offset: base + at as u64,
            },
            RecordError::Corrupt(at, len) => SourceError::Corrupt {
                what: what.to_string(),
                offset: base + at as u64,
                len,
            },
        }
    }
}

/// The record at `at` (before `end`) of `all`, and where the next one starts:
/// straight-line header reads and one bounds check for the whole record.
#[inline(always)]
pub(super) fn record_at<'a>(
    all: &'a [u8],
    at: usize,
    end: usize,
    header: &FileHeader,
    snaplen: usize,
) -> Result<(Record<'a>, usize), RecordError> {
    if header.big_endian {
        record_in::<true>(all, at, end, header, snaplen)
    } else {
        record_in::<false>(all, at, end, header, snaplen)
    }
}

/// [`record_at`] for a file whose fields are big-endian (`BIG`) or not: the
/// record walk picks one per block, so the byte order is not tested once per
/// field of every record.
#[inline(always)]
pub(super) fn record_in<'a, const BIG: bool>(
    all: &'a [u8],
    at: usize,
    end: usize,
    header: &FileHeader,
    snaplen: usize,
) -> Result<(Record<'a>, usize), RecordError> {
    let Some(rh) = all
        .get(at..at + RECORD_HEADER_LEN)
        .and_then(|h| <&[u8; RECORD_HEADER_LEN]>::try_from(h).ok())
    else {
        return Err(RecordError::Truncated(at));
    };
    let field = |i: usize| field_in::<BIG>(rh, i);
    let incl = field(8) as usize;
    if incl > MAX_RECORD {
        return Err(RecordError::Corrupt(at, incl));
    }
    let data_at = at + RECORD_HEADER_LEN;
    let next = data_at + incl;
    let Some(data) = all
        .get(data_at..data_at + incl.min(snaplen))
        .filter(|_| next <= end)
    else {
        return Err(RecordError::Truncated(at));
    };
    let frac = u64::from(field(4));
    let ts_ns = u64::from(field(0)) * 1_000_000_000 + if header.nanos { frac } else { frac * 1_000 };
    Ok((
        Record {
            ts_ns,
            wire_len: field(12),
            data,
        },
        next,
    ))
}

/// Records of a classic pcap arriving on a byte stream, with a bounded buffer.
pub struct StreamReader<R: Read> {
    inner: R,
    header: FileHeader,
    link: LinkType,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    offset: u64,
    what: String,
}

/// Buffer per stream: large enough for any record, small enough for many senders.
const STREAM_BUFFER: usize = 1 << 20;

impl<R: Read> StreamReader<R> {
    /// Reads the file header from `inner`; `what` names the stream in errors.
    pub fn new(mut inner: R, what: &str) -> Result<Self, SourceError> {
        let mut head = [0u8; FILE_HEADER_LEN];
        let got = read_full(&mut inner, &mut head).map_err(|e| SourceError::io(what, e))?;
        let header = parse_file_header(&head[..got]).map_err(|e| SourceError::header(what, e))?;
        let link = link_of(&header, what)?;
        Ok(StreamReader {
            inner,
            header,
            link,
            buf: vec![0u8; STREAM_BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: FILE_HEADER_LEN as u64,
            what: what.to_string(),
        })
    }

    /// The stream's header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// Moves unread bytes to the front and reads more; false at end of stream.
    fn refill(&mut self) -> Result<bool, SourceError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SourceError::io(&self.what, e)),
            }
        }
    }
}

impl<R: Read> RecordSource for StreamReader<R> {
    fn link(&self) -> LinkType {
        self.link
    }

    /// A stream blocks while its sender is quiet.
    fn may_wait(&self) -> bool {
        true
    }

    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        loop {
            match step(&self.header, &self.buf[self.start..self.end]) {
                Step::Record {
                    ts_ns,
                    wire_len,
                    data_at,
                    data_len,
                    size,
                } => {
                    let at = self.start;
                    self.start += size;
                    self.offset += size as u64;
                    return Ok(Some(Record {
                        ts_ns,
                        wire_len,
                        data: &self.buf[at + data_at..at + data_at + data_len],
                    }));
                }
                Step::Corrupt(len) => {
                    return Err(SourceError::Corrupt {
                        what: self.what.clone(),
                        offset: self.offset,
                        len,
                    });
                }
                Step::NeedMore => {
                    if !self.refill()? {
                        if self.start == self.end {
                            return Ok(None);
                        }
                        return Err(SourceError::Truncated {
                            what: self.what.clone(),
                            offset: self.offset,
                        });
                    }
                }
            }
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Writes classic pcap files: tests, the demo's `--write`, benchmarks.
pub struct PcapWriter<W: io::Write> {
    out: W,
}

impl<W: io::Write> PcapWriter<W> {
    /// Writes a little-endian nanosecond header for `link` with `snaplen`.
    pub fn new(mut out: W, link: LinkType, snaplen: u32) -> io::Result<Self> {
        out.write_all(&MAGIC_NANO.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0u8; 8])?;
        out.write_all(&snaplen.to_le_bytes())?;
        out.write_all(&link.linktype().to_le_bytes())?;
        Ok(PcapWriter { out })
    }

    /// Appends one record.
    pub fn write(&mut self, ts_ns: u64, wire_len: u32, data: &[u8]) -> io::Result<()> {
        let secs = (ts_ns / 1_000_000_000) as u32;
        let nanos = (ts_ns % 1_000_000_000) as u32;
        let incl = u32::try_from(data.len()).map_err(|_| io::Error::other("record too long"))?;
        for v in [secs, nanos, incl, wire_len] {
            self.out.write_all(&v.to_le_bytes())?;
        }
        self.out.write_all(data)
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[(u64, &[u8])]) -> Vec<u8> {
        let mut w = PcapWriter::new(Vec::new(), LinkType::RawIp, 65535).unwrap();
        for (ts, d) in records {
            w.write(*ts, d.len() as u32 + 10, d).unwrap();
        }
        w.finish().unwrap()
    }

    type Records = Vec<(u64, u32, Vec<u8>)>;

    fn collect(src: &mut impl RecordSource) -> (Records, Option<SourceError>) {
        let mut out = Vec::new();
        loop {
            match src.next_record() {
                Ok(Some(r)) => out.push((r.ts_ns, r.wire_len, r.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn slice_and_stream_read_the_same_records() {
        let bytes = file(&[(5_000_000_123, b"abc"), (6_000_000_000, b""), (7, b"xyzw")]);
        let (a, ea) = collect(&mut SliceReader::new(&bytes[..], "t").unwrap());
        let (b, eb) = collect(&mut StreamReader::new(&bytes[..], "t").unwrap());
        assert!(ea.is_none() && eb.is_none());
        assert_eq!(a, b);
        assert_eq!(a[0], (5_000_000_123, 13, b"abc".to_vec()));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn big_endian_microsecond_headers_are_read() {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC_MICRO.to_be_bytes());
        b.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&65535u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        for v in [10u32, 250_000, 2, 60] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&[9, 9]);
        let mut r = SliceReader::new(&b[..], "be").unwrap();
        assert_eq!(r.link(), LinkType::Ethernet);
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(
            (rec.ts_ns, rec.wire_len, rec.data),
            (10_250_000_000, 60, &[9u8, 9][..])
        );
    }

    #[test]
    fn truncated_last_record_keeps_the_ones_before() {
        let bytes = file(&[(1, b"abcd"), (2, b"efgh")]);
        let cut = &bytes[..bytes.len() - 2];
        let (a, e) = collect(&mut SliceReader::new(cut, "cut").unwrap());
        assert_eq!(a.len(), 1);
        assert!(matches!(e, Some(SourceError::Truncated { .. })));
        let (b, e) = collect(&mut StreamReader::new(cut, "cut").unwrap());
        assert_eq!(b.len(), 1);
        assert!(matches!(e, Some(SourceError::Truncated { .. })));
    }

    #[test]
    fn huge_record_length_is_corrupt_not_an_allocation() {
        let mut bytes = file(&[(1, b"abcd")]);
        bytes[FILE_HEADER_LEN + 8..FILE_HEADER_LEN + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, e) = collect(&mut StreamReader::new(&bytes[..], "huge").unwrap());
        assert!(matches!(e, Some(SourceError::Corrupt { .. })));
        let (_, e) = collect(&mut SliceReader::new(&bytes[..], "huge").unwrap());
        assert!(matches!(e, Some(SourceError::Corrupt { .. })));
    }

    #[test]
    fn headers_that_are_not_classic_pcap() {
        assert_eq!(parse_file_header(b"short"), Err(HeaderError::TooShort));
        assert_eq!(
            parse_file_header(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]),
            Err(HeaderError::Pcapng)
        );
        assert_eq!(parse_file_header(&[b'x'; 24]), Err(HeaderError::NotPcap));
        let mut bytes = file(&[]);
        bytes[20..24].copy_from_slice(&147u32.to_le_bytes());
        assert!(matches!(
            SliceReader::new(&bytes[..], "odd").err(),
            Some(SourceError::UnsupportedLink { linktype: 147, .. })
        ));
    }

    #[test]
    fn stream_records_spanning_refills_are_whole() {
        // Feed one byte at a time: every record straddles reads.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        let bytes = file(&[(1, b"hello"), (2, b"world!")]);
        let (a, e) = collect(&mut StreamReader::new(Trickle(&bytes), "trickle").unwrap());
        assert!(e.is_none());
        assert_eq!(
            a.iter().map(|r| r.2.clone()).collect::<Vec<_>>(),
            [b"hello".to_vec(), b"world!".to_vec()]
        );
    }
}
