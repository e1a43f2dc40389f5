//! `scanwall count`: exact, undecayed totals of a whole capture, the ground
//! truth that tests compare against.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::setup;
use crate::cli::{CountArgs, CountFormat};
use crate::counting::{Counters, Decay, PacketSink, Totals};
use crate::duration::parse as parse_duration;
use crate::maps::{MAPS, MapId};
use crate::parse::{Classifier, LocalNets, SkipReason};
use crate::source::file::{CaptureFile, SharedMap};
use crate::source::libpcap::{LiveCapture, LiveOptions};
use crate::source::listen::{StreamListener, parse_listen_addr};
use crate::source::pcap_format::{SliceReader, StreamReader};
use crate::source::sflow::{SflowCollector, SflowReport, parse_sflow_addr};
use crate::source::{Pacer, Pump, RecordFilter, RecordSource, SourceError, SourceStatus, Speed, pump};

/// Exact totals of one run of `count`.
pub struct CountReport {
    /// Maps counted, with the non-zero cells of each (key, count), by map id.
    pub maps: Vec<(MapId, Vec<(u16, u64)>)>,
    /// Packet and skip totals.
    pub totals: Totals,
    /// Live capture only: what the kernel saw and dropped.
    pub capture: Option<CaptureTotals>,
    /// `--sflow` only: datagrams, drops and agents.
    pub sflow: Option<SflowReport>,
    /// `--sensors-listen` only: each sensor and every refused connection.
    pub sensors: Option<serde_json::Value>,
}

/// Packets a live capture's kernel side received and dropped (libpcap stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Packets that passed the filter in the kernel.
    pub received: u64,
    /// Dropped for lack of buffer space.
    pub kernel_drops: u64,
    /// Dropped by the interface or driver.
    pub interface_drops: u64,
}

/// Runs `count`; the report is printed even when the input ends in a damaged
/// record, and that error is returned afterwards (non-zero exit).
pub fn run(args: &CountArgs) -> anyhow::Result<()> {
    let locals = setup::locals(&args.local)?;
    let maps = setup::maps(args.maps.as_deref(), (0..MAPS.len()).collect())?;
    let counters = Counters::new(maps, Decay::NONE);
    let job = CountJob {
        counters: &counters,
        locals: &locals,
        filter: args.filter.filter_expression(),
    };
    let mut capture = None;
    let mut sflow = None;
    let mut sensors = None;
    let result = match (&args.read, &args.listen) {
        (None, None) if args.sensors_listen.is_some() => {
            sensors = Some(super::sensor::count_sensors(args, &counters)?);
            Ok(())
        }
        (None, None) if args.sflow.is_some() => {
            sflow = Some(count_sflow(args, &counters, &locals)?);
            Ok(())
        }
        (None, None) if !args.interface.is_empty() => {
            capture = Some(count_live(args, &counters, &locals)?);
            Ok(())
        }
        (_, Some(addr)) => {
            count_listen(args, addr, &counters, &locals)?;
            Ok(())
        }
        (Some(path), None) if path.as_os_str() == "-" => {
            crate::privilege::drop_root_and_report(args.user.as_deref(), false)?;
            StreamReader::new(std::io::stdin().lock(), "standard input").and_then(|r| job.count(r))
        }
        (Some(path), None) => {
            let file = CaptureFile::open(path);
            crate::privilege::drop_root_and_report(args.user.as_deref(), false)?;
            match file {
                Ok(CaptureFile::Classic(file)) => job.count_parallel(file, threads(args.threads)),
                Ok(CaptureFile::Libpcap(file)) => job.count(file),
                Err(e) => Err(e),
            }
        }
        (None, None) => {
            return Err(anyhow::anyhow!(
                "count needs -r FILE, -i IFACE, --listen ADDR or --sflow ADDR"
            ));
        }
    };
    if let Err(e) = &result
        && !e.kept_earlier_records()
    {
        return Err(anyhow::anyhow!("{e}"));
    }
    let mut report = report(&counters);
    report.capture = capture;
    report.sflow = sflow;
    report.sensors = sensors;
    let text = match args.format {
        CountFormat::Csv => to_csv(&report),
        CountFormat::Json => to_json(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("cannot write the output")?;
    out.flush().context("cannot write the output")?;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Counts live interfaces for `--duration`, a capture thread each, and
/// returns the kernel's receive and drop totals.
fn count_live(
    args: &CountArgs,
    counters: &Arc<Counters>,
    locals: &LocalNets,
) -> anyhow::Result<CaptureTotals> {
    let text = args.duration.as_deref().unwrap_or_default();
    let duration = parse_duration("--duration", text).map_err(|e| anyhow::anyhow!(e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut statuses = Vec::new();
    let mut captures = Vec::new();
    for interface in &args.interface {
        let options = LiveOptions {
            snaplen: args.snaplen,
            buffer_mb: args.buffer_mb,
            filter: args.filter.filter_expression(),
            ..LiveOptions::new(interface)
        };
        captures.push((interface, LiveCapture::open(&options)?));
    }
    // Every handle is open: no packet is parsed with root's privileges.
    crate::privilege::drop_root_and_report(args.user.as_deref(), true)?;
    // As tcpdump's "listening on": the kernel now keeps every packet for the
    // count (scripts wait for this line before they send).
    for (interface, capture) in &captures {
        eprintln!(
            "scanwall: capturing on {interface} ({:?}, {} MiB kernel buffer) for {text}",
            capture.link(),
            capture.buffer_mb()
        );
    }
    for (interface, capture) in captures {
        let mut sink = PacketSink::new(Classifier::new(capture.link(), locals.clone()), counters.writer());
        let status = Arc::new(SourceStatus::new(interface.clone(), false));
        statuses.push(status.clone());
        let stop = stop.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("capture {interface}"))
                .spawn(move || capture.run(&mut sink, &status, &stop))
                .context("cannot start a capture thread")?,
        );
    }
    watch_captures(&statuses, duration);
    stop.store(true, Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let mut totals = CaptureTotals::default();
    for s in statuses {
        totals.received += s.received.load(Relaxed);
        totals.kernel_drops += s.kernel_drops.load(Relaxed);
        totals.interface_drops += s.interface_drops.load(Relaxed);
    }
    Ok(totals)
}

/// Waits out `duration` (the only wall-clock timer: it ends the run, it
/// synchronises nothing), saying on standard error when a capture is lost and
/// when it is capturing again, as the wall's status line does: a count whose
/// interface went away says so where the user (or a script) is looking.
fn watch_captures(statuses: &[Arc<SourceStatus>], duration: Duration) {
    let deadline = Instant::now() + duration;
    let mut stalled = vec![false; statuses.len()];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(WATCH_EVERY));
        for (status, was) in statuses.iter().zip(&mut stalled) {
            let now = status.stalled.load(Relaxed);
            if now == *was {
                continue;
            }
            *was = now;
            if now {
                let why = status
                    .error()
                    .unwrap_or_else(|| format!("{}: capture lost; retrying", status.description));
                eprintln!("scanwall: {why} (once a second)");
            } else {
                eprintln!("scanwall: capturing on {} again", status.description);
            }
        }
    }
}

/// How often `count -i` looks for captures that stalled or came back: a lost
/// capture is retried once a second, and the main thread of a count whose
/// CPU is limited should wake as seldom as it can.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// `count --listen`: serves pcap stream senders (bad ones are closed and
/// logged, as on the wall) until `--streams` connections have closed or
/// `--duration` has passed, then returns with every stream's counts in.
/// A headless, self-ending run of the wall's stream source, for scripts and tests.
fn count_listen(
    args: &CountArgs,
    addr: &str,
    counters: &Arc<Counters>,
    locals: &LocalNets,
) -> anyhow::Result<()> {
    let addr = parse_listen_addr(addr).map_err(|e| anyhow::anyhow!(e))?;
    let idle =
        parse_duration("--stream-idle-timeout", &args.stream_idle_timeout).map_err(|e| anyhow::anyhow!(e))?;
    let duration = args
        .duration
        .as_deref()
        .map(|d| parse_duration("--duration", d))
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    if duration.is_none() && args.streams.is_none() {
        return Err(anyhow::anyhow!(
            "count --listen needs --streams N or --duration TIME to know when to stop"
        ));
    }
    let listener = StreamListener::bind(addr, counters.clone(), locals.clone())?
        .idle_timeout(idle)
        .filter(args.filter.filter_expression())
        .stop_after_streams(args.streams);
    crate::privilege::drop_root_and_report(args.user.as_deref(), false)?;
    let stop = Arc::new(AtomicBool::new(false));
    let status = Arc::new(SourceStatus::new(format!("stream {addr}"), false));
    if let Some(d) = duration {
        let stop = stop.clone();
        // The only wall-clock timer: it ends the run, it synchronises nothing.
        std::thread::Builder::new()
            .name("duration".into())
            .spawn(move || {
                std::thread::sleep(d);
                stop.store(true, Relaxed);
            })
            .context("cannot start the --duration timer")?;
    }
    listener.serve(status, stop);
    Ok(())
}

/// `count --sflow`: collects sFlow datagrams for `--duration` (malformed
/// ones are counted and logged, as on the wall), then returns the
/// collector's and each agent's figures, with every sample counted.
fn count_sflow(
    args: &CountArgs,
    counters: &Arc<Counters>,
    locals: &LocalNets,
) -> anyhow::Result<SflowReport> {
    let addr = parse_sflow_addr(args.sflow.as_deref().unwrap_or_default()).map_err(|e| anyhow::anyhow!(e))?;
    let text = args.duration.as_deref().unwrap_or_default();
    let duration = parse_duration("--duration", text).map_err(|e| anyhow::anyhow!(e))?;
    let collector = SflowCollector::bind(addr, counters.clone(), locals.clone())?
        .filter(args.filter.filter_expression().as_deref())?
        .stop_after(Some(duration));
    crate::privilege::drop_root_and_report(args.user.as_deref(), false)?;
    let stats = collector.stats();
    let status = Arc::new(SourceStatus::new(format!("sflow {addr}"), false));
    collector.serve(status.clone(), Arc::new(AtomicBool::new(false)));
    Ok(SflowReport::new(&stats, &status))
}

/// `--threads`, or one per core (at most 8) when not given.
fn threads(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1)
}

/// Below this size a file is read on one thread: splitting costs more than it saves.
const PARALLEL_MIN_BYTES: usize = 8 << 20;

/// One `count` run: where counts go and what filters apply.
struct CountJob<'a> {
    counters: &'a Counters,
    locals: &'a LocalNets,
    filter: Option<String>,
}

impl CountJob<'_> {
    /// Counts every record of `source` on this thread, into a shard of its own.
    fn count<S: RecordSource>(&self, mut source: S) -> Result<(), SourceError> {
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

    /// Counts a memory-mapped classic pcap on `threads` threads, each a part
    /// of about equal size, with the counts and error a one-thread read gives.
    ///
    /// Only walking the records from the first finds where a part may start,
    /// and that walk would hold every thread back. So each part starts where
    /// records seem to begin near its share ([`SliceReader::guess_boundary`]),
    /// and [`CountJob::count_parts`] keeps its counts only once the part
    /// before has ended exactly there.
    fn count_parallel(&self, file: SliceReader<SharedMap>, threads: usize) -> Result<(), SourceError> {
        let (start, end) = file.header_len_and_size();
        if threads < 2 || end < PARALLEL_MIN_BYTES {
            return self.count(file);
        }
        let share = (end - start) / threads;
        let mut starts = vec![start];
        for k in 1..threads {
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
    fn count_parts(&self, file: &SliceReader<SharedMap>, starts: &[usize]) -> Result<(), SourceError> {
        let (_, end) = file.header_len_and_size();
        let ends = starts.iter().skip(1).copied().chain([end]);
        let ranges: Vec<std::ops::Range<usize>> = starts.iter().zip(ends).map(|(&s, e)| s..e).collect();
        let parts: Vec<Option<CountedPart>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|range| {
                    let part = file.part(range.clone());
                    scope.spawn(move || {
                        let counters = self.counters.empty_like();
                        let job = CountJob {
                            counters: &counters,
                            locals: self.locals,
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

/// Collects the exact totals of every counted map.
pub fn report(counters: &Counters) -> CountReport {
    let maps = counters
        .maps()
        .iter()
        .map(|&m| {
            let cells = counters.exact_counts(m).unwrap_or_default();
            let nonzero = cells
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(k, c)| (k as u16, *c))
                .collect();
            (m, nonzero)
        })
        .collect();
    CountReport {
        capture: None,
        sflow: None,
        sensors: None,
        maps,
        totals: counters.totals(),
    }
}

fn by_name(report: &CountReport) -> Vec<&(MapId, Vec<(u16, u64)>)> {
    let mut maps: Vec<_> = report.maps.iter().collect();
    maps.sort_by_key(|(m, _)| MAPS[*m].name);
    maps
}

/// `map,key,count`, one line per non-zero cell, sorted by map name then key.
/// Formatted with `itoa`: a full port map is hundreds of thousands of lines, and
/// `fmt` machinery would cost as much as counting the capture.
pub fn to_csv(report: &CountReport) -> String {
    let lines: usize = report.maps.iter().map(|(_, cells)| cells.len()).sum();
    let mut s = String::with_capacity(16 + lines * 24);
    s.push_str("map,key,count\n");
    let mut digits = itoa::Buffer::new();
    for (m, cells) in by_name(report) {
        for (key, count) in cells {
            s.push_str(MAPS[*m].name);
            s.push(',');
            s.push_str(digits.format(*key));
            s.push(',');
            s.push_str(digits.format(*count));
            s.push('\n');
        }
    }
    s
}

/// `{"maps": {name: {key: count}}, "packets": N, "skipped": {reason: N}}`.
pub fn to_json(report: &CountReport) -> String {
    let mut maps = serde_json::Map::new();
    for (m, cells) in by_name(report) {
        let cells: serde_json::Map<String, serde_json::Value> = cells
            .iter()
            .map(|(k, c)| (k.to_string(), serde_json::Value::from(*c)))
            .collect();
        maps.insert(MAPS[*m].name.to_string(), serde_json::Value::Object(cells));
    }
    let skipped: serde_json::Map<String, serde_json::Value> = SkipReason::ALL
        .iter()
        .map(|r| {
            (
                r.name().to_string(),
                serde_json::Value::from(report.totals.skipped[r.index()]),
            )
        })
        .collect();
    let mut doc = serde_json::json!({
        "maps": maps,
        "packets": report.totals.packets,
        "skipped": skipped,
    });
    if let (Some(s), Some(obj)) = (&report.sflow, doc.as_object_mut()) {
        obj.insert("sflow".into(), s.to_json());
    }
    if let (Some(s), Some(obj)) = (&report.sensors, doc.as_object_mut()) {
        obj.insert("sensors".into(), s.clone());
    }
    if let (Some(c), Some(obj)) = (report.capture, doc.as_object_mut()) {
        obj.insert(
            "capture".into(),
            serde_json::json!({
                "received": c.received,
                "kernel_drops": c.kernel_drops,
                "interface_drops": c.interface_drops,
            }),
        );
    }
    format!("{doc}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::craft;
    use crate::source::file::Mapped;
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
    fn capture(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut w = PcapWriter::new(Vec::new(), crate::parse::LinkType::Ethernet, 65535).expect("header");
        let mut starts = vec![FILE_HEADER_LEN];
        for (i, f) in frames.iter().enumerate() {
            w.write(i as u64 * 1000, f.len() as u32, f).expect("record");
            starts.push(starts[starts.len() - 1] + RECORD_HEADER_LEN + f.len());
        }
        (w.finish().expect("finish"), starts)
    }

    /// A reader of `bytes` as `count -r` reads a file.
    fn reader(bytes: Vec<u8>) -> SliceReader<SharedMap> {
        SliceReader::new(SharedMap(Arc::new(Mapped::Bytes(bytes))), "t").expect("pcap")
    }

    /// The JSON report and error of counting `file` in parts beginning at `starts`.
    fn counted(file: &SliceReader<SharedMap>, starts: &[usize]) -> (String, Option<String>) {
        let counters = Counters::new((0..MAPS.len()).collect(), Decay::NONE);
        let locals = LocalNets::default();
        let job = CountJob {
            counters: &counters,
            locals: &locals,
            filter: None,
        };
        let result = job.count_parts(file, starts);
        (to_json(&report(&counters)), result.err().map(|e| e.to_string()))
    }

    #[test]
    fn parts_that_begin_at_wrong_guesses_count_as_one_thread_does() {
        let (bytes, at) = capture(&frames(600));
        let file = reader(bytes);
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
        bytes[at[250] + 8..at[250] + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let file = reader(bytes);
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
