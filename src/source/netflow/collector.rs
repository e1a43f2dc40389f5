//! `--netflow [HOST:]PORT`: a UDP collector thread for NetFlow v5, v9 and
//! IPFIX on one socket (the version field tells them apart). The receive
//! loop and socket are the sFlow collector's ([`crate::source::udp`]).
//!
//! Each datagram is stamped with the system clock on arrival, and that
//! time, not the flow's end time, drives the packet clock. Exporters' clocks
//! are not trusted (one datagram claiming a time years ahead would decay
//! every map to nothing), records of one datagram end at scattered times
//! (active timeouts hold long flows for minutes), and a quiet network must
//! still fade, as with live interfaces and sFlow. The cost: a flow shows up
//! when its record arrives, up to the exporter's active timeout late.
//!
//! Datagrams are hostile input: a malformed one is counted and logged at most
//! once every 10 seconds (the shared receive loop), and so is what could not
//! be used (records, data sets, templates, by reason), as a running total.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::decode::Malformed;
use super::ingest::{NetflowIngest, NetflowStats, Unusable, exporter_addr};
use crate::counting::Counters;
use crate::parse::LocalNets;
use crate::source::udp::{DatagramSink, POLL, UdpLoop};
use crate::source::udp_socket as socket;
use crate::source::{SourceError, SourceStatus};

/// The port NetFlow exporters commonly send to (Cisco's; IPFIX's IANA port is 4739).
pub const DEFAULT_PORT: u16 = 2055;

/// A bound collector, ready to serve.
pub struct NetflowCollector {
    socket: UdpSocket,
    counters: Arc<Counters>,
    locals: LocalNets,
    run_for: Option<Duration>,
    buffer_bytes: usize,
    stats: Arc<NetflowStats>,
}

impl NetflowCollector {
    /// Binds `addr` (UDP) with a large receive buffer.
    pub fn bind(addr: SocketAddr, counters: Arc<Counters>, locals: LocalNets) -> Result<Self, SourceError> {
        let bind_error = |error| SourceError::Bind {
            what: format!("NetFlow address {addr}"),
            error,
        };
        let (socket, buffer_bytes) = socket::bind(addr).map_err(bind_error)?;
        socket.set_read_timeout(Some(POLL)).map_err(bind_error)?;
        Ok(NetflowCollector {
            socket,
            counters,
            locals,
            run_for: None,
            buffer_bytes,
            stats: Arc::new(NetflowStats::default()),
        })
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

    /// Collector-wide and per exporter figures, updated while serving.
    pub fn stats(&self) -> Arc<NetflowStats> {
        self.stats.clone()
    }

    /// Receives and counts datagrams until `stop` is set or the duration has
    /// passed; the counts are all in when it returns.
    pub fn serve(self, status: Arc<SourceStatus>, stop: Arc<AtomicBool>) {
        let udp = UdpLoop {
            socket: &self.socket,
            protocol: "NetFlow",
            run_for: self.run_for,
            kernel_drops: &self.stats.kernel_drops,
        };
        udp.announce(self.buffer_bytes);
        let mut sink = Sink {
            ingest: NetflowIngest::new(&self.counters, &self.locals, status.clone(), self.stats.clone()),
            stats: self.stats.clone(),
            unusable: UnusableLog::default(),
        };
        udp.serve(&mut sink, &status, &stop);
        sink.unusable.log(&self.stats, None, true);
        self.counters.release(sink.ingest.into_writer());
    }
}

/// The counting, as the receive loop sees it.
struct Sink {
    ingest: NetflowIngest,
    stats: Arc<NetflowStats>,
    unusable: UnusableLog,
}

impl DatagramSink for Sink {
    type Malformed = Why;

    fn datagram(&mut self, ts: u64, from: SocketAddr, data: &[u8]) -> Result<(), Why> {
        let result = self.ingest.datagram(ts, exporter_addr(from), data);
        self.unusable.log(&self.stats, Some(from), false);
        result.map(|_| ()).map_err(Why)
    }
}

/// At most one line about unusable records per this.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Logs what could not be used (records, data sets, templates: the
/// `unusable` reasons) when it grows: the first time at once, then at most
/// once per [`LOG_EVERY`], so a flood cannot flood the log.
#[derive(Default)]
struct UnusableLog {
    logged: u64,
    last_logged: Option<Instant>,
    latest_from: Option<SocketAddr>,
}

impl UnusableLog {
    /// Looks at the counters after a datagram from `from` (or at the end, `last`).
    fn log(&mut self, stats: &NetflowStats, from: Option<SocketAddr>, last: bool) {
        let total: u64 = stats.unusable.iter().map(|c| c.load(Relaxed)).sum();
        if total == self.logged {
            return;
        }
        if from.is_some() {
            self.latest_from = from;
        }
        let due = last || self.last_logged.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if !due {
            return;
        }
        let reasons: Vec<String> = Unusable::ALL
            .iter()
            .filter_map(|&u| {
                let n = stats.unusable[u as usize].load(Relaxed);
                (n > 0).then(|| format!("{} {n}", u.name()))
            })
            .collect();
        let from = self
            .latest_from
            .map(|f| format!(", the latest from {f}"))
            .unwrap_or_default();
        log::warn!(
            "NetFlow: {total} records, sets or templates could not be used so far ({}){from}",
            reasons.join(", ")
        );
        self.logged = total;
        self.last_logged = Some(Instant::now());
    }
}

/// A malformed datagram as the log words it: the version when readable, and the reason.
struct Why(Malformed);

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(h) = self.0.header {
            write!(f, " (version {}, domain {})", h.version, h.domain)?;
        }
        write!(f, ": {}", self.0.error)
    }
}
