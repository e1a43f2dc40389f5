//! `--listen HOST:PORT`: accept pcap streams over TCP from one or several
//! senders (`tcpdump -i eth1 -U -w - | ncat wallhost 5000`), as the paper's
//! display PC did with `ncat -l`.
//!
//! Senders are untrusted: each connection gets its own reader thread and
//! counter shard, and a bad stream (not pcap, a corrupt or impossible record
//! length, cut mid-record, silent too long) is closed and logged on standard
//! error without disturbing the others. Memory is bounded: at most
//! [`MAX_SENDERS`] connections are served (more are refused and logged), each
//! buffers at most one fixed-size window of the stream (large enough for the
//! largest record, [`super::pcap_format::MAX_RECORD`]), and a sender silent for
//! the idle timeout is dropped, freeing its slot.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use super::pcap_format::StreamReader;
use super::{Pacer, Pump, RecordFilter, RecordSource, SourceError, SourceStatus, Speed, pump};
use crate::counting::{Counters, PacketSink};
use crate::parse::{Classifier, LocalNets};

/// Most senders served at once; more are refused (and logged).
pub const MAX_SENDERS: usize = 64;
/// A sender silent this long is dropped, freeing its slot (`--stream-idle-timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
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

/// One served connection: its thread, and a handle to close it on shutdown.
struct Sender {
    thread: JoinHandle<()>,
    stream: TcpStream,
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

    /// Drops a sender that sends nothing for `timeout` (a silent or stalled
    /// sender would otherwise hold one of the [`MAX_SENDERS`] slots for ever).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Applies a BPF filter to every stream (compiled per stream, for its link type).
    pub fn filter(mut self, expression: Option<String>) -> Self {
        self.filter = expression;
        self
    }

    /// Stops serving once `streams` connections have closed, refused ones
    /// included (`scanwall count --listen --streams N`: a run that ends by itself).
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
        });
        let budget_spent = || {
            self.stream_budget
                .is_some_and(|n| shared.closed.load(Relaxed) >= n)
        };
        let mut senders: Vec<Sender> = Vec::new();
        while !shared.stop.load(Relaxed) && !budget_spent() {
            senders.retain(|s| !s.thread.is_finished());
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
    }
}

/// Serves one new connection on a thread of its own, or refuses it when
/// [`MAX_SENDERS`] are already served.
fn accept(shared: &Arc<Shared>, senders: &mut Vec<Sender>, stream: TcpStream, peer: SocketAddr) {
    if shared.active.load(Relaxed) >= MAX_SENDERS {
        log::warn!("refused sender {peer}: already {MAX_SENDERS} senders");
        drop(stream);
        shared.closed.fetch_add(1, Relaxed);
        return;
    }
    let Ok(handle) = stream.try_clone() else {
        log::warn!("refused sender {peer}: cannot keep a handle on the connection");
        shared.closed.fetch_add(1, Relaxed);
        return;
    };
    shared.active.fetch_add(1, Relaxed);
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("sender {peer}"))
        .spawn(move || {
            let s = thread_shared;
            let outcome = serve_sender(&stream, peer, &s);
            // Closed now, not when the accept loop drops its handle.
            let _ = stream.shutdown(Shutdown::Both);
            let left = s.active.fetch_sub(1, Relaxed) - 1;
            s.status.stalled.store(left == 0, Relaxed);
            s.closed.fetch_add(1, Relaxed);
            // Logged once the slot is free: whoever reads the line may reuse it.
            log::info!("{outcome}");
        });
    match spawned {
        Ok(thread) => senders.push(Sender {
            thread,
            stream: handle,
        }),
        Err(_) => {
            shared.active.fetch_sub(1, Relaxed);
            shared.closed.fetch_add(1, Relaxed);
            log::warn!("refused sender {peer}: cannot start a thread for it");
        }
    }
}

/// Reads one sender's stream to its end (or first error) into a shard of its
/// own; returns the line that says how it ended.
fn serve_sender(stream: &TcpStream, peer: SocketAddr, shared: &Shared) -> String {
    let what = format!("stream from {peer}");
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(shared.idle_timeout));
    let input = IdleLimited {
        inner: stream,
        timeout: shared.idle_timeout,
    };
    let mut reader = match StreamReader::new(input, &what) {
        Ok(r) => r,
        Err(e) => return format!("closed {what}: {e}"),
    };
    let filter = match shared
        .filter
        .as_deref()
        .map(|f| RecordFilter::compile(f, reader.link()))
        .transpose()
    {
        Ok(f) => f,
        Err(e) => return format!("closed {what}: {e}"),
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
    match result {
        Ok(()) => format!("{what} ended after {} packets", summary.records),
        Err(e) => format!("closed {what} after {} packets: {e}", summary.records),
    }
}

/// A connection whose read timeout (the idle timeout) reads as a plain
/// "idle" error rather than the operating system's "resource temporarily unavailable".
struct IdleLimited<'a> {
    inner: &'a TcpStream,
    timeout: Duration,
}

impl Read for IdleLimited<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "sent nothing for {:?} (--stream-idle-timeout), dropped",
                    self.timeout
                ),
            ),
            _ => e,
        })
    }
}
