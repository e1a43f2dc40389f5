//! `--listen HOST:PORT`: accept pcap streams over TCP from one or several
//! senders (`tcpdump -i eth1 -U -w - | ncat wallhost 5000`), as the paper's
//! display PC did with `ncat -l`.
//!
//! Senders are untrusted: each connection gets its own reader thread and
//! counter shard, and a bad stream (not pcap, a corrupt or impossible record
//! length, cut mid-record, too slow) is closed and logged on standard error
//! without disturbing the others. Memory is bounded: at most [`MAX_SENDERS`]
//! connections are served, each buffers at most one fixed-size window of the
//! stream (large enough for the largest record,
//! [`super::pcap_format::MAX_RECORD`]).
//!
//! Slots cannot be held by the slow: a sender must finish a whole record (the
//! pcap header first) within the idle timeout of the last one, or it is
//! dropped. A timeout per read would not do: one byte every 1.5 s under a 3 s
//! timeout (or every 59 s under the default 60 s) kept a sender for ever, and
//! 64 of them kept everyone else out. And when every slot is taken, a new
//! sender is served in the slot of the least productive one (fewest records,
//! then longest without one), so a full house of idle or trickling
//! connections never locks a good sender out; see [`least_productive`].
//!
//! Connections that end without a packet counted (refused, not pcap, closed
//! at once, dropped before a record) are what strangers can cause at will, so
//! their lines go through a [`RateLimitedLog`]; a stream that counted packets
//! has its own line.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::pcap_format::StreamReader;
use super::{Pacer, Pump, Record, RecordFilter, RecordSource, SourceError, SourceStatus, Speed, pump};
use crate::counting::{Counters, PacketSink};
use crate::logging::RateLimitedLog;
use crate::parse::{Classifier, LinkType, LocalNets};

/// Most senders served at once; a new one takes the slot of the least
/// productive (see the module's notes).
pub const MAX_SENDERS: usize = 64;
/// A sender that finishes no record for this long is dropped, freeing its
/// slot (`--stream-idle-timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections dropped to make room whose threads have not ended yet count
/// towards this; past it a new connection is refused (their threads end as
/// soon as their reads see the shutdown, so this is only reached in a storm).
const MAX_CONNECTIONS: usize = 2 * MAX_SENDERS;
/// How often the accept loop looks at the stop flag and the stream budget.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// A bound listener, ready to serve.
pub struct StreamListener {
    listener: TcpListener,
    counters: Arc<Counters>,
    locals: LocalNets,
    idle_timeout: Duration,
    filter: Option<String>,
    stream_budget: Option<usize>,
}

/// One served connection: its thread, a handle to close it on shutdown, and
/// its progress (for [`least_productive`]).
struct Sender {
    thread: JoinHandle<()>,
    stream: TcpStream,
    progress: Arc<Progress>,
}

/// How far one sender has got, written by its thread and read by the accept
/// loop when it must choose whom to drop.
#[derive(Debug)]
struct Progress {
    /// Whole units read: the pcap header, then each record.
    units: AtomicU64,
    /// When the latest unit was seen to be done (at connection: when it
    /// connected), in nanoseconds after the listener started.
    last_ns: AtomicU64,
    /// Set when the accept loop drops this sender to serve the one named.
    evicted_for: OnceLock<SocketAddr>,
}

impl Progress {
    fn new(now_ns: u64) -> Self {
        Progress {
            units: AtomicU64::new(0),
            last_ns: AtomicU64::new(now_ns),
            evicted_for: OnceLock::new(),
        }
    }

    /// What [`least_productive`] compares: fewest units first, then the
    /// longest without one.
    fn rank(&self) -> (u64, u64) {
        (self.units.load(Relaxed), self.last_ns.load(Relaxed))
    }
}

/// What the accept loop and the sender threads share.
struct Shared {
    counters: Arc<Counters>,
    locals: LocalNets,
    filter: Option<String>,
    idle_timeout: Duration,
    status: Arc<SourceStatus>,
    stop: Arc<AtomicBool>,
    /// Connections being served.
    active: AtomicUsize,
    /// Connections that have ended, served or refused (for `--streams`).
    closed: AtomicUsize,
    /// The clock progress times are kept on.
    started: Instant,
    /// Lines of connections that ended without a packet.
    refusals: RateLimitedLog,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl StreamListener {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr, counters: Arc<Counters>, locals: LocalNets) -> Result<Self, SourceError> {
        let what = format!("listen address {addr}");
        let listener = TcpListener::bind(addr).map_err(|e| SourceError::io(&what, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| SourceError::io(&what, e))?;
        Ok(StreamListener {
            listener,
            counters,
            locals,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            filter: None,
            stream_budget: None,
        })
    }

    /// Drops a sender that finishes no record for `timeout` (a silent, stalled
    /// or trickling sender would otherwise hold one of the [`MAX_SENDERS`]
    /// slots for ever).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Applies a BPF filter to every stream (compiled per stream, for its link type).
    pub fn filter(mut self, expression: Option<String>) -> Self {
        self.filter = expression;
        self
    }

    /// Stops serving once `streams` connections have closed, refused and
    /// dropped ones included (`scanwall count --listen --streams N`: a run
    /// that ends by itself).
    pub fn stop_after_streams(mut self, streams: Option<usize>) -> Self {
        self.stream_budget = streams;
        self
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Accepts senders until `stop` (or the stream budget is spent); each
    /// stream is counted on its own thread. On the way out every open
    /// connection is shut down and its thread joined, so all counts are in.
    pub fn serve(self, status: Arc<SourceStatus>, stop: Arc<AtomicBool>) {
        if let Some(addr) = self.local_addr() {
            log::info!("listening for pcap streams on {addr}");
        }
        let shared = Arc::new(Shared {
            counters: self.counters,
            locals: self.locals,
            filter: self.filter,
            idle_timeout: self.idle_timeout,
            status,
            stop,
            active: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            started: Instant::now(),
            refusals: RateLimitedLog::new("pcap stream connections that ended without a packet"),
        });
        let budget_spent = || {
            self.stream_budget
                .is_some_and(|n| shared.closed.load(Relaxed) >= n)
        };
        let mut senders: Vec<Sender> = Vec::new();
        while !shared.stop.load(Relaxed) && !budget_spent() {
            senders.retain(|s| !s.thread.is_finished());
            shared.refusals.flush(false);
            match self.listener.accept() {
                Ok((stream, peer)) => accept(&shared, &mut senders, stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    std::thread::sleep(ACCEPT_POLL * 10);
                }
            }
        }
        shared.stop.store(true, Relaxed);
        for s in &senders {
            let _ = s.stream.shutdown(Shutdown::Both);
        }
        for s in senders {
            let _ = s.thread.join();
        }
        shared.refusals.flush(true);
    }
}

/// The sender to drop so that a new one can be served: the one with the
/// fewest whole records (the pcap header counts as one), and among those the
/// longest without one. Idle and trickling connections have none, so they go
/// first, oldest first; a sender that is streaming is never chosen while one
/// of them is there, and a sender that has just connected is the newest, so
/// it is chosen last among its peers. `None` when all are being dropped already.
fn least_productive<T>(senders: &[T], progress: impl Fn(&T) -> &Progress) -> Option<&T> {
    senders
        .iter()
        .filter(|s| progress(s).evicted_for.get().is_none())
        .min_by_key(|s| progress(s).rank())
}

/// Serves one new connection on a thread of its own; when [`MAX_SENDERS`]
/// are served, the [`least_productive`] is dropped to make room.
fn accept(shared: &Arc<Shared>, senders: &mut Vec<Sender>, stream: TcpStream, peer: SocketAddr) {
    let refuse = |why: &str| {
        shared.closed.fetch_add(1, Relaxed);
        shared
            .refusals
            .note(log::Level::Warn, format!("refused sender {peer}: {why}"));
    };
    let serving = senders
        .iter()
        .filter(|s| s.progress.evicted_for.get().is_none())
        .count();
    if serving >= MAX_SENDERS {
        let victim = least_productive(senders, |s| &s.progress).filter(|_| senders.len() < MAX_CONNECTIONS);
        let Some(victim) = victim else {
            drop(stream);
            return refuse(&format!("already {MAX_SENDERS} senders, and as many leaving"));
        };
        let _ = victim.progress.evicted_for.set(peer);
        let _ = victim.stream.shutdown(Shutdown::Both);
    }
    let Ok(handle) = stream.try_clone() else {
        return refuse("cannot keep a handle on the connection");
    };
    let progress = Arc::new(Progress::new(shared.now_ns()));
    shared.active.fetch_add(1, Relaxed);
    let thread_shared = shared.clone();
    let thread_progress = progress.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("sender {peer}"))
        .spawn(move || {
            let s = thread_shared;
            let (packets, outcome) = serve_sender(&stream, peer, &s, thread_progress);
            // Closed now, not when the accept loop drops its handle.
            let _ = stream.shutdown(Shutdown::Both);
            let left = s.active.fetch_sub(1, Relaxed) - 1;
            s.status.stalled.store(left == 0, Relaxed);
            s.closed.fetch_add(1, Relaxed);
            // Logged once the slot is free: whoever reads the line may reuse it.
            if packets > 0 {
                log::info!("{outcome}");
            } else {
                s.refusals.note(log::Level::Info, outcome);
            }
        });
    match spawned {
        Ok(thread) => senders.push(Sender {
            thread,
            stream: handle,
            progress,
        }),
        Err(_) => {
            shared.active.fetch_sub(1, Relaxed);
            refuse("cannot start a thread for it");
        }
    }
}

/// Reads one sender's stream to its end (or first error) into a shard of its
/// own; returns the packets it counted and the line that says how it ended.
fn serve_sender(
    stream: &TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    progress: Arc<Progress>,
) -> (u64, String) {
    let what = format!("stream from {peer}");
    let dropped = |packets: u64| {
        progress.evicted_for.get().map(|newcomer| {
            format!(
                "dropped {what} after {packets} packets: the least productive of {MAX_SENDERS} senders, to serve {newcomer}"
            )
        })
    };
    let _ = stream.set_nonblocking(false);
    let input = Progressing {
        inner: stream,
        timeout: shared.idle_timeout,
        deadline: Instant::now() + shared.idle_timeout,
        progress: progress.clone(),
        seen: 0,
        started: shared.started,
    };
    let reader = match StreamReader::new(input, &what) {
        Ok(r) => r,
        Err(e) => return (0, dropped(0).unwrap_or_else(|| format!("closed {what}: {e}"))),
    };
    progress.units.fetch_add(1, Relaxed);
    let mut reader = Watched {
        reader,
        progress: progress.clone(),
    };
    let filter = match shared
        .filter
        .as_deref()
        .map(|f| RecordFilter::compile(f, reader.link()))
        .transpose()
    {
        Ok(f) => f,
        Err(e) => return (0, format!("closed {what}: {e}")),
    };
    shared.status.stalled.store(false, Relaxed);
    let classifier = Classifier::new(reader.link(), shared.locals.clone());
    let mut sink = PacketSink::new(classifier, shared.counters.writer());
    let mut p = Pump {
        pacer: Pacer::new(Speed::Max),
        filter: filter.as_ref(),
        stop: &shared.stop,
        ts_offset: 0,
    };
    let (summary, result) = pump(&mut reader, &mut sink, &mut p);
    shared.counters.release(sink.into_writer());
    let packets = summary.records;
    let line = dropped(packets).unwrap_or_else(|| match result {
        Ok(()) => format!("{what} ended after {packets} packets"),
        Err(e) => format!("closed {what} after {packets} packets: {e}"),
    });
    (packets, line)
}

/// A sender's records, each one noted in its [`Progress`] as it is handed on
/// (which is what [`Progressing`] sees as progress).
struct Watched<'a> {
    reader: StreamReader<Progressing<'a>>,
    progress: Arc<Progress>,
}

impl RecordSource for Watched<'_> {
    fn link(&self) -> LinkType {
        self.reader.link()
    }

    fn may_wait(&self) -> bool {
        true
    }

    fn next_record(&mut self) -> Result<Option<Record<'_>>, SourceError> {
        let record = self.reader.next_record();
        if let Ok(Some(_)) = record {
            self.progress.units.fetch_add(1, Relaxed);
        }
        record
    }
}

/// A connection read against a deadline for progress rather than a timeout
/// per read: each read may wait only until the idle timeout after the latest
/// whole unit (header or record, counted in [`Progress::units`] by whoever
/// reads them) was done, so bytes that trickle without finishing a record do
/// not keep a sender alive. Expiry reads as a plain error that says so,
/// rather than the operating system's "resource temporarily unavailable".
struct Progressing<'a> {
    inner: &'a TcpStream,
    timeout: Duration,
    deadline: Instant,
    progress: Arc<Progress>,
    /// `progress.units` when the deadline was last set.
    seen: u64,
    /// The listener's clock for [`Progress::last_ns`].
    started: Instant,
}

impl Progressing<'_> {
    fn expired(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "sent no whole record for {:?} (--stream-idle-timeout), dropped",
                self.timeout
            ),
        )
    }
}

impl Read for Progressing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let now = Instant::now();
        let units = self.progress.units.load(Relaxed);
        if units != self.seen {
            // Whole units were read since the last call: the clock starts again.
            self.seen = units;
            self.deadline = now + self.timeout;
            let ns = u64::try_from(now.duration_since(self.started).as_nanos()).unwrap_or(u64::MAX);
            self.progress.last_ns.store(ns, Relaxed);
        }
        let left = self.deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Err(self.expired());
        }
        self.inner.set_read_timeout(Some(left))?;
        self.inner.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.expired(),
            _ => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(units: u64, last_ns: u64) -> Progress {
        let p = Progress::new(0);
        p.units.store(units, Relaxed);
        p.last_ns.store(last_ns, Relaxed);
        p
    }

    #[test]
    fn the_least_productive_is_the_oldest_of_those_with_fewest_records() {
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("address");
        let streaming = progress(10_001, 50);
        let quiet = progress(3, 10);
        let trickling_old = progress(0, 5);
        let trickling_new = progress(0, 40);
        let senders = [&streaming, &quiet, &trickling_new, &trickling_old];
        let pick = |s: &[&Progress]| least_productive(s, |p| p).map(|p| p.rank());
        assert_eq!(pick(&senders), Some((0, 5)));
        // One already being dropped is not chosen again.
        let _ = trickling_old.evicted_for.set(addr);
        assert_eq!(pick(&senders), Some((0, 40)));
        let _ = trickling_new.evicted_for.set(addr);
        // Then the one with the fewest records, however recent its last one.
        assert_eq!(pick(&senders), Some((3, 10)));
        let _ = quiet.evicted_for.set(addr);
        let _ = streaming.evicted_for.set(addr);
        assert_eq!(pick(&senders), None);
    }
}
