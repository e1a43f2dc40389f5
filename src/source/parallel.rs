//! Reading a classic pcap file on several threads (`count --threads`), with
//! the counts and the error a one-thread read gives: each thread reads a part
//! into counters of its own, adopted in file order once the part before is
//! known to have ended exactly where the next began.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::blocks::{BlockReader, ReadAt};
use super::{Pacer, Pump, RecordFilter, RecordSource, SourceError, Speed, pump};
use crate::counting::{Counters, PacketSink};
use crate::parse::{Classifier, LocalNets};

/// Below this size a file is read on one thread: splitting costs more than it saves.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;

/// One read of a file: where counts go and what filters apply.
pub struct ReadJob {
    /// Where counts go.
    pub counters: Arc<Counters>,
    /// The inbound rule.
    pub locals: LocalNets,
    /// BPF expression.
    pub filter: Option<String>,
}

impl ReadJob {
    /// Counts every record of `source` on this thread, into a shard of its own.
    pub fn count<S: RecordSource>(&self, mut source: S) -> Result<(), SourceError> {
        let classifier = Classifier::new(source.link(), self.locals.clone());
        let compiled = self
            .filter
            .as_deref()
            .map(|f| RecordFilter::compile(f, source.link()))
            .transpose()?;
        let mut sink = PacketSink::new(classifier, self.counters.writer());
        let stop = AtomicBool::new(false);
        let mut p = Pump {
            pacer: Pacer::new(Speed::Max),
            filter: compiled.as_ref(),
            stop: &stop,
            ts_offset: 0,
        };
        pump(&mut source, &mut sink, &mut p).1
    }

    /// Counts a classic pcap file on `threads` threads, each a part of about
    /// equal size, with the counts and error a one-thread read gives.
    ///
    /// Only walking the records from the first finds where a part may start,
    /// and that walk would hold every thread back. So each part starts where
    /// records seem to begin near its share ([`BlockReader::guess_boundary`]),
    /// and [`ReadJob::count_parts`] keeps its counts only once the part
    /// before has ended exactly there.
    pub fn count_parallel<F: ReadAt>(&self, file: BlockReader<F>, threads: usize) -> Result<(), SourceError> {
        let (start, end) = file.header_len_and_size();
        if threads < 2 || end < PARALLEL_MIN_BYTES {
            return self.count(file);
        }
        let share = (end - start) / threads as u64;
        let mut starts = vec![start];
        for k in 1..threads as u64 {
            match file.guess_boundary(start + k * share) {
                Some(at) if starts.last().is_some_and(|&last| at > last) && at < end => starts.push(at),
                _ => {}
            }
        }
        self.count_parts(&file, &starts)
    }

    /// Counts the parts of `file` that begin at `starts` (the first at the
    /// first record, each next one a guess), a thread each, into counters of
    /// their own; adopts them in file order while each part before ended
    /// exactly where the next begins, which confirms that guess. From the
    /// first part that did not (a wrong guess, or a damaged record), the rest
    /// of the file is read again on this thread, as one thread would read it.
    fn count_parts<F: ReadAt>(&self, file: &BlockReader<F>, starts: &[u64]) -> Result<(), SourceError> {
        let (_, end) = file.header_len_and_size();
        let ends = starts.iter().skip(1).copied().chain([end]);
        let ranges: Vec<std::ops::Range<u64>> = starts.iter().zip(ends).map(|(&s, e)| s..e).collect();
        let parts: Vec<Option<CountedPart>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|range| {
                    let part = file.part(range.clone());
                    scope.spawn(move || {
                        let counters = self.counters.empty_like();
                        let job = ReadJob {
                            counters: counters.clone(),
                            locals: self.locals.clone(),
                            filter: self.filter.clone(),
                        };
                        let result = job.count(part);
                        (counters, result)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().ok()).collect()
        });
        let last = ranges.len().saturating_sub(1);
        for (k, (part, range)) in parts.into_iter().zip(&ranges).enumerate() {
            match part {
                // The last part ends where the file does: its error is the file's.
                Some((counters, result)) if result.is_ok() || k == last => {
                    self.counters.adopt(&counters);
                    result?;
                }
                _ => return self.count(file.part(range.start..end)),
            }
        }
        Ok(())
    }
}

/// A part of a file counted apart: its counters and how its read ended.
type CountedPart = (Arc<Counters>, Result<(), SourceError>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::Decay;
    use crate::craft;
    use crate::maps::MAPS;
    use crate::source::blocks::read_header;
    use crate::source::pcap_format::{FILE_HEADER_LEN, PcapWriter, RECORD_HEADER_LEN};

    /// TCP SYNs and UDP packets to varied hosts and ports, as Ethernet frames.
    fn frames(n: u16) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let l4 = if i % 3 == 0 {
                    craft::udp(i)
                } else {
                    craft::tcp(i.wrapping_mul(7), 0x02)
                };
                let proto = if i % 3 == 0 { 17 } else { 6 };
                craft::ether(0x0800, &[], &craft::ipv4(proto, i.to_be_bytes(), &l4, None, 0, 5))
            })
            .collect()
    }

    /// `frames` as a classic pcap, and where each record starts.
    fn capture(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
        let mut w = PcapWriter::new(Vec::new(), crate::parse::LinkType::Ethernet, 65535).expect("header");
        let mut starts = vec![FILE_HEADER_LEN as u64];
        for (i, f) in frames.iter().enumerate() {
            w.write(i as u64 * 1000, f.len() as u32, f).expect("record");
            starts.push(starts[starts.len() - 1] + (RECORD_HEADER_LEN + f.len()) as u64);
        }
        (w.finish().expect("finish"), starts)
    }

    /// A reader of `bytes` as `count -r` reads a file, in small blocks (so
    /// that records straddle them).
    fn reader(bytes: &[u8]) -> BlockReader<&[u8]> {
        let header = read_header(&bytes).expect("read").expect("pcap");
        BlockReader::new(bytes, header, bytes.len() as u64, "t")
            .expect("link")
            .with_block(1000)
    }

    /// Every cell of every map and the packet total, as text to compare.
    fn cells(counters: &Counters) -> String {
        let maps: Vec<_> = counters
            .maps()
            .iter()
            .map(|&m| counters.exact_counts(m))
            .collect();
        format!("\"packets\":{} {maps:?}", counters.totals().packets)
    }

    /// The counts and error of counting `file` in parts beginning at `starts`.
    fn counted(file: &BlockReader<&[u8]>, starts: &[u64]) -> (String, Option<String>) {
        let counters = Counters::new((0..MAPS.len()).collect(), Decay::NONE);
        let job = ReadJob {
            counters: counters.clone(),
            locals: LocalNets::default(),
            filter: None,
        };
        let result = job.count_parts(file, starts);
        (cells(&counters), result.err().map(|e| e.to_string()))
    }

    #[test]
    fn parts_that_begin_at_wrong_guesses_count_as_one_thread_does() {
        let (bytes, at) = capture(&frames(600));
        let file = reader(&bytes);
        let one = counted(&file, &at[..1]);
        assert!(one.0.contains("\"packets\":600"), "{}", one.0);
        assert_eq!(one.1, None);
        // True boundaries, a start inside a record, one inside a record's
        // header, and several wrong ones in a row.
        for starts in [
            vec![at[0], at[200], at[400]],
            vec![at[0], at[200] + 30, at[400]],
            vec![at[0], at[200], at[400] + 5],
            vec![at[0], at[100] + 1, at[300] + 17, at[500] + 9],
        ] {
            assert_eq!(counted(&file, &starts), one, "{starts:?}");
        }
    }

    #[test]
    fn a_damaged_record_gives_the_error_and_counts_of_one_thread() {
        let (mut bytes, at) = capture(&frames(600));
        // Record 250 claims more bytes than any record may have.
        let damaged = at[250] as usize + 8;
        bytes[damaged..damaged + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let file = reader(&bytes);
        let one = counted(&file, &at[..1]);
        assert!(one.0.contains("\"packets\":250"), "{}", one.0);
        assert!(one.1.is_some());
        for starts in [
            vec![at[0], at[200], at[400]],
            vec![at[0], at[300]],
            vec![at[0], at[100], at[251]],
        ] {
            assert_eq!(counted(&file, &starts), one, "{starts:?}");
        }
    }
}
