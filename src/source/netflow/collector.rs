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

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::decode::Malformed;
use super::ingest::{NetflowIngest, NetflowStats, exporter_addr};
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
        let mut sink = Sink(NetflowIngest::new(
            &self.counters,
            &self.locals,
            status.clone(),
            self.stats.clone(),
        ));
        udp.serve(&mut sink, &status, &stop);
        self.counters.release(sink.0.into_writer());
    }
}

/// The counting, as the receive loop sees it.
struct Sink(NetflowIngest);

impl DatagramSink for Sink {
    type Malformed = Why;

    fn datagram(&mut self, ts: u64, from: SocketAddr, data: &[u8]) -> Result<(), Why> {
        self.0
            .datagram(ts, exporter_addr(from), data)
            .map(|_| ())
            .map_err(Why)
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
