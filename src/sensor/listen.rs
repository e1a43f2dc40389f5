//! `--sensors-listen [HOST:]PORT`: the wall's side of the sensor protocol.
//! Accepts `scanwall sensor` connections, checks each one's key, and merges
//! its deltas into the wall's maps through a pooled shard writer.
//!
//! Sensors are untrusted until authenticated and not fully trusted after: each
//! connection has its own thread, at most [`MAX_SENSORS`] are served (more
//! are refused with a BUSY close and logged), a peer may make the wall buffer
//! at most [`wire::MAX_HANDSHAKE_FRAME`] bytes until it has proved it holds the
//! key and [`wire::MAX_FRAME`] after, the handshake must finish within
//! [`HANDSHAKE_TIMEOUT`], and a sensor silent for [`IDLE_TIMEOUT`] is dropped.
//! A bad peer (wrong key, wrong version, malformed or oversized frame) is
//! dropped, logged with its address and the reason, and counted; nothing of a
//! malformed delta is merged, and other sensors are not disturbed.
//! Refusals are logged through a [`RateLimitedLog`]: anyone who reaches the
//! port can cause them at will (300 churning sockets once wrote 47,083 lines
//! in 25 s).

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::auth::{self, SensorKey};
use super::conn::{Conn, ConnError, printable};
use super::merge;
use super::wire::{self, CloseReason, MAX_FRAME, MAX_HANDSHAKE_FRAME, Message, VERSION, WireError};
use crate::counting::Counters;
use crate::logging::RateLimitedLog;
use crate::source::peers::{PeerKind, PeerSummary};
use crate::source::{SourceError, SourceStatus};

/// Most sensors served at once; more are refused (and logged).
pub const MAX_SENSORS: usize = 256;
/// A peer must finish HELLO, CHALLENGE, AUTH within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// An authenticated sensor sends a delta every `--interval` (at most 10 s);
/// one silent this long is gone.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the accept loop looks at the stop flag and the connection budget.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// Counts of what the listener did, for `count`'s report and the benchmark.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Sensors that authenticated.
    pub authenticated: AtomicU64,
    /// Connections refused because [`MAX_SENSORS`] were served.
    pub refused_busy: AtomicU64,
    /// Peers whose answer did not prove the key.
    pub refused_auth: AtomicU64,
    /// Peers speaking another protocol version.
    pub refused_version: AtomicU64,
    /// Peers that broke or did not finish the handshake (garbage, oversized
    /// or missing frames).
    pub refused_handshake: AtomicU64,
    /// Authenticated sensors dropped for a malformed or oversized frame.
    pub malformed: AtomicU64,
    /// Deltas merged.
    pub deltas: AtomicU64,
    /// Cells merged.
    pub cells: AtomicU64,
    /// Time spent merging deltas (decoded frame to counters), in nanoseconds.
    pub merge_ns: AtomicU64,
}

impl ListenerStats {
    /// The counts and each sensor's entry as JSON (`count`'s `sensors` field).
    pub fn to_json(&self, peers: &[PeerSummary]) -> serde_json::Value {
        let peers: Vec<serde_json::Value> = peers
            .iter()
            .filter(|p| p.kind == PeerKind::Sensor)
            .map(|p| {
                serde_json::json!({
                    "name": p.name,
                    "packets": p.packets,
                    "drops": p.drops,
                    "malformed": p.malformed,
                    "lag_ms": p.lag_ms,
                })
            })
            .collect();
        serde_json::json!({
            "authenticated": self.authenticated.load(Relaxed),
            "refused": {
                "busy": self.refused_busy.load(Relaxed),
                "auth": self.refused_auth.load(Relaxed),
                "version": self.refused_version.load(Relaxed),
                "handshake": self.refused_handshake.load(Relaxed),
            },
            "malformed": self.malformed.load(Relaxed),
            "deltas": self.deltas.load(Relaxed),
            "peers": peers,
        })
    }
}

/// A bound sensor listener, ready to serve.
pub struct SensorListener {
    listener: TcpListener,
    counters: Arc<Counters>,
    key: Arc<SensorKey>,
    budget: Option<usize>,
    run_for: Option<Duration>,
    stats: Arc<ListenerStats>,
}

/// One served connection: its thread, and a handle to close it on shutdown.
struct Served {
    thread: JoinHandle<()>,
    stream: TcpStream,
}

/// What the accept loop and the connection threads share.
struct Shared {
    counters: Arc<Counters>,
    key: Arc<SensorKey>,
    status: Arc<SourceStatus>,
    stats: Arc<ListenerStats>,
    active: AtomicUsize,
    /// Connections that have ended, served or refused (for `--sensors N`).
    closed: AtomicUsize,
    /// Where refusals are logged.
    refusals: RateLimitedLog,
}

impl SensorListener {
    /// Binds `addr`; sensors must prove they hold `key`.
    pub fn bind(addr: SocketAddr, counters: Arc<Counters>, key: Arc<SensorKey>) -> Result<Self, SourceError> {
        let what = format!("sensor listen address {addr}");
        let listener = TcpListener::bind(addr).map_err(|e| SourceError::io(&what, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| SourceError::io(&what, e))?;
        Ok(SensorListener {
            listener,
            counters,
            key,
            budget: None,
            run_for: None,
            stats: Arc::default(),
        })
    }

    /// Stops serving once `connections` have ended, refused ones included
    /// (`count --sensors-listen --sensors N`: a run that ends by itself).
    pub fn stop_after(mut self, connections: Option<usize>) -> Self {
        self.budget = connections;
        self
    }

    /// Stops serving after `duration` of wall clock (`snapshot --seconds`).
    pub fn run_for(mut self, duration: Option<Duration>) -> Self {
        self.run_for = duration;
        self
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// What the listener has done so far (shared, live).
    pub fn stats(&self) -> Arc<ListenerStats> {
        self.stats.clone()
    }

    /// Accepts sensors until `stop` (or the budget is spent), each served on
    /// its own thread. On the way out every sensor is told the wall is
    /// closing, its connection shut and its thread joined, so all merged
    /// counts are in.
    pub fn serve(self, status: Arc<SourceStatus>, stop: Arc<AtomicBool>) {
        if let Some(addr) = self.local_addr() {
            log::info!("listening for sensors on {addr}");
        }
        status.stalled.store(true, Relaxed);
        let shared = Arc::new(Shared {
            counters: self.counters,
            key: self.key,
            status,
            stats: self.stats,
            active: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            refusals: RateLimitedLog::new("refused sensor connections"),
        });
        let until = self.run_for.map(|d| Instant::now() + d);
        let spent = || {
            self.budget.is_some_and(|n| shared.closed.load(Relaxed) >= n)
                || until.is_some_and(|t| Instant::now() >= t)
        };
        let mut served: Vec<Served> = Vec::new();
        while !stop.load(Relaxed) && !spent() {
            served.retain(|s| !s.thread.is_finished());
            shared.refusals.flush(false);
            match self.listener.accept() {
                Ok((stream, peer)) => accept(&shared, &mut served, stream, peer),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    std::thread::sleep(ACCEPT_POLL * 10);
                }
            }
        }
        // After WELCOME a wall writes nothing more, so this CLOSE cannot
        // interleave with another frame.
        let mut bye = Vec::new();
        wire::encode_close(CloseReason::Normal, "the wall is shutting down", &mut bye);
        for s in &served {
            let _ = s.stream.set_write_timeout(Some(Duration::from_millis(200)));
            let _ = std::io::Write::write_all(&mut &s.stream, &bye);
            let _ = s.stream.shutdown(Shutdown::Both);
        }
        for s in served {
            let _ = s.thread.join();
        }
        shared.refusals.flush(true);
    }
}

/// Serves one new connection on a thread of its own, or refuses it (BUSY)
/// when [`MAX_SENSORS`] are already served.
fn accept(shared: &Arc<Shared>, served: &mut Vec<Served>, stream: TcpStream, peer: SocketAddr) {
    let refuse = |stream: TcpStream, why: &str| {
        let mut conn = Conn::new(stream, peer);
        conn.close(CloseReason::Busy, why);
        shared.closed.fetch_add(1, Relaxed);
        shared
            .refusals
            .note(log::Level::Warn, format!("refused sensor {peer}: {why}"));
    };
    if shared.active.load(Relaxed) >= MAX_SENSORS {
        shared.stats.refused_busy.fetch_add(1, Relaxed);
        return refuse(stream, &format!("already {MAX_SENSORS} sensors; try again later"));
    }
    let Ok(handle) = stream.try_clone() else {
        return refuse(stream, "cannot keep a handle on the connection");
    };
    shared.active.fetch_add(1, Relaxed);
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("sensor {peer}"))
        .spawn(move || {
            let s = thread_shared;
            let mut conn = Conn::new(stream, peer);
            let outcome = serve_sensor(&mut conn, &s);
            let _ = conn.stream().shutdown(Shutdown::Both);
            let left = s.active.fetch_sub(1, Relaxed) - 1;
            s.status.stalled.store(left == 0, Relaxed);
            s.closed.fetch_add(1, Relaxed);
            // Logged once the slot is free: whoever reads the line may reuse it.
            match outcome {
                Ok(line) => log::info!("{line}"),
                Err(refusal) => s.refusals.note(log::Level::Info, refusal),
            }
        });
    match spawned {
        Ok(thread) => served.push(Served {
            thread,
            stream: handle,
        }),
        Err(_) => {
            shared.active.fetch_sub(1, Relaxed);
            shared.closed.fetch_add(1, Relaxed);
            shared.refusals.note(
                log::Level::Warn,
                format!("refused sensor {peer}: cannot start a thread for it"),
            );
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Authenticates one sensor and merges its deltas until it leaves or breaks
/// the protocol; returns the line that says how it ended, or (`Err`) the
/// line of its refusal.
fn serve_sensor(conn: &mut Conn, shared: &Shared) -> Result<String, String> {
    let peer = conn.peer();
    let name = handshake(conn, shared)?;
    shared.stats.authenticated.fetch_add(1, Relaxed);
    shared.status.stalled.store(false, Relaxed);
    let entry = shared.status.peers.peer(PeerKind::Sensor, &name);
    if let Some(e) = &entry {
        e.connected.store(true, Relaxed);
        e.touch();
    }
    log::info!("sensor {name} connected from {peer}");
    let who = format!("sensor {name} ({peer})");
    let mut writer = shared.counters.writer();
    let mut deltas = 0u64;
    let outcome = loop {
        match conn.read(MAX_FRAME, Instant::now() + IDLE_TIMEOUT) {
            Ok(Message::Delta(d)) => {
                let started = Instant::now();
                let now = now_ns();
                let merged = merge::merge(&d, merge::packet_time(&d, now), &mut writer);
                let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                shared.stats.merge_ns.fetch_add(took, Relaxed);
                shared.stats.cells.fetch_add(merged.cells as u64, Relaxed);
                shared.stats.deltas.fetch_add(1, Relaxed);
                if let Some(e) = &entry {
                    merge::note(e, &d, now);
                }
                deltas += 1;
            }
            Ok(Message::Close { reason, text }) => {
                break format!(
                    "{who} disconnected after {deltas} deltas: {}{}",
                    printable(text),
                    match reason {
                        CloseReason::Normal => String::new(),
                        r => format!(" (reason {})", r.code()),
                    }
                );
            }
            Ok(other) => {
                let e = format!("{} after authentication", kind_name(&other));
                break malformed(conn, shared, entry.as_deref(), &who, &e);
            }
            Err(ConnError::Wire(e)) => break malformed(conn, shared, entry.as_deref(), &who, &e.to_string()),
            Err(ConnError::Timeout) => {
                conn.close(CloseReason::Timeout, "silent for too long");
                break format!("dropped {who}: sent nothing for {IDLE_TIMEOUT:?}");
            }
            Err(ConnError::Closed) => {
                break format!("{who} disconnected after {deltas} deltas without a goodbye");
            }
            Err(ConnError::Io(e)) => break format!("{who} disconnected after {deltas} deltas: {e}"),
        }
    };
    shared.counters.release(writer);
    if let Some(e) = &entry {
        e.connected.store(false, Relaxed);
    }
    Ok(outcome)
}

/// Drops an authenticated sensor that broke the format (nothing of the bad
/// frame was merged), counting it for the wall and on its status entry.
fn malformed(
    conn: &mut Conn,
    shared: &Shared,
    entry: Option<&crate::source::peers::PeerStats>,
    who: &str,
    what: &str,
) -> String {
    shared.stats.malformed.fetch_add(1, Relaxed);
    if let Some(e) = entry {
        e.malformed.fetch_add(1, Relaxed);
    }
    conn.close(CloseReason::Malformed, what);
    format!("dropped {who}: malformed frame: {what}")
}

/// HELLO, CHALLENGE, AUTH, WELCOME; the sensor's name, or the log line of a
/// refusal (the peer was told why with a CLOSE).
fn handshake(conn: &mut Conn, shared: &Shared) -> Result<String, String> {
    let peer = conn.peer();
    let stats = &shared.stats;
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let refuse = |conn: &mut Conn, counter: &AtomicU64, reason: CloseReason, why: String| {
        counter.fetch_add(1, Relaxed);
        conn.close(reason, &why);
        format!("refused sensor {peer}: {why}")
    };
    let name = match conn.read(MAX_HANDSHAKE_FRAME, deadline) {
        Ok(Message::Hello { name }) => name.to_string(),
        Ok(other) => {
            let why = format!("sent {} instead of HELLO", kind_name(&other));
            return Err(refuse(
                conn,
                &stats.refused_handshake,
                CloseReason::Malformed,
                why,
            ));
        }
        Err(ConnError::Wire(WireError::Version(v))) => {
            let why = format!(
                "sensor protocol version {v}, this wall speaks version {VERSION}: run the same scanwall release on sensors and walls"
            );
            return Err(refuse(conn, &stats.refused_version, CloseReason::Version, why));
        }
        Err(e) => return Err(handshake_failed(conn, shared, "HELLO", e)),
    };
    let nonce = match auth::new_nonce() {
        Ok(n) => n,
        Err(e) => return Err(refuse(conn, &stats.refused_handshake, CloseReason::Normal, e)),
    };
    if let Err(e) = conn.send(HANDSHAKE_TIMEOUT, |out| wire::encode_challenge(&nonce, out)) {
        stats.refused_handshake.fetch_add(1, Relaxed);
        return Err(format!("sensor {name} ({peer}) left during the handshake: {e}"));
    }
    match conn.read(MAX_HANDSHAKE_FRAME, deadline) {
        Ok(Message::Auth { mac }) if auth::verify(&shared.key, &nonce, &name, &mac) => {}
        Ok(Message::Auth { .. }) => {
            stats.refused_auth.fetch_add(1, Relaxed);
            conn.close(
                CloseReason::Auth,
                "authentication failed: the sensor's --key-file differs from the wall's",
            );
            return Err(format!(
                "refused sensor {peer} (calling itself {name}): authentication failed: its --key-file differs from this wall's"
            ));
        }
        Ok(other) => {
            let why = format!("sent {} instead of AUTH", kind_name(&other));
            return Err(refuse(
                conn,
                &stats.refused_handshake,
                CloseReason::Malformed,
                why,
            ));
        }
        Err(e) => return Err(handshake_failed(conn, shared, "AUTH", e)),
    }
    if let Err(e) = conn.send(HANDSHAKE_TIMEOUT, wire::encode_welcome) {
        stats.refused_handshake.fetch_add(1, Relaxed);
        return Err(format!("sensor {name} ({peer}) left during the handshake: {e}"));
    }
    Ok(name)
}

/// The log line (and CLOSE) for a handshake that broke off while waiting for `what`.
fn handshake_failed(conn: &mut Conn, shared: &Shared, what: &str, e: ConnError) -> String {
    let peer = conn.peer();
    shared.stats.refused_handshake.fetch_add(1, Relaxed);
    match e {
        ConnError::Wire(e) => {
            conn.close(CloseReason::Malformed, &e.to_string());
            format!("refused sensor {peer}: {e}")
        }
        ConnError::Timeout => {
            conn.close(CloseReason::Timeout, "handshake not finished in time");
            format!("refused sensor {peer}: no {what} within {HANDSHAKE_TIMEOUT:?}")
        }
        ConnError::Closed => format!("refused sensor {peer}: it closed before sending {what}"),
        ConnError::Io(e) => format!("refused sensor {peer}: {e} before {what}"),
    }
}

/// A message's name, for log lines.
fn kind_name(m: &Message<'_>) -> &'static str {
    match m {
        Message::Hello { .. } => "HELLO",
        Message::Challenge { .. } => "CHALLENGE",
        Message::Auth { .. } => "AUTH",
        Message::Welcome => "WELCOME",
        Message::Delta(_) => "DELTA",
        Message::Close { .. } => "CLOSE",
    }
}
