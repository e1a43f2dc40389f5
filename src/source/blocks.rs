//! Classic pcap files read in large blocks (`pread` into one reused buffer),
//! not through a memory map.
//!
//! Why not a map: a mapped file that another program shrinks while it is read
//! (capture rotation: `tcpdump -C/-W` truncates the oldest file to write it
//! again) kills the reader with SIGBUS the moment it touches a page past the
//! new end: no counts, no message. Rust has no safe way to recover from that
//! signal. A read past the end just returns fewer bytes, so here a file that
//! shrinks ends the read cleanly: the records before the damage are counted
//! and the error says what happened ([`SourceError::Shrank`]).
//!
//! The walk over a block is the memory reader's own (`record_at` and its
//! prefetch, see `pcap_format.rs`); a record cut by a block's end is moved to
//! the front of the buffer and completed by the next read.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::pcap_format::{
    FILE_HEADER_LEN, FileHeader, HeaderError, PREFETCH_AHEAD, RECORD_HEADER_LEN, RESYNC_CONFIRM,
    RESYNC_SEARCH, RecordError, guess_boundary_in, link_of, parse_file_header, record_at, record_in,
};
use super::{Record, RecordSource, SourceError};
use crate::parse::LinkType;
use crate::prefetch::{CACHE_LINE, prefetch};

/// Bytes read at a time. Large enough that the system calls cost nothing
/// next to the walk (a call per 14,000 minimum-size records) and four times
/// the largest record (which must fit whole); small enough that the kernel's
/// copy is still in the CPU's cache when the walk reads it. Measured on 10
/// million records: 512 KiB to 2 MiB alike, 4 MiB a little slower, 16 MiB
/// clearly (`docs/performance.md`).
pub const BLOCK: usize = 1 << 20;

/// Where a [`BlockReader`] reads its bytes: by offset, without a shared file
/// position, so the parts of one file that threads count read it side by side.
pub trait ReadAt: Clone + Send + Sync {
    /// Reads into `buf` from `offset`; 0 at the end of the data.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

impl ReadAt for Arc<File> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(&**self, buf, offset)
    }
}

/// Bytes in memory read as a file (tests and the fuzz targets).
#[cfg(any(test, feature = "testing"))]
impl ReadAt for &[u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let from = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let n = buf.len().min(self.len() - from);
        buf[..n].copy_from_slice(&self[from..from + n]);
        Ok(n)
    }
}

/// Reads until `buf` is full or the data ends; returns the bytes read.
fn read_full_at(file: &impl ReadAt, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The file header at the start of `file`: parsed, or why not.
pub fn read_header(file: &impl ReadAt) -> io::Result<Result<FileHeader, HeaderError>> {
    let mut head = [0u8; FILE_HEADER_LEN];
    let got = read_full_at(file, &mut head, 0)?;
    Ok(parse_file_header(&head[..got]))
}

/// The records of a classic pcap file (or of a part of it), read in blocks.
pub struct BlockReader<F: ReadAt = Arc<File>> {
    file: F,
    header: FileHeader,
    link: LinkType,
    /// The header's effective snapshot length, kept for the hot path.
    snaplen: usize,
    what: String,
    /// Where this reader's first record starts, in the file.
    start: u64,
    /// Where its bytes end: the file's size when it was opened, or the end
    /// of its part.
    end: u64,
    /// Bytes of the file from `base`; `buf[lo..hi]` not read yet.
    buf: Vec<u8>,
    base: u64,
    lo: usize,
    hi: usize,
    /// The buffer's size once allocated (at the first read, on the thread
    /// that reads).
    block: usize,
    /// Ended by an error: reads nothing more.
    failed: bool,
}

impl<F: ReadAt> BlockReader<F> {
    /// A reader of the records of `file`, which is `size` bytes long and
    /// begins with `header` (see [`read_header`]); `what` names it in errors.
    pub fn new(file: F, header: FileHeader, size: u64, what: &str) -> Result<Self, SourceError> {
        let start = FILE_HEADER_LEN as u64;
        Ok(BlockReader {
            file,
            header,
            link: link_of(&header, what)?,
            snaplen: header.effective_snaplen(),
            what: what.to_string(),
            start,
            end: size.max(start),
            buf: Vec::new(),
            base: start,
            lo: 0,
            hi: 0,
            block: BLOCK,
            failed: false,
        })
    }

    /// The same reader with buffers of `bytes` (tests: small blocks make
    /// records straddle them).
    #[cfg(any(test, feature = "testing"))]
    pub fn with_block(mut self, bytes: usize) -> Self {
        self.block = bytes.max(1);
        self
    }

    /// Starts again at the first record (for `--loop`).
    pub fn rewind(&mut self) {
        self.base = self.start;
        self.lo = 0;
        self.hi = 0;
        self.failed = false;
    }

    /// Where the records start and where the data ends, in bytes.
    pub fn header_len_and_size(&self) -> (u64, u64) {
        (self.start, self.end)
    }

    /// The file header.
    pub fn header(&self) -> FileHeader {
        self.header
    }

    /// A reader of the records in `range` of the same file. It reads the
    /// records that start at `range.start` (see [`BlockReader::guess_boundary`])
    /// and reports the one that would cross `range.end` as cut short.
    pub fn part(&self, range: std::ops::Range<u64>) -> Self {
        let end = range.end.min(self.end);
        let start = range.start.clamp(self.start, end);
        BlockReader {
            file: self.file.clone(),
            header: self.header,
            link: self.link,
            snaplen: self.snaplen,
            what: self.what.clone(),
            start,
            end,
            buf: Vec::new(),
            base: start,
            lo: 0,
            hi: 0,
            block: self.block,
            failed: false,
        }
    }

    /// The first position at or after `from` where records seem to begin
    /// (only a guess, which the part before must confirm by ending there:
    /// see `pcap_format::guess_boundary_in`), from as many of the file's
    /// bytes as that guess may look at. `None` when nothing looks so, or the
    /// file cannot be read there (the parts' own reads will say why).
    pub fn guess_boundary(&self, from: u64) -> Option<u64> {
        let from = from.clamp(self.start, self.end);
        let reach = RESYNC_SEARCH + RESYNC_CONFIRM * (RECORD_HEADER_LEN + self.snaplen);
        let len = usize::try_from(self.end - from).map_or(reach, |left| left.min(reach));
        let mut window = vec![0u8; len];
        let got = read_full_at(&self.file, &mut window, from).ok()?;
        window.truncate(got);
        let mut first = [0u8; 4];
        if read_full_at(&self.file, &mut first, self.start).ok()? < first.len() {
            return None;
        }
        let first_secs = u32::from_le_bytes(first);
        let first_secs = if self.header.big_endian {
            first_secs.swap_bytes()
        } else {
            first_secs
        };
        guess_boundary_in(
            &self.header,
            self.snaplen,
            &window,
            from,
            from,
            self.end,
            first_secs,
        )
    }

    /// An error at buffer position `at`, with its file offset; nothing is
    /// read after it.
    #[cold]
    fn fail(&mut self, e: RecordError) -> SourceError {
        self.failed = true;
        e.into_error(self.base, &self.what)
    }

    /// Reads the next block behind the unread bytes (a record the last block
    /// cut, moved to the front). False when the buffer already holds every
    /// byte up to the end: what is left unread there is a record cut short.
    /// A read that finds the file ended early is [`SourceError::Shrank`].
    fn refill(&mut self) -> Result<bool, SourceError> {
        let filled_to = self.base + self.hi as u64;
        if filled_to >= self.end {
            return Ok(false);
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; self.block];
        }
        if self.lo > 0 {
            self.buf.copy_within(self.lo..self.hi, 0);
            self.base += self.lo as u64;
            self.hi -= self.lo;
            self.lo = 0;
        }
        if self.hi == self.buf.len() {
            // One unfinished record fills the buffer: only a block smaller
            // than a record (tests) gets here. Room for the largest.
            let more = self
                .buf
                .len()
                .max(RECORD_HEADER_LEN + super::pcap_format::MAX_RECORD);
            self.buf.resize(self.buf.len() + more, 0);
        }
        let left = usize::try_from(self.end - filled_to).unwrap_or(usize::MAX);
        let room = (self.buf.len() - self.hi).min(left);
        loop {
            match self
                .file
                .read_at(&mut self.buf[self.hi..self.hi + room], filled_to)
            {
                Ok(0) => {
                    self.failed = true;
                    return Err(SourceError::Shrank {
                        what: self.what.clone(),
                        offset: filled_to,
                    });
                }
                Ok(n) => {
                    self.hi += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    return Err(SourceError::io(&self.what, e));
                }
            }
        }
    }

    /// After the records in the buffer: more read, `Ok(false)` at the end of
    /// the data, or the error that ends it (a record cut short, a file that
    /// shrank).
    fn more(&mut self) -> Result<bool, SourceError> {
        if self.refill()? {
            return Ok(true);
        }
        if self.lo == self.hi {
            return Ok(false);
        }
        Err(self.fail(RecordError::Truncated(self.lo)))
    }
}

impl<F: ReadAt> RecordSource for BlockReader<F> {
    fn link(&self) -> LinkType {
        self.link
    }

    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        if self.failed {
            return Ok(None);
        }
        // Until the record at `lo` is whole in the buffer (or cannot be).
        loop {
            match record_at(&self.buf[..self.hi], self.lo, self.hi, &self.header, self.snaplen) {
                Ok(_) => break,
                Err(RecordError::Corrupt(at, len)) => return Err(self.fail(RecordError::Corrupt(at, len))),
                Err(RecordError::Truncated(_)) => {
                    if !self.more()? {
                        return Ok(None);
                    }
                }
            }
        }
        match record_at(&self.buf[..self.hi], self.lo, self.hi, &self.header, self.snaplen) {
            Ok((record, next)) => {
                self.lo = next;
                Ok(Some(record))
            }
            // Not reached: the same call just succeeded.
            Err(_) => Ok(None),
        }
    }

    /// The hot path of `count`, as the memory reader's: the buffer and the
    /// position stay in registers for a block, `each` is inlined into the
    /// walk, and the bytes a kilobyte ahead are prefetched. Between blocks,
    /// the next one is read.
    #[inline]
    fn read_records<G: FnMut(Record<'_>)>(&mut self, max: usize, mut each: G) -> Result<usize, SourceError> {
        let mut n = 0;
        while n < max && !self.failed {
            let (hi, header, snaplen) = (self.hi, self.header, self.snaplen);
            let all = &self.buf[..hi];
            let (pos, stopped) = if header.big_endian {
                walk::<true, G>(all, self.lo, hi, &header, snaplen, max, &mut n, &mut each)
            } else {
                walk::<false, G>(all, self.lo, hi, &header, snaplen, max, &mut n, &mut each)
            };
            self.lo = pos;
            match stopped {
                Some(RecordError::Corrupt(at, len)) => return Err(self.fail(RecordError::Corrupt(at, len))),
                None if n == max => break,
                // The block ended, or ends inside the next record.
                _ => {
                    if !self.more()? {
                        break;
                    }
                }
            }
        }
        Ok(n)
    }
}

/// The records of `all[pos..hi]` to `each` until `max` in all (`n` counts
/// them) or the block ends; where it stopped, and the record error that
/// stopped it. The byte order is `BIG`'s for the whole block.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn walk<const BIG: bool, G: FnMut(Record<'_>)>(
    all: &[u8],
    mut pos: usize,
    hi: usize,
    header: &FileHeader,
    snaplen: usize,
    max: usize,
    n: &mut usize,
    each: &mut G,
) -> (usize, Option<RecordError>) {
    while *n < max && pos < hi {
        prefetch(all, pos + PREFETCH_AHEAD);
        prefetch(all, pos + PREFETCH_AHEAD + CACHE_LINE);
        match record_in::<BIG>(all, pos, hi, header, snaplen) {
            Ok((record, next)) => {
                pos = next;
                *n += 1;
                each(record);
            }
            Err(e) => return (pos, Some(e)),
        }
    }
    (pos, None)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;
    use crate::source::pcap_format::{PcapWriter, SliceReader};

    /// A classic pcap of `records` (time, bytes), and where each record starts.
    fn file(records: &[(u64, &[u8])]) -> (Vec<u8>, Vec<u64>) {
        let mut w = PcapWriter::new(Vec::new(), LinkType::RawIp, 65535).expect("header");
        let mut starts = vec![FILE_HEADER_LEN as u64];
        for (ts, d) in records {
            w.write(*ts, d.len() as u32 + 10, d).expect("record");
            starts.push(starts[starts.len() - 1] + (RECORD_HEADER_LEN + d.len()) as u64);
        }
        (w.finish().expect("finish"), starts)
    }

    /// `n` records of 40 to 300 random bytes, with times as a capture has them.
    fn random_records(n: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .map(|_| (0..rng.usize(40..300)).map(|_| rng.u8(..)).collect())
            .collect()
    }

    fn timed(data: &[Vec<u8>]) -> Vec<(u64, &[u8])> {
        data.iter()
            .enumerate()
            .map(|(i, d)| (1_700_000_000_000_000_000 + i as u64 * 1_234_567, &d[..]))
            .collect()
    }

    fn reader<F: ReadAt>(file: F, size: u64) -> BlockReader<F> {
        let header = read_header(&file).expect("read").expect("pcap");
        BlockReader::new(file, header, size, "t").expect("link")
    }

    type Records = Vec<(u64, u32, Vec<u8>)>;

    /// Every record through the batch walk, `batch` at a time, and the error
    /// that ended it.
    fn walk(src: &mut impl RecordSource, batch: usize) -> (Records, Option<SourceError>) {
        let mut out = Vec::new();
        loop {
            match src.read_records(batch, |r| out.push((r.ts_ns, r.wire_len, r.data.to_vec()))) {
                Ok(0) => return (out, None),
                Ok(_) => {}
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// Every record one call at a time, and the error that ended it.
    fn one_by_one(src: &mut impl RecordSource) -> (Records, Option<SourceError>) {
        let mut out = Vec::new();
        loop {
            match src.next_record() {
                Ok(Some(r)) => out.push((r.ts_ns, r.wire_len, r.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn error_text(e: &Option<SourceError>) -> Option<String> {
        e.as_ref().map(ToString::to_string)
    }

    #[test]
    fn blocks_of_any_size_read_what_memory_reads() {
        let data = random_records(300, 5);
        let (whole, _) = file(&timed(&data));
        // Whole, cut inside a record, and with a corrupt length in record 200.
        let mut corrupt = whole.clone();
        let (_, starts) = file(&timed(&data));
        let at = starts[200] as usize + 8;
        corrupt[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let cut = &whole[..whole.len() - 7];
        for bytes in [&whole[..], cut, &corrupt[..]] {
            let mut memory = SliceReader::new(bytes, "t").expect("pcap");
            let (want, want_err) = one_by_one(&mut memory);
            assert!(want.len() >= 200, "{}", want.len());
            // Smaller than one record (the buffer grows), a few records, and
            // larger than the file.
            for block in [1, 17, 100, 301, 4096, 1 << 20] {
                for batch in [1, 7, 4096] {
                    let mut r = reader(bytes, bytes.len() as u64).with_block(block);
                    let (got, err) = walk(&mut r, batch);
                    assert_eq!(got, want, "block {block}, batch {batch}");
                    assert_eq!(error_text(&err), error_text(&want_err), "block {block}");
                }
                let mut r = reader(bytes, bytes.len() as u64).with_block(block);
                let (got, err) = one_by_one(&mut r);
                assert_eq!(got, want, "block {block}, one by one");
                assert_eq!(error_text(&err), error_text(&want_err), "block {block}");
                // After the end or the error: nothing more, no error again.
                assert!(matches!(r.next_record(), Ok(None)));
            }
        }
    }

    /// A file written on a big-endian machine (every header field swapped,
    /// the magic number included) reads the same records as its
    /// little-endian twin: the block walk is compiled once per byte order.
    #[test]
    fn a_big_endian_file_reads_as_its_little_endian_twin() {
        let data = random_records(300, 21);
        let (little, starts) = file(&timed(&data));
        let mut big = little.clone();
        let swap = |b: &mut [u8], at: usize, len: usize| b[at..at + len].reverse();
        // File header: magic, two 16-bit versions, then four 32-bit fields.
        swap(&mut big, 0, 4);
        swap(&mut big, 4, 2);
        swap(&mut big, 6, 2);
        for at in [8, 12, 16, 20] {
            swap(&mut big, at, 4);
        }
        for &start in &starts[..starts.len() - 1] {
            for field in 0..4 {
                swap(&mut big, start as usize + 4 * field, 4);
            }
        }
        let mut memory = SliceReader::new(&little[..], "t").expect("pcap");
        let (want, _) = one_by_one(&mut memory);
        assert_eq!(want.len(), 300);
        for block in [17, 4096, 1 << 20] {
            let mut r = reader(&big[..], big.len() as u64).with_block(block);
            let (got, err) = walk(&mut r, 4096);
            assert_eq!(got, want, "block {block}");
            assert!(err.is_none(), "block {block}: {err:?}");
        }
    }

    #[test]
    fn rewind_reads_the_records_again() {
        let data = random_records(50, 9);
        let (bytes, _) = file(&timed(&data));
        let mut r = reader(&bytes[..], bytes.len() as u64).with_block(333);
        let first = walk(&mut r, 4096).0;
        r.rewind();
        assert_eq!(walk(&mut r, 10).0, first);
        assert_eq!(first.len(), 50);
    }

    /// A file that another program truncates to `to` bytes just before this
    /// reader's read number `after` (counting from 0): the hook that makes a
    /// shrink happen between two block reads, every time.
    #[derive(Clone)]
    struct ShrinksAfter {
        file: Arc<File>,
        reads: Arc<AtomicUsize>,
        after: usize,
        to: u64,
    }

    impl ReadAt for ShrinksAfter {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            if self.reads.fetch_add(1, SeqCst) == self.after {
                self.file.set_len(self.to)?;
            }
            FileExt::read_at(&*self.file, buf, offset)
        }
    }

    #[test]
    fn a_file_that_shrinks_between_blocks_gives_the_records_before_and_says_so() {
        let data = random_records(2000, 11);
        let (bytes, starts) = file(&timed(&data));
        let block = 64 << 10;
        // Cut in the second block (inside a record), in the third, and exactly
        // where the second ends. Reads: 0 the header, 1 the first block, 2 the
        // second, ...
        for (after, to) in [
            (2, block as u64 + 5_000),
            (3, 2 * block as u64 + 40_001),
            (2, FILE_HEADER_LEN as u64 + block as u64),
        ] {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("shrinks.pcap");
            std::fs::write(&path, &bytes).expect("write");
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .expect("open");
            let shrinks = ShrinksAfter {
                file: Arc::new(opened),
                reads: Arc::new(AtomicUsize::new(0)),
                after,
                to,
            };
            let mut r = reader(shrinks, bytes.len() as u64).with_block(block);
            let (got, err) = walk(&mut r, 4096);
            // Exactly the records that were whole before the cut.
            let whole = starts.iter().skip(1).filter(|&&end| end <= to).count();
            assert_eq!(got.len(), whole, "cut at {to}");
            let want = SliceReader::new(&bytes[..to as usize], "t").map(|mut m| one_by_one(&mut m).0);
            assert_eq!(Some(got), want.ok(), "cut at {to}");
            match err {
                Some(e @ SourceError::Shrank { offset, .. }) => {
                    assert_eq!(offset, to);
                    assert!(e.kept_earlier_records());
                    let text = e.to_string();
                    assert!(text.contains("got shorter while it was read"), "{text}");
                    assert!(!text.contains('\n'), "{text}");
                }
                other => panic!("cut at {to}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_guessed_boundary_is_the_next_record_from_anywhere_in_a_whole_file() {
        let data = random_records(200, 3);
        let (bytes, starts) = file(&timed(&data));
        let reader = reader(&bytes[..], bytes.len() as u64);
        for from in FILE_HEADER_LEN as u64..bytes.len() as u64 {
            let next = starts
                .iter()
                .copied()
                .find(|&s| s >= from)
                .filter(|&s| s < bytes.len() as u64);
            assert_eq!(reader.guess_boundary(from), next, "from {from}");
        }
    }

    #[test]
    fn record_headers_inside_a_packet_fool_the_guess() {
        // A packet whose bytes are themselves 16 plausible one-byte records.
        let mut inner = Vec::new();
        for i in 0..RESYNC_CONFIRM as u32 {
            for v in [7, i, 1, 60] {
                inner.extend_from_slice(&v.to_le_bytes());
            }
            inner.push(0xab);
        }
        let zeros = vec![0u8; 600];
        let (bytes, at) = file(&[(1, &[1u8; 50][..]), (2, &zeros), (3, &inner), (4, &[2u8; 50][..])]);
        let reader = reader(&bytes[..], bytes.len() as u64).with_block(64);
        let (second, third) = (at[1], at[2]);
        // Zeros are no records: the guess from inside them is the true next one.
        assert_eq!(
            reader.guess_boundary(second + RECORD_HEADER_LEN as u64),
            Some(third)
        );
        // From inside the third record the guess is its payload: a wrong one,
        // which the record before, read from a true boundary, will not end at.
        let fake = third + RECORD_HEADER_LEN as u64;
        assert_eq!(reader.guess_boundary(fake - 3), Some(fake));
        let mut before = reader.part(FILE_HEADER_LEN as u64..fake);
        let (got, err) = walk(&mut before, 4096);
        assert_eq!(got.len(), 2);
        assert!(matches!(err, Some(SourceError::Truncated { .. })), "{err:?}");
    }
}
