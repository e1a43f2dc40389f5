//! One wall, seen from a sensor: connect, prove the key, send a delta every
//! interval, and when the wall goes away reconnect with exponential back-off
//! (capped at [`MAX_BACKOFF`]). What the wall could not take meanwhile (it
//! was unreachable, or full and refused the sensor) is held and delivered
//! when the sensor gets in, marked late; after an outage longer than
//! [`HOLD_FOR`] the held counts are given up (and the number said), so a wall
//! that comes back after hours is not flooded with them. A wall that refuses
//! the sensor for a reason retrying cannot fix (wrong key, other protocol
//! version) ends this uplink with that reason.

use std::fmt;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::auth::SensorKey;
use super::conn::{Conn, ConnError, printable};
use super::delta::{DeltaBuilder, DeltaStats};
use super::secure::{self, Handshake, SecureError};
use super::wire::{self, CloseReason, MAX_HANDSHAKE_FRAME, Message, VERSION, WireError};
use crate::counting::Counters;

/// The wall's port when `--to` gives none.
pub const DEFAULT_PORT: u16 = 7311;
/// Longest wait between two connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// First wait after a failed attempt (doubled each time).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A wall that takes no delta for this long is treated as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// After the last delta, how long to wait for the wall to close its side.
const LINGER: Duration = Duration::from_secs(2);
/// Longest outage whose counts are held for the wall: beyond it they would
/// light up the wall's decayed picture long after they happened.
pub const HOLD_FOR: Duration = Duration::from_secs(600);
/// Granularity of waits (how soon a stop request is seen).
const TICK: Duration = Duration::from_millis(10);

/// A wall as given to `--to`: `HOST[:PORT]` (`[v6]:PORT` or a bare IPv6
/// address for IPv6), resolved at every attempt so a moved wall is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WallAddr {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl WallAddr {
    /// Parses `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address.
    pub fn parse(text: &str) -> Result<WallAddr, String> {
        let bad = |why: &str| {
            format!("bad --to `{text}`: {why}; expected HOST or HOST:PORT, e.g. wallhost:{DEFAULT_PORT}")
        };
        let t = text.trim();
        let (host, port) = if let Some(rest) = t.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("no closing ]"))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
                ),
            }
        } else if t.matches(':').count() > 1 {
            (t, None)
        } else {
            match t.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (t, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad("the port must be 1 to 65535")),
            },
        };
        Ok(WallAddr {
            host: host.to_string(),
            port,
        })
    }

    fn resolve(&self) -> std::io::Result<Vec<SocketAddr>> {
        Ok((self.host.as_str(), self.port).to_socket_addrs()?.collect())
    }
}

impl fmt::Display for WallAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a sensor's main thread tells every uplink.
#[derive(Debug, Default)]
pub struct UplinkControl {
    /// Set when counting has ended: send the last delta, say goodbye, return.
    pub finish: AtomicBool,
    /// The capture's kernel drops so far (kept current by the main thread).
    pub kernel_drops: AtomicU64,
    /// The capture's interface drops so far.
    pub interface_drops: AtomicU64,
}

/// One uplink's state, for the main thread and the exit summary.
#[derive(Debug, Default)]
pub struct UplinkState {
    /// Authenticated and sending now.
    pub connected: AtomicBool,
    /// Has been welcomed at least once.
    pub ever_connected: AtomicBool,
    /// Refused for good (wrong key or version): this uplink has ended.
    pub gave_up: AtomicBool,
    /// Packets accounted for in deltas this wall took.
    pub packets_sent: AtomicU64,
    /// Deltas sent.
    pub deltas_sent: AtomicU64,
}

/// A sensor's link to one wall.
pub struct Uplink {
    /// Where the wall is.
    pub wall: WallAddr,
    /// The sensor's name (checked: see [`wire::sensor_name`]).
    pub name: String,
    /// The shared secret.
    pub key: Arc<SensorKey>,
    /// Time between deltas.
    pub interval: Duration,
    /// The sensor's exact counters.
    pub counters: Arc<Counters>,
    /// Orders from the main thread.
    pub control: Arc<UplinkControl>,
    /// What the main thread can see of this link.
    pub state: Arc<UplinkState>,
    /// The counts this wall is sent from ([`DeltaBuilder::now`] of the
    /// counters before counting starts: the wall is sent everything counted).
    pub from: DeltaBuilder,
}

/// How one connection attempt went.
enum Attempt {
    /// Could not connect or the handshake broke: try again later.
    Failed(String),
    /// The wall refused for a reason retrying cannot fix.
    Refused(String),
}

/// How a welcomed connection ended.
enum Ended {
    /// The last delta was sent (counting ended).
    Finished,
    /// The wall went away: reconnect.
    Lost(String),
}

impl Uplink {
    /// Serves the wall until the main thread says finish. `Err` (one line,
    /// already logged) when the wall refused this sensor for good.
    pub fn run(mut self) -> Result<(), String> {
        // Everything counted from `from` on is for this wall, delivered late if need be.
        let mut builder = std::mem::replace(&mut self.from, DeltaBuilder::empty());
        let mut backoff = FIRST_BACKOFF;
        let mut failing = false;
        loop {
            if self.control.finish.load(Relaxed) {
                return Ok(());
            }
            match self.connect() {
                Ok(conn) => {
                    backoff = FIRST_BACKOFF;
                    failing = false;
                    match self.session(conn, &mut builder) {
                        Ended::Finished => return Ok(()),
                        Ended::Lost(why) => {
                            self.log(
                                log::Level::Warn,
                                &format!("lost wall {} ({why}); reconnecting", self.wall),
                            );
                        }
                    }
                }
                Err(Attempt::Refused(why)) => {
                    self.state.gave_up.store(true, Relaxed);
                    let line = format!("wall {} refused sensor {}: {why}", self.wall, self.name);
                    log::warn!("{line}");
                    return Err(line);
                }
                Err(Attempt::Failed(why)) if !failing => {
                    failing = true;
                    self.log(
                        log::Level::Warn,
                        &format!(
                            "cannot reach wall {} ({why}); retrying with back-off up to {}s",
                            self.wall,
                            MAX_BACKOFF.as_secs()
                        ),
                    );
                }
                Err(Attempt::Failed(_)) => {}
            }
            self.sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// A line about this sensor's link to its wall (connected, lost...).
    fn log(&self, level: log::Level, what: &str) {
        log::log!(level, "sensor {}: {what}", self.name);
    }

    /// Sleeps `d`, waking early when told to finish.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.control.finish.load(Relaxed) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(TICK));
        }
    }

    /// Connects and authenticates.
    fn connect(&self) -> Result<Conn, Attempt> {
        let addrs = self
            .wall
            .resolve()
            .map_err(|e| Attempt::Failed(format!("cannot resolve {}: {e}", self.wall.host)))?;
        let mut last = String::from("no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => return self.handshake(Conn::new(s, addr)),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Attempt::Failed(last))
    }

    /// HELLO and the first Noise message at once, the wall's Noise answer
    /// (which proves the wall holds the key too), then WELCOME, sealed.
    fn handshake(&self, mut conn: Conn) -> Result<Conn, Attempt> {
        let failed = |e: std::io::Error| Attempt::Failed(format!("handshake: {e}"));
        let broken = |e: SecureError| Attempt::Failed(format!("handshake: {e}"));
        let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
        let mut hello = Vec::new();
        wire::encode_hello(&self.name, &mut hello);
        let mut noise =
            Handshake::initiator(&secure::psk(&self.key), &secure::prologue(&hello)).map_err(broken)?;
        let first = noise.write().map_err(broken)?;
        conn.send(HANDSHAKE_TIMEOUT, |out| {
            out.extend_from_slice(&hello);
            wire::encode_noise(&first, out);
        })
        .map_err(failed)?;
        match conn.read(MAX_HANDSHAKE_FRAME, deadline) {
            Ok(Message::Noise { msg }) => {
                if noise.read(msg).is_err() {
                    // Whoever answered does not hold the key: not our wall.
                    return Err(Attempt::Failed(format!(
                        "{} answered without the shared key: is it this sensor's wall, with the same --key-file?",
                        self.wall
                    )));
                }
            }
            other => return Err(refusal(other)),
        }
        conn.seal(noise.finish().map_err(broken)?);
        match conn.read(MAX_HANDSHAKE_FRAME, deadline) {
            Ok(Message::Welcome) => Ok(conn),
            other => Err(refusal(other)),
        }
    }

    /// Sends a delta every interval until told to finish or the wall goes.
    fn session(&self, mut conn: Conn, builder: &mut DeltaBuilder) -> Ended {
        if builder.held_for() > HOLD_FOR {
            let fresh = DeltaBuilder::now(&self.counters);
            self.log(
                log::Level::Warn,
                &format!(
                    "wall {} missed {} packets counted while it could not take them (over {}s ago)",
                    self.wall,
                    fresh.packets().saturating_sub(builder.packets()),
                    HOLD_FOR.as_secs()
                ),
            );
            *builder = fresh;
        }
        builder.welcomed(&self.counters);
        self.state.connected.store(true, Relaxed);
        self.state.ever_connected.store(true, Relaxed);
        let resolved = conn.peer().to_string();
        match resolved == self.wall.to_string() {
            true => self.log(log::Level::Info, &format!("connected to wall {}", self.wall)),
            false => self.log(
                log::Level::Info,
                &format!("connected to wall {} ({resolved})", self.wall),
            ),
        }
        let ended = self.send_loop(&mut conn, builder);
        self.state.connected.store(false, Relaxed);
        if let Ended::Finished = ended {
            conn.send_close(CloseReason::Normal, "sensor stopping");
            conn.linger(LINGER);
            self.log(
                log::Level::Info,
                &format!(
                    "disconnected from wall {} after {} packets in {} deltas",
                    self.wall,
                    self.state.packets_sent.load(Relaxed),
                    self.state.deltas_sent.load(Relaxed)
                ),
            );
        }
        ended
    }

    fn send_loop(&self, conn: &mut Conn, builder: &mut DeltaBuilder) -> Ended {
        let mut next = Instant::now() + self.interval;
        loop {
            while !self.control.finish.load(Relaxed) {
                let left = next.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(TICK));
            }
            // Read once the wait is over: the main thread sets `finish` only
            // after every count is in, so this delta is the last one.
            let finishing = self.control.finish.load(Relaxed);
            match conn.poll(MAX_HANDSHAKE_FRAME) {
                Ok(None) => {}
                Ok(Some(Message::Close { text, .. })) => {
                    return Ended::Lost(format!("the wall said: {}", printable(text)));
                }
                Ok(Some(_)) => return Ended::Lost("the wall sent an unexpected frame".into()),
                Err(ConnError::Closed) => return Ended::Lost("the wall closed the connection".into()),
                Err(e) => return Ended::Lost(e.to_string()),
            }
            let mut stats = DeltaStats::default();
            let sent = conn.send(WRITE_TIMEOUT, |out| {
                stats = builder.next(
                    &self.counters,
                    now_ns(),
                    self.control.kernel_drops.load(Relaxed),
                    self.control.interface_drops.load(Relaxed),
                    out,
                );
            });
            if let Err(e) = sent {
                return Ended::Lost(e.to_string());
            }
            self.state.packets_sent.fetch_add(stats.packets, Relaxed);
            self.state.deltas_sent.fetch_add(1, Relaxed);
            if finishing {
                return Ended::Finished;
            }
            next += self.interval;
            let now = Instant::now();
            if next < now {
                // Fell behind (a slow wall): no burst to catch up, the next
                // delta carries everything anyway.
                next = now + self.interval;
            }
        }
    }
}

/// What a handshake reply other than the expected one means.
fn refusal(reply: Result<Message<'_>, ConnError>) -> Attempt {
    match reply {
        Ok(Message::Close { reason, text }) if reason.is_permanent() => Attempt::Refused(printable(text)),
        Ok(Message::Close { text, .. }) => Attempt::Failed(format!("the wall said: {}", printable(text))),
        Ok(_) => Attempt::Failed("the wall broke the handshake".into()),
        Err(ConnError::Wire(WireError::Version(v))) => Attempt::Refused(format!(
            "the wall speaks sensor protocol version {v}, this sensor version {VERSION}: run the same scanwall release on sensors and walls"
        )),
        Err(ConnError::Wire(e)) => Attempt::Failed(format!("not a scanwall wall? {e}")),
        Err(ConnError::Closed) => {
            Attempt::Failed("the wall closed the connection during the handshake".into())
        }
        Err(ConnError::Timeout) => Attempt::Failed("no answer to the handshake".into()),
        Err(ConnError::Io(e)) => Attempt::Failed(e.to_string()),
        Err(ConnError::Sealed(e)) => Attempt::Failed(e.to_string()),
    }
}

/// The sensor's clock: what a delta is stamped with.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_addresses_take_a_default_port() {
        let w = |h: &str, p| WallAddr {
            host: h.to_string(),
            port: p,
        };
        assert_eq!(WallAddr::parse("wallhost"), Ok(w("wallhost", DEFAULT_PORT)));
        assert_eq!(WallAddr::parse("127.0.0.1:9000"), Ok(w("127.0.0.1", 9000)));
        assert_eq!(WallAddr::parse("[::1]:9000"), Ok(w("::1", 9000)));
        assert_eq!(WallAddr::parse("[::1]"), Ok(w("::1", DEFAULT_PORT)));
        assert_eq!(WallAddr::parse("::1"), Ok(w("::1", DEFAULT_PORT)));
        assert_eq!(w("::1", 7).to_string(), "[::1]:7");
        for bad in ["", ":80", "host:0", "host:http", "[::1", "[::1]x"] {
            let e = WallAddr::parse(bad).expect_err(bad);
            assert!(e.contains("--to") && e.contains("HOST:PORT"), "{e}");
        }
    }
}
