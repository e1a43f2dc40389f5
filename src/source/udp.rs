//! The receive loop of the UDP collectors (`--sflow`, `--netflow`): one
//! socket, one reused 64 KiB buffer (the largest UDP payload), each datagram
//! stamped with the system clock on arrival and handed to the protocol's
//! decoder; once a second the kernel's drop count and the stall flag are
//! refreshed; malformed datagrams are logged at a bounded rate. The
//! protocols differ only in what a datagram means ([`DatagramSink`]).

use std::fmt::Display;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::SourceStatus;
use super::udp_socket;

/// How often the receive loop looks at the stop flag when no datagram comes.
pub const POLL: Duration = Duration::from_millis(50);
/// How often the kernel drop count and the stall flag are refreshed.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// Silence after which the source shows as stalled.
const STALL_AFTER: Duration = Duration::from_secs(5);
/// At most one line about malformed datagrams per this.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What a collector does with each datagram.
pub trait DatagramSink {
    /// Why a datagram was rejected, as the log line words it (after "from ADDR").
    type Malformed: Display;
    /// Decodes and counts one datagram from `from` that arrived at `ts` (ns since the epoch).
    fn datagram(&mut self, ts: u64, from: SocketAddr, data: &[u8]) -> Result<(), Self::Malformed>;

    /// Called about once a second, and once more (`last`) at the end: for
    /// whatever the protocol says at a bounded rate.
    fn housekeeping(&mut self, _last: bool) {}
}

/// A bound socket and how long to serve it.
pub struct UdpLoop<'a> {
    /// The bound socket (with its read timeout set to [`POLL`]).
    pub socket: &'a UdpSocket,
    /// The protocol's name in log lines, e.g. `sFlow`.
    pub protocol: &'static str,
    /// Stop after this much wall clock (`count --duration`).
    pub run_for: Option<Duration>,
    /// Where the kernel's drop count is also kept (the protocol's stats).
    pub kernel_drops: &'a AtomicU64,
}

impl UdpLoop<'_> {
    /// Logs the start-up line: the address and the receive buffer granted.
    pub fn announce(&self, buffer_bytes: usize) {
        let Ok(addr) = self.socket.local_addr() else {
            return;
        };
        let asked = udp_socket::RECEIVE_BUFFER_BYTES;
        let short = if buffer_bytes < asked {
            format!(
                " of {} KiB asked: raise net.core.rmem_max to get it all",
                asked >> 10
            )
        } else {
            String::new()
        };
        log::info!(
            "{} collector on {addr} (UDP, receive buffer {} KiB{short})",
            self.protocol,
            buffer_bytes >> 10
        );
    }

    /// Receives datagrams into `sink` until `stop` is set or the duration
    /// has passed; what arrived in time but was not read yet still counts.
    pub fn serve<S: DatagramSink>(&self, sink: &mut S, status: &SourceStatus, stop: &AtomicBool) {
        status.stalled.store(true, Relaxed);
        let mut buf = vec![0u8; 65_536];
        let mut log = MalformedLog::new(self.protocol);
        let started = Instant::now();
        let deadline = self.run_for.map(|d| started + d);
        let mut last_datagram = started;
        let mut next_housekeeping = started + HOUSEKEEPING;
        while !stop.load(Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
            match self.receive_one(sink, status, &mut buf, &mut log) {
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
                self.housekeeping(status, &mut log, false);
                sink.housekeeping(false);
                if now.duration_since(last_datagram) >= STALL_AFTER {
                    status.stalled.store(true, Relaxed);
                }
            }
        }
        if self.socket.set_nonblocking(true).is_ok() {
            while self.receive_one(sink, status, &mut buf, &mut log).is_ok() {}
        }
        self.housekeeping(status, &mut log, true);
        sink.housekeeping(true);
    }

    fn receive_one<S: DatagramSink>(
        &self,
        sink: &mut S,
        status: &SourceStatus,
        buf: &mut [u8],
        log: &mut MalformedLog<S::Malformed>,
    ) -> std::io::Result<()> {
        let (n, from) = self.socket.recv_from(buf)?;
        status.received.fetch_add(1, Relaxed);
        let data = buf.get(..n).unwrap_or_default();
        if let Err(m) = sink.datagram(now_ns(), from, data) {
            log.note(from, m);
        }
        Ok(())
    }

    fn housekeeping<M: Display>(&self, status: &SourceStatus, log: &mut MalformedLog<M>, last: bool) {
        if let Some(d) = udp_socket::kernel_drops(self.socket) {
            status.kernel_drops.store(d, Relaxed);
            self.kernel_drops.store(d, Relaxed);
        }
        log.flush(last);
    }
}

/// Nanoseconds since the Unix epoch on the system clock.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Logs the first malformed datagram at once, then at most one summary line
/// per [`LOG_EVERY`], so a flood of junk cannot flood the log (and formats
/// nothing per datagram).
struct MalformedLog<M> {
    protocol: &'static str,
    last_logged: Option<Instant>,
    /// Malformed datagrams not logged yet, and the latest of them.
    pending: u64,
    latest: Option<(SocketAddr, M)>,
}

impl<M: Display> MalformedLog<M> {
    fn new(protocol: &'static str) -> Self {
        MalformedLog {
            protocol,
            last_logged: None,
            pending: 0,
            latest: None,
        }
    }

    fn note(&mut self, from: SocketAddr, m: M) {
        self.pending += 1;
        self.latest = Some((from, m));
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
            let p = self.protocol;
            match self.pending {
                1 => log::warn!("malformed {p} datagram from {from}{m}"),
                n => log::warn!("{n} malformed {p} datagrams, the latest from {from}{m}"),
            }
        }
        self.pending = 0;
        self.last_logged = Some(Instant::now());
    }
}
