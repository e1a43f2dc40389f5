//! The sources that go through libpcap: pcapng files and live interfaces.

mod fanout;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use pcap::{Active, Capture, Offline, Precision};

use super::{Record, RecordSource, SourceError, SourceStatus};
use crate::counting::PacketSink;
use crate::parse::LinkType;
use fanout::FanoutGroup;
pub use fanout::{MAX_THREADS, check_threads};

/// The packet-clock time of a libpcap record opened with nanosecond precision
/// (libpcap then stores nanoseconds in the `tv_usec` field).
fn ts_ns(h: &pcap::PacketHeader) -> u64 {
    // Classic pcap stores unsigned 32-bit seconds; libpcap may hand them over as
    // a negative signed value after 2038.
    let secs = u64::try_from(h.ts.tv_sec).unwrap_or(h.ts.tv_sec as u32 as u64);
    let nanos = u64::try_from(h.ts.tv_usec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

fn libpcap_error(what: &str, e: pcap::Error) -> SourceError {
    SourceError::Libpcap {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// A capture file read by libpcap (pcapng, or anything it reads that our own
/// classic-pcap walker does not).
pub struct OfflineReader {
    capture: Capture<Offline>,
    link: LinkType,
    what: String,
}

impl OfflineReader {
    /// Opens `path` with nanosecond timestamps.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let what = path.display().to_string();
        let capture = Capture::from_file_with_precision(path, Precision::Nano).map_err(|e| match e {
            pcap::Error::PcapError(m) if m.contains("unknown file format") => {
                SourceError::NotPcap { what: what.clone() }
            }
            e => libpcap_error(&what, e),
        })?;
        let linktype = capture.get_datalink().0;
        let link = LinkType::from_linktype(linktype as u32).ok_or(SourceError::UnsupportedLink {
            what: what.clone(),
            linktype: linktype as u32,
        })?;
        Ok(OfflineReader { capture, link, what })
    }
}

impl RecordSource for OfflineReader {
    fn link(&self) -> LinkType {
        self.link
    }

    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        match self.capture.next_packet() {
            Ok(p) => Ok(Some(Record {
                ts_ns: ts_ns(p.header),
                wire_len: p.header.len,
                data: p.data,
            })),
            Err(pcap::Error::NoMorePackets) => Ok(None),
            Err(pcap::Error::PcapError(m)) if m.contains("truncated") => Err(SourceError::Truncated {
                what: self.what.clone(),
                offset: 0,
            }),
            Err(e) => Err(libpcap_error(&self.what, e)),
        }
    }
}

/// How to open a live interface.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Interface name (`-i`).
    pub interface: String,
    /// Bytes captured per packet: headers are all the maps need.
    pub snaplen: u32,
    /// Kernel buffer in MiB, per capture thread: absorbs bursts while a frame
    /// or a stats read runs.
    pub buffer_mb: u32,
    /// Promiscuous mode (a mirror port or tap delivers frames for other hosts).
    pub promiscuous: bool,
    /// BPF expression, tcpdump-style.
    pub filter: Option<String>,
    /// Capture threads (`--capture-threads`): above 1, that many handles
    /// share the interface's packets through a fanout group.
    pub threads: usize,
}

impl LiveOptions {
    /// The defaults for `-i IFACE`.
    pub fn new(interface: &str) -> Self {
        LiveOptions {
            interface: interface.to_string(),
            snaplen: 128,
            buffer_mb: 256,
            promiscuous: true,
            filter: None,
            threads: 1,
        }
    }
}

/// How often drop statistics are read.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// The read timeout libpcap hands the kernel (batches are delivered at least this often).
const READ_TIMEOUT_MS: i32 = 100;
/// How long the capture thread sleeps when nothing is buffered.
const IDLE_WAIT: Duration = Duration::from_millis(2);
/// Under load, the clock (statistics, stop) is looked at every this many
/// packets, and one `pcap_dispatch` call counts at most this many.
const CHECK_EVERY_PACKETS: usize = 4096;
/// How long to wait before reopening an interface that failed.
const REOPEN_AFTER: Duration = Duration::from_secs(1);
/// The largest kernel buffer asked for (MiB): more is clamped to it.
const MAX_BUFFER_MB: u32 = 4096;

/// How long a handle that has just joined a fanout group reads and throws
/// away what it holds. Between its activation and its joining, a handle gets
/// every packet of the interface, also those the group hands to the other
/// threads: counted, they would be counted twice. The kernel hands a ring
/// block over when it is full or when its read timeout ([`READ_TIMEOUT_MS`])
/// has passed with the block unchanged, so within two timeouts of the join
/// every such packet has been handed over.
const DISCARD_AFTER_JOIN: Duration = Duration::from_millis(2 * READ_TIMEOUT_MS as u64 + 50);

/// An open live capture: one handle, the only one on its interface or one of
/// a fanout group's.
pub struct LiveCapture {
    capture: Capture<Active>,
    link: LinkType,
    options: LiveOptions,
    /// The group this handle is one of (`--capture-threads` above 1).
    fanout: Option<Arc<FanoutGroup>>,
    /// Which of the interface's capture threads this is, from 1.
    thread: usize,
    /// Packets this handle threw away when it joined its group: libpcap
    /// counts them as received, the statistics published do not.
    discarded: u64,
    /// Packets this handle counted, for the per-thread line at the end.
    counted: u64,
}

impl LiveCapture {
    /// Opens the interface and applies the filter: one handle, or with
    /// `options.threads` above 1 that many in one fanout group, each for a
    /// capture thread of its own. When it returns, each packet reaching the
    /// interface goes to exactly one of them.
    pub fn open_all(options: &LiveOptions) -> Result<Vec<Self>, SourceError> {
        let threads = check_threads(options.threads).map_err(|message| SourceError::Libpcap {
            what: format!("interface {}", options.interface),
            message,
        })?;
        if threads == 1 {
            let (capture, link) = Self::activate(options, None)?;
            return Ok(vec![LiveCapture::new(capture, link, options, None, 1)]);
        }
        let group = Arc::new(FanoutGroup::new(&options.interface, threads));
        let mut all = Vec::with_capacity(threads);
        for thread in 1..=threads {
            let (capture, link) = Self::activate(options, Some((&group, false)))?;
            all.push(LiveCapture::new(
                capture,
                link,
                options,
                Some(group.clone()),
                thread,
            ));
        }
        discard_until_split(&mut all);
        Ok(all)
    }

    fn new(
        capture: Capture<Active>,
        link: LinkType,
        options: &LiveOptions,
        fanout: Option<Arc<FanoutGroup>>,
        thread: usize,
    ) -> Self {
        LiveCapture {
            capture,
            link,
            options: options.clone(),
            fanout,
            thread,
            discarded: 0,
            counted: 0,
        }
    }

    /// Opens one handle, joins it to `fanout` (the group, and whether the
    /// handle replaces a lost one) right after activation, before anything
    /// else, so that it sees all packets for as short a time as can be, and
    /// applies the filter.
    fn activate(
        options: &LiveOptions,
        fanout: Option<(&FanoutGroup, bool)>,
    ) -> Result<(Capture<Active>, LinkType), SourceError> {
        let name = &options.interface;
        let classify = |e: pcap::Error| -> SourceError {
            let text = e.to_string();
            let lower = text.to_lowercase();
            if lower.contains("no such device") || lower.contains("doesn't exist") {
                SourceError::NoSuchInterface {
                    interface: name.clone(),
                }
            } else if lower.contains("permitted") || lower.contains("permission") {
                let exe = std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "scanwall".into());
                SourceError::NoPermission {
                    interface: name.clone(),
                    exe,
                }
            } else {
                SourceError::Libpcap {
                    what: format!("interface {name}"),
                    message: text,
                }
            }
        };
        let inactive = Capture::from_device(name.as_str()).map_err(classify)?;
        let capture = inactive
            .promisc(options.promiscuous)
            .snaplen(options.snaplen.min(i32::MAX as u32) as i32)
            .buffer_size((options.buffer_mb.min(MAX_BUFFER_MB) as i32) << 20)
            .timeout(READ_TIMEOUT_MS)
            .precision(Precision::Nano)
            .open()
            .map_err(classify)?;
        if let Some((group, reopened)) = fanout {
            group.join(&capture, reopened)?;
        }
        // Non-blocking: on Linux (TPACKET_V3) a blocking read on an idle
        // interface may never time out, and the thread must still read drop
        // statistics and see a stop request.
        let mut capture = capture.setnonblock().map_err(classify)?;
        if let Some(expression) = &options.filter {
            capture
                .filter(expression, true)
                .map_err(|e| SourceError::BadFilter {
                    expression: expression.clone(),
                    message: e.to_string(),
                })?;
        }
        let linktype = capture.get_datalink().0 as u32;
        let link = LinkType::from_linktype(linktype).ok_or(SourceError::UnsupportedLink {
            what: format!("interface {name}"),
            linktype,
        })?;
        Ok((capture, link))
    }

    /// The interface's link type.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The kernel buffer asked for, in MiB (after clamping), for the user to see.
    pub fn buffer_mb(&self) -> u32 {
        self.options.buffer_mb.min(MAX_BUFFER_MB)
    }

    /// Captures until `stop`, counting into `sink` and publishing drop counts to
    /// `status` every second. When the interface fails (goes down, disappears)
    /// the source is marked stalled and reopened every second until it returns.
    pub fn run(mut self, sink: &mut PacketSink, status: &SourceStatus, stop: &AtomicBool) {
        let mut next_stats = Instant::now() + STATS_EVERY;
        // Statistics restart from zero on a reopened handle: keep the earlier
        // totals. `status` may be shared by several interfaces (`-i eth1 -i
        // eth2` on the wall), so this capture adds what changed rather than
        // storing its own totals over the others'.
        let mut share = StatsShare::default();
        let mut since_check = 0usize;
        while !stop.load(Relaxed) {
            match self.read_batch(sink) {
                Ok(0) => {
                    // Nothing buffered: show what was counted, then wait a
                    // little (the kernel buffer holds bursts).
                    sink.flush();
                    std::thread::sleep(IDLE_WAIT);
                }
                Ok(n) => {
                    // Look at the clock only every few thousand packets under load.
                    since_check += n;
                    if since_check < CHECK_EVERY_PACKETS {
                        continue;
                    }
                }
                Err(e) => {
                    sink.flush();
                    // The lost handle's last totals (its socket still answers)
                    // become the base the reopened handle's are added to.
                    self.publish_stats(status, &mut share);
                    // The reason first: whoever sees the stall reads it.
                    status.set_error(Some(format!("{}: {e}; retrying", self.options.interface)));
                    if let Some(group) = &self.fanout {
                        group.lose();
                    }
                    status.stalled.store(true, Relaxed);
                    share.base = share.published;
                    loop {
                        if stop.load(Relaxed) {
                            return;
                        }
                        std::thread::sleep(REOPEN_AFTER);
                        let fanout = self.fanout.clone();
                        match LiveCapture::activate(&self.options, fanout.as_deref().map(|g| (g, true))) {
                            Ok((capture, link)) if link == self.link => {
                                self.capture = capture;
                                self.discarded = 0;
                                if fanout.is_some() {
                                    discard_until_split(std::slice::from_mut(&mut self));
                                }
                                break;
                            }
                            Ok(_) => {
                                status.set_error(Some("interface came back with another link type".into()))
                            }
                            Err(e) => status.set_error(Some(format!("{e}; retrying"))),
                        }
                    }
                    // With several threads, capturing again once all are
                    // back: until then, each that rejoins still throws away
                    // what it is handed for a moment (see DISCARD_AFTER_JOIN).
                    if self.fanout.as_ref().is_none_or(|group| group.back()) {
                        status.stalled.store(false, Relaxed);
                        status.set_error(None);
                    }
                    continue;
                }
            }
            since_check = 0;
            sink.flush();
            if Instant::now() >= next_stats {
                next_stats = Instant::now() + STATS_EVERY;
                self.publish_stats(status, &mut share);
            }
        }
        // Stopping: count what the kernel already holds (waiting one read
        // timeout, after which it hands over a part-filled batch too), then
        // read the statistics once more, so the received and dropped totals a
        // run ends with are those of the packets it counted, not a second old.
        // Traffic that goes on arriving does not hold the stop up.
        let drain_until = Instant::now() + Duration::from_millis(READ_TIMEOUT_MS as u64 + 20);
        while Instant::now() < drain_until {
            match self.read_batch(sink) {
                Ok(0) => std::thread::sleep(IDLE_WAIT),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        sink.flush();
        self.publish_stats(status, &mut share);
        log::debug!(
            "capture thread {} of {} on {}: counted {} packets",
            self.thread,
            self.options.threads.max(1),
            self.options.interface,
            self.counted
        );
    }

    /// Counts what the kernel has buffered, up to one batch, in one
    /// `pcap_dispatch` call (a whole ring block at a time, where reading a
    /// packet a call costs a library call and its checks per packet);
    /// returns how many packets it counted, 0 when none were waiting.
    fn read_batch(&mut self, sink: &mut PacketSink) -> Result<usize, pcap::Error> {
        let n = self.capture.dispatch(Some(CHECK_EVERY_PACKETS), |p| {
            sink.packet(ts_ns(p.header), p.header.len, p.data)
        })?;
        self.counted += n as u64;
        Ok(n)
    }

    /// Throws away what the kernel has buffered, up to one batch; returns
    /// how many packets that was (0 also when the read failed: the capture
    /// thread meets the failure on its next read).
    fn discard_batch(&mut self) -> usize {
        let n = self
            .capture
            .dispatch(Some(CHECK_EVERY_PACKETS), |_| {})
            .unwrap_or(0);
        self.discarded += n as u64;
        n
    }

    /// Adds to `status` what libpcap's received and dropped totals grew by
    /// since this capture last published them.
    fn publish_stats(&mut self, status: &SourceStatus, share: &mut StatsShare) {
        if let Ok(s) = self.capture.stats() {
            let now = (
                share.base.0 + u64::from(s.received).saturating_sub(self.discarded),
                share.base.1 + u64::from(s.dropped),
                share.base.2 + u64::from(s.if_dropped),
            );
            let was = share.published;
            status.received.fetch_add(now.0.saturating_sub(was.0), Relaxed);
            status
                .kernel_drops
                .fetch_add(now.1.saturating_sub(was.1), Relaxed);
            status
                .interface_drops
                .fetch_add(now.2.saturating_sub(was.2), Relaxed);
            share.published = (now.0.max(was.0), now.1.max(was.1), now.2.max(was.2));
        }
    }
}

/// Reads and throws away what `captures`, just joined to their fanout group,
/// were handed before the kernel split the interface's packets between them
/// (see [`DISCARD_AFTER_JOIN`]): the handles of one interface together, so
/// opening N of them waits that long once.
fn discard_until_split(captures: &mut [LiveCapture]) {
    let until = Instant::now() + DISCARD_AFTER_JOIN;
    while Instant::now() < until {
        let read: usize = captures.iter_mut().map(LiveCapture::discard_batch).sum();
        if read == 0 {
            std::thread::sleep(IDLE_WAIT);
        }
    }
}

/// One capture's own received, kernel-dropped and interface-dropped totals.
#[derive(Clone, Copy, Debug, Default)]
struct StatsShare {
    /// The totals of the handles this capture had before it was reopened.
    base: (u64, u64, u64),
    /// What of its totals it has added to the status so far.
    published: (u64, u64, u64),
}
