//! `--sflow [HOST:]PORT`: a UDP sFlow v5 collector thread. Each datagram is
//! stamped with the system clock on arrival (agents' clocks are not
//! trusted, and a quiet network must still fade, as with live interfaces)
//! and handed to [`SflowIngest`]; once a second the kernel's drop count and
//! the stall flag are refreshed.
//!
//! Datagrams are hostile input: a malformed one is counted (per agent where
//! its header is readable) and logged at most once every 10 seconds, never
//! fatal. One receive buffer of 64 KiB (the largest UDP payload) is
//! allocated at start and reused.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::decode::Malformed;
use super::ingest::{HeaderFilters, SflowIngest, SflowStats};
use super::socket;
use crate::counting::Counters;
use crate::parse::LocalNets;
use crate::source::{SourceError, SourceStatus};

/// The port sFlow agents send to unless configured otherwise (IANA).
pub const DEFAULT_PORT: u16 = 6343;
/// How often the receive loop looks at the stop flag when no datagram comes.
const POLL: Duration = Duration::from_millis(50);
/// How often the kernel drop count and the stall flag are refreshed.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// Silence after which the source shows as stalled.
const STALL_AFTER: Duration = Duration::from_secs(5);
/// At most one line about malformed datagrams per this.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A bound collector, ready to serve.
pub struct SflowCollector {
    socket: UdpSocket,
    counters: Arc<Counters>,
    locals: LocalNets,
    filters: Option<HeaderFilters>,
    run_for: Option<Duration>,
    buffer_bytes: usize,
    stats: Arc<SflowStats>,
}

impl SflowCollector {
    /// Binds `addr` (UDP) with a large receive buffer.
    pub fn bind(addr: SocketAddr, counters: Arc<Counters>, locals: LocalNets) -> Result<Self, SourceError> {
        let bind_error = |error| SourceError::Bind {
            what: format!("sFlow address {addr}"),
            error,
        };
        let (socket, buffer_bytes) = socket::bind(addr).map_err(bind_error)?;
        socket.set_read_timeout(Some(POLL)).map_err(bind_error)?;
        Ok(SflowCollector {
            socket,
            counters,
            locals,
            filters: None,
            run_for: None,
            buffer_bytes,
            stats: Arc::new(SflowStats::default()),
        })
    }

    /// Applies a BPF filter to every sampled header (compiled now, once per header protocol).
    pub fn filter(mut self, expression: Option<&str>) -> Result<Self, SourceError> {
        self.filters = expression.map(HeaderFilters::compile).transpose()?;
        Ok(self)
    }

    /// Stops serving after `duration` of wall clock (`count --duration`, `snapshot --seconds`).
    pub fn stop_after(mut self, duration: Option<Duration>) -> Self {
        self.run_for = duration;
        self
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    /// Collector-wide totals, updated while serving.
    pub fn stats(&self) -> Arc<SflowStats> {
        self.stats.clone()
    }

    /// Receives and counts datagrams until `stop` is set or the duration has
    /// passed; the counts are all in when it returns.
    pub fn serve(self, status: Arc<SourceStatus>, stop: Arc<AtomicBool>) {
        if let Some(addr) = self.local_addr() {
            let asked = socket::RECEIVE_BUFFER_BYTES;
            let short = if self.buffer_bytes < asked {
                format!(
                    " of {} KiB asked: raise net.core.rmem_max to get it all",
                    asked >> 10
                )
            } else {
                String::new()
            };
            log::info!(
                "sFlow collector on {addr} (UDP, receive buffer {} KiB{short})",
                self.buffer_bytes >> 10
            );
        }
        status.stalled.store(true, Relaxed);
        let ingest = SflowIngest::new(
            &self.counters,
            &self.locals,
            self.filters,
            status.clone(),
            self.stats.clone(),
        );
        let mut rx = Receiver {
            socket: &self.socket,
            ingest,
            status: &status,
            stats: &self.stats,
            buf: vec![0u8; 65_536],
            log: MalformedLog::default(),
            saturated: SaturatedLog::default(),
        };
        let started = Instant::now();
        let deadline = self.run_for.map(|d| started + d);
        let mut last_datagram = started;
        let mut next_housekeeping = started + HOUSEKEEPING;
        while !stop.load(Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
            match rx.receive_one() {
                Ok(()) => last_datagram = Instant::now(),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => {
                    status.set_error(Some(format!("receive failed: {e}")));
                    std::thread::sleep(POLL);
                }
            }
            let now = Instant::now();
            if now >= next_housekeeping {
                next_housekeeping = now + HOUSEKEEPING;
                rx.housekeeping(false);
                if now.duration_since(last_datagram) >= STALL_AFTER {
                    status.stalled.store(true, Relaxed);
                }
            }
        }
        // What arrived in time but was not read yet still counts.
        if self.socket.set_nonblocking(true).is_ok() {
            while rx.receive_one().is_ok() {}
        }
        rx.housekeeping(true);
        self.counters.release(rx.ingest.into_writer());
    }
}

/// The receive loop's state: the socket, one reused buffer, the counting.
struct Receiver<'c> {
    socket: &'c UdpSocket,
    ingest: SflowIngest,
    status: &'c SourceStatus,
    stats: &'c SflowStats,
    buf: Vec<u8>,
    log: MalformedLog,
    saturated: SaturatedLog,
}

impl Receiver<'_> {
    /// Receives and counts one datagram, stamped with its arrival time.
    fn receive_one(&mut self) -> std::io::Result<()> {
        let (n, from) = self.socket.recv_from(&mut self.buf)?;
        self.status.received.fetch_add(1, Relaxed);
        let data = self.buf.get(..n).unwrap_or_default();
        if let Err(m) = self.ingest.datagram(now_ns(), data) {
            self.log.note(from, &m);
        }
        Ok(())
    }

    /// Refreshes the kernel drop count and logs malformed datagrams when due
    /// (or now, when `last`).
    fn housekeeping(&mut self, last: bool) {
        if let Some(d) = socket::kernel_drops(self.socket) {
            self.status.kernel_drops.store(d, Relaxed);
            self.stats.kernel_drops.store(d, Relaxed);
        }
        self.log.flush(last);
        self.saturated.flush(self.stats.saturated.load(Relaxed), last);
    }
}

/// Says when totals hit their ceiling (see `SflowStats::saturated`): at once
/// the first time, then at most once per [`LOG_EVERY`] while it goes on.
#[derive(Default)]
struct SaturatedLog {
    logged: u64,
    last_logged: Option<Instant>,
}

impl SaturatedLog {
    fn flush(&mut self, saturated: u64, now: bool) {
        let due = now || self.last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if saturated <= self.logged || !due {
            return;
        }
        log::warn!(
            "sFlow drop or packet totals reached 2^64 - 1 and stay there ({saturated} additions cut short so far): an agent claims impossible drops"
        );
        self.logged = saturated;
        self.last_logged = Some(Instant::now());
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Logs the first malformed datagram at once, then at most one summary line
/// per [`LOG_EVERY`], so a flood of junk cannot flood the log (and formats
/// nothing per datagram).
#[derive(Default)]
struct MalformedLog {
    last_logged: Option<Instant>,
    /// Malformed datagrams not logged yet, and the latest of them.
    pending: u64,
    latest: Option<(SocketAddr, Malformed)>,
}

impl MalformedLog {
    fn note(&mut self, from: SocketAddr, m: &Malformed) {
        self.pending += 1;
        self.latest = Some((from, *m));
        if self.last_logged.is_none() {
            self.flush(true);
        }
    }

    /// Logs what is pending if [`LOG_EVERY`] has passed, or `now`.
    fn flush(&mut self, now: bool) {
        let due = now || self.last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if self.pending == 0 || !due {
            return;
        }
        if let Some((from, m)) = self.latest.take() {
            let agent = m
                .header
                .map(|h| format!(" (agent {})", h.agent))
                .unwrap_or_default();
            match self.pending {
                1 => log::warn!("malformed sFlow datagram from {from}{agent}: {}", m.error),
                n => log::warn!(
                    "{n} malformed sFlow datagrams, the latest from {from}{agent}: {}",
                    m.error
                ),
            }
        }
        self.pending = 0;
        self.last_logged = Some(Instant::now());
    }
}
