//! Capture files: classic pcap read in blocks by our own record walker
//! (`blocks.rs`), pcapng through libpcap.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use super::blocks::{BlockReader, read_header};
use super::libpcap::OfflineReader;
use super::pcap_format::HeaderError;
use super::{Record, RecordSource, SourceError};
use crate::files::{OpenError, open_regular};
use crate::parse::LinkType;

/// An open capture file of either format.
pub enum CaptureFile {
    /// Classic pcap, read in blocks (the file is shared, so several threads
    /// can each read a part).
    Classic(BlockReader<Arc<File>>),
    /// pcapng (or anything else libpcap reads), through libpcap.
    Libpcap(OfflineReader),
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
        let file = Arc::new(file);
        match read_header(&file).map_err(|e| SourceError::io(&what, e))? {
            Ok(header) => Ok(CaptureFile::Classic(BlockReader::new(
                file,
                header,
                meta.len(),
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
    /// The inner reader's batch walk: a classic file walks its records
    /// block by block with prefetching, much faster than a call per record.
    #[inline]
    fn read_records<F: FnMut(Record<'_>)>(&mut self, max: usize, each: F) -> Result<usize, SourceError> {
        match self {
            CaptureFile::Classic(r) => r.read_records(max, each),
            CaptureFile::Libpcap(r) => r.read_records(max, each),
        }
    }
}
