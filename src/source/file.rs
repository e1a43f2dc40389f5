//! Capture files: classic pcap through a memory map and our own record walker,
//! pcapng through libpcap.

use std::io::Read;
use std::path::Path;

use memmap2::Mmap;

use super::libpcap::OfflineReader;
use super::pcap_format::{HeaderError, SliceReader, parse_file_header};
use super::{Record, RecordSource, SourceError};
use crate::files::{OpenError, open_regular};
use crate::parse::LinkType;

/// An open capture file of either format.
pub enum CaptureFile {
    /// Classic pcap, memory-mapped (shared, so several threads can each walk a part).
    Classic(SliceReader<SharedMap>),
    /// pcapng (or anything else libpcap reads), through libpcap.
    Libpcap(OfflineReader),
}

/// File bytes: a memory map, or a small buffer for files too short to map.
pub enum Mapped {
    /// The file mapped read-only.
    Map(Mmap),
    /// Empty or tiny files (mapping zero bytes fails on Linux).
    Bytes(Vec<u8>),
}

/// A mapped file shared between reader threads.
#[derive(Clone)]
pub struct SharedMap(pub std::sync::Arc<Mapped>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        match self {
            Mapped::Map(m) => m,
            Mapped::Bytes(b) => b,
        }
    }
}

impl CaptureFile {
    /// Opens `path`, choosing the reader by the file's magic number. Only a
    /// regular file: a FIFO or a device (`/dev/zero`) is refused before a
    /// byte is read, with the way to read a pipe (`-r -`) named.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let what = path.display().to_string();
        let (file, meta) = open_regular(path).map_err(|e| match e {
            OpenError::Io(e) => SourceError::io(&what, e),
            OpenError::NotAFile(kind) => SourceError::NotAFile {
                what: what.clone(),
                kind,
            },
        })?;
        let bytes = if meta.len() < 4096 {
            let mut bytes = Vec::new();
            (&file)
                .read_to_end(&mut bytes)
                .map_err(|e| SourceError::io(&what, e))?;
            Mapped::Bytes(bytes)
        } else {
            // SAFETY: the map is read-only and every byte is treated as hostile input;
            // a file truncated by another process while mapped is the one hazard, as
            // with any mmap reader (tcpdump's included), and is not a memory-safety
            // issue for well-behaved inputs of a capture tool.
            #[allow(unsafe_code)]
            let map = unsafe { Mmap::map(&file) }.map_err(|e| SourceError::io(&what, e))?;
            // Records are read front to back: let the kernel read ahead.
            let _ = map.advise(memmap2::Advice::Sequential);
            Mapped::Map(map)
        };
        match parse_file_header(bytes.as_ref()) {
            Ok(_) => Ok(CaptureFile::Classic(SliceReader::new(
                SharedMap(std::sync::Arc::new(bytes)),
                &what,
            )?)),
            Err(HeaderError::Pcapng) => Ok(CaptureFile::Libpcap(OfflineReader::open(path)?)),
            Err(e) => Err(SourceError::header(&what, e)),
        }
    }

    /// Starts again at the first record (for `--loop`).
    pub fn rewind(&mut self, path: &Path) -> Result<(), SourceError> {
        match self {
            CaptureFile::Classic(r) => r.rewind(),
            CaptureFile::Libpcap(r) => *r = OfflineReader::open(path)?,
        }
        Ok(())
    }
}

impl RecordSource for CaptureFile {
    fn link(&self) -> LinkType {
        match self {
            CaptureFile::Classic(r) => r.link(),
            CaptureFile::Libpcap(r) => r.link(),
        }
    }

    #[inline]
    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        match self {
            CaptureFile::Classic(r) => r.next_record(),
            CaptureFile::Libpcap(r) => r.next_record(),
        }
    }
    /// The inner reader's batch walk: a classic file in memory walks its
    /// records with prefetching, much faster than a call per record.
    #[inline]
    fn read_records<F: FnMut(Record<'_>)>(&mut self, max: usize, each: F) -> Result<usize, SourceError> {
        match self {
            CaptureFile::Classic(r) => r.read_records(max, each),
            CaptureFile::Libpcap(r) => r.read_records(max, each),
        }
    }
}
