//! `--sflow [HOST:]PORT`: a UDP sFlow v5 collector thread. Each datagram is
//! stamped with the system clock on arrival (agents' clocks are not
//! trusted, and a quiet network must still fade, as with live interfaces)
//! and handed to [`SflowIngest`]; the receive loop, shared with NetFlow, is
//! [`crate::source::udp`].
//!
//! Datagrams are hostile input: a malformed one is counted (per agent where
//! its header is readable) and logged at most once every 10 seconds, never
//! fatal.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::decode::Malformed;
use super::ingest::{HeaderFilters, SflowIngest, SflowStats};
use crate::counting::Counters;
use crate::parse::LocalNets;
use crate::source::udp::{DatagramSink, POLL, UdpLoop};
use crate::source::udp_socket as socket;
use crate::source::{SourceError, SourceStatus};

/// At most one line about saturated totals per this.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The port sFlow agents send to unless configured otherwise (IANA).
pub const DEFAULT_PORT: u16 = 6343;

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
        let udp = UdpLoop {
            socket: &self.socket,
            protocol: "sFlow",
            run_for: self.run_for,
            kernel_drops: &self.stats.kernel_drops,
        };
        udp.announce(self.buffer_bytes);
        let mut ingest = Sink {
            ingest: SflowIngest::new(
                &self.counters,
                &self.locals,
                self.filters,
                status.clone(),
                self.stats.clone(),
            ),
            stats: self.stats.clone(),
            saturated: SaturatedLog::default(),
        };
        udp.serve(&mut ingest, &status, &stop);
        self.counters.release(ingest.ingest.into_writer());
    }
}

/// The counting, as the receive loop sees it, and what it says of totals
/// that reached their ceiling.
struct Sink {
    ingest: SflowIngest,
    stats: Arc<SflowStats>,
    saturated: SaturatedLog,
}

impl DatagramSink for Sink {
    type Malformed = Why;

    fn datagram(&mut self, ts: u64, _from: SocketAddr, data: &[u8]) -> Result<(), Why> {
        self.ingest.datagram(ts, data).map(|_| ()).map_err(Why)
    }

    fn housekeeping(&mut self, last: bool) {
        self.saturated.flush(
            self.stats.saturated.load(std::sync::atomic::Ordering::Relaxed),
            last,
        );
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

/// A malformed datagram as the log words it: the agent, when readable, and the reason.
struct Why(Malformed);

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(h) = self.0.header {
            write!(f, " (agent {})", h.agent)?;
        }
        write!(f, ": {}", self.0.error)
    }
}
