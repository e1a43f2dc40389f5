//! `--sensors-listen [HOST:]PORT`: the wall's side of the sensor protocol.
//! Accepts `scanwall sensor` connections, checks each one's key, and merges
//! its deltas into the wall's maps through a pooled shard writer.
//!
//! Sensors are untrusted until authenticated and not fully trusted after: each
//! connection has its own thread. Peers that have not yet proved the key wait
//! in a small pool of their own ([`MAX_PENDING`], at most
//! [`MAX_PENDING_PER_ADDR`] from one address), so they can never take the
//! places of sensors that have: when the pool is full, a newcomer takes the
//! place of the pending peer that has shown least (nothing rather than a
//! HELLO, the oldest first, from the address holding most). At most
//! [`MAX_SENSORS`] authenticated sensors are served (more are refused with a
//! BUSY close, sealed, and logged). A peer may make the wall buffer at most
//! [`wire::MAX_HANDSHAKE_FRAME`] bytes until it has proved it holds the key and
//! [`wire::MAX_FRAME`] after, the handshake must finish within
//! [`HANDSHAKE_TIMEOUT`], and a sensor silent for [`IDLE_TIMEOUT`] is dropped.
//! After the handshake every frame is sealed ([`super::secure`]): a frame
//! altered or injected on the way fails to open and drops the connection.
//! A bad peer (wrong key, wrong version, malformed or oversized frame) is
//! dropped, logged with its address and the reason, and counted; nothing of a
//! malformed delta is merged, and other sensors are not disturbed.
//! Refusals are logged through a [`RateLimitedLog`]: anyone who reaches the
//! port can cause them at will (300 churning sockets once wrote 47,083 lines
//! in 25 s).

use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::auth::SensorKey;
use super::conn::{Conn, ConnError, printable};
use super::merge;
use super::secure::{self, Handshake};
use super::wire::{self, CloseReason, MAX_FRAME, MAX_HANDSHAKE_FRAME, Message, VERSION, WireError};
use crate::counting::Counters;
use crate::logging::RateLimitedLog;
use crate::source::peers::{PeerKind, PeerSummary};
use crate::source::{SourceError, SourceStatus};

/// Most authenticated sensors served at once; more are refused (and logged).
pub const MAX_SENSORS: usize = 256;
/// Most peers in the handshake at once (the pre-authentication pool).
pub const MAX_PENDING: usize = 64;
/// Most peers in the handshake at once from one address.
pub const MAX_PENDING_PER_ADDR: usize = 16;
/// A peer must finish its handshake within this (a sensor needs one round trip).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
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
    /// Unauthenticated peers dropped to make room in the handshake pool.
    pub evicted: AtomicU64,
    /// Packets sensors delivered late (counted while they could not get in).
    pub late: AtomicU64,
    /// Cell additions that would have passed 2^64 and stopped there.
    pub saturated: AtomicU64,
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
                "evicted": self.evicted.load(Relaxed),
            },
            "late": self.late.load(Relaxed),
            "saturated": self.saturated.load(Relaxed),
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
    /// The pre-shared key the handshake proves ([`secure::psk`] of the key).
    psk: [u8; 32],
    status: Arc<SourceStatus>,
    stats: Arc<ListenerStats>,
    /// Connection threads running (pending and authenticated).
    active: AtomicUsize,
    /// Authenticated sensors being served.
    authenticated: AtomicUsize,
    /// The pre-authentication pool.
    pending: Mutex<Vec<Pending>>,
    /// Connections that have ended, served or refused (for `--sensors N`).
    closed: AtomicUsize,
    /// Set when the wall stops: a sensor whose reading ends then is told so.
    closing: AtomicBool,
    /// Where refusals are logged.
    refusals: RateLimitedLog,
}

/// A peer in the handshake.
struct Pending {
    id: u64,
    addr: IpAddr,
    since: Instant,
    /// How far it got: [`STAGE_NOTHING`] or [`STAGE_HELLO`].
    stage: Arc<AtomicU8>,
    /// A handle to shut it down when it must make room.
    stream: TcpStream,
}

/// A pending peer that has sent nothing whole yet.
const STAGE_NOTHING: u8 = 0;
/// A pending peer that has sent a good HELLO.
const STAGE_HELLO: u8 = 1;

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
            psk: secure::psk(&self.key),
            status,
            stats: self.stats,
            active: AtomicUsize::new(0),
            authenticated: AtomicUsize::new(0),
            pending: Mutex::new(Vec::new()),
            closed: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            refusals: RateLimitedLog::new("refused sensor connections"),
        });
        let until = self.run_for.map(|d| Instant::now() + d);
        let spent = || {
            self.budget.is_some_and(|n| shared.closed.load(Relaxed) >= n)
                || until.is_some_and(|t| Instant::now() >= t)
        };
        let mut served: Vec<Served> = Vec::new();
        let mut next_id = 0u64;
        while !stop.load(Relaxed) && !spent() {
            served.retain(|s| !s.thread.is_finished());
            shared.refusals.flush(false);
            match self.listener.accept() {
                Ok((stream, peer)) => accept(&shared, &mut served, stream, peer, &mut next_id),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    std::thread::sleep(ACCEPT_POLL * 10);
                }
            }
        }
        // Each connection's thread holds its keys: ending the reading half
        // wakes it, and it sends its sensor a sealed CLOSE before it ends.
        shared.closing.store(true, Relaxed);
        for s in &served {
            let _ = s.stream.shutdown(Shutdown::Read);
        }
        for s in served {
            let _ = s.thread.join();
        }
        shared.refusals.flush(true);
    }
}

/// Serves one new connection on a thread of its own, in the handshake pool
/// (making room there when it is full).
fn accept(
    shared: &Arc<Shared>,
    served: &mut Vec<Served>,
    stream: TcpStream,
    peer: SocketAddr,
    next_id: &mut u64,
) {
    let refuse = |stream: TcpStream, why: &str| {
        let mut conn = Conn::new(stream, peer);
        conn.close(CloseReason::Busy, why);
        shared.closed.fetch_add(1, Relaxed);
        shared
            .refusals
            .note(log::Level::Warn, format!("refused sensor {peer}: {why}"));
    };
    // Threads are bounded too: the pool, the sensors, and the few evicted
    // peers still on their way out.
    if shared.active.load(Relaxed) >= MAX_SENSORS + 2 * MAX_PENDING {
        shared.stats.refused_busy.fetch_add(1, Relaxed);
        return refuse(stream, "too many connections; try again later");
    }
    let (Ok(handle), Ok(pool_handle)) = (stream.try_clone(), stream.try_clone()) else {
        return refuse(stream, "cannot keep a handle on the connection");
    };
    let id = *next_id;
    *next_id += 1;
    let stage = Arc::new(AtomicU8::new(STAGE_NOTHING));
    make_room(shared, peer.ip());
    lock(&shared.pending).push(Pending {
        id,
        addr: peer.ip(),
        since: Instant::now(),
        stage: stage.clone(),
        stream: pool_handle,
    });
    shared.active.fetch_add(1, Relaxed);
    let thread_shared = shared.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("sensor {peer}"))
        .spawn(move || {
            let s = thread_shared;
            let mut conn = Conn::new(stream, peer);
            let outcome = serve_sensor(&mut conn, &s, id, &stage);
            let _ = conn.stream().shutdown(Shutdown::Both);
            leave_pool(&s, id);
            let left = s.active.fetch_sub(1, Relaxed) - 1;
            s.status
                .stalled
                .store(s.authenticated.load(Relaxed) == 0 || left == 0, Relaxed);
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
            leave_pool(shared, id);
            shared.active.fetch_sub(1, Relaxed);
            shared.closed.fetch_add(1, Relaxed);
            shared.refusals.note(
                log::Level::Warn,
                format!("refused sensor {peer}: cannot start a thread for it"),
            );
        }
    }
}

/// Makes room in the handshake pool for a newcomer from `addr`: when that
/// address holds its share, or the pool is full, the pending peer that has
/// shown least ([`shown`], then the oldest) is shut down, from `addr` itself
/// or else from the address holding most. An attacker's idle connections so
/// make room for each other, never for a sensor mid-handshake.
fn make_room(shared: &Shared, addr: IpAddr) {
    let mut pending = lock(&shared.pending);
    let from_addr = pending.iter().filter(|p| p.addr == addr).count();
    let victims_of = if from_addr >= MAX_PENDING_PER_ADDR {
        Some(addr)
    } else if pending.len() >= MAX_PENDING {
        let mut per_addr: Vec<(IpAddr, usize)> = Vec::new();
        for p in pending.iter() {
            match per_addr.iter_mut().find(|(a, _)| *a == p.addr) {
                Some((_, n)) => *n += 1,
                None => per_addr.push((p.addr, 1)),
            }
        }
        per_addr.into_iter().max_by_key(|&(_, n)| n).map(|(a, _)| a)
    } else {
        None
    };
    let Some(victims_of) = victims_of else { return };
    let victim = pending
        .iter()
        .enumerate()
        .filter(|(_, p)| p.addr == victims_of)
        .min_by_key(|(_, p)| (shown(p), p.since))
        .map(|(i, _)| i);
    if let Some(i) = victim {
        let p = pending.swap_remove(i);
        let _ = p.stream.shutdown(Shutdown::Both);
        shared.stats.evicted.fetch_add(1, Relaxed);
    }
}

/// How much a pending peer has shown, least first: gone, silent, bytes
/// waiting or a HELLO read. A sensor sends its HELLO and handshake the moment
/// it connects, so its bytes wait before its thread even runs: it ranks
/// above every silent connection however new it is.
fn shown(p: &Pending) -> u8 {
    use nix::sys::socket::{MsgFlags, recv};
    use std::os::fd::AsRawFd;
    if p.stage.load(Relaxed) >= STAGE_HELLO {
        return 3;
    }
    let mut probe = [0u8; 1];
    match recv(
        p.stream.as_raw_fd(),
        &mut probe,
        MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
    ) {
        Ok(0) => 0,
        Ok(_) => 2,
        Err(nix::errno::Errno::EAGAIN) => 1,
        Err(_) => 0,
    }
}

/// Takes connection `id` out of the handshake pool (it finished, failed or was evicted).
fn leave_pool(shared: &Shared, id: u64) {
    lock(&shared.pending).retain(|p| p.id != id);
}

/// The pool's lock, even if a thread panicked holding it (the list stays usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Authenticates one sensor and merges its deltas until it leaves or breaks
/// the protocol; returns the line that says how it ended, or (`Err`) the
/// line of its refusal.
fn serve_sensor(conn: &mut Conn, shared: &Shared, id: u64, stage: &AtomicU8) -> Result<String, String> {
    let peer = conn.peer();
    let name = handshake(conn, shared, stage)?;
    leave_pool(shared, id);
    // Only key holders reach here: only they can fill the sensors' places.
    if shared.authenticated.fetch_add(1, Relaxed) >= MAX_SENSORS {
        shared.authenticated.fetch_sub(1, Relaxed);
        shared.stats.refused_busy.fetch_add(1, Relaxed);
        let why = format!("already {MAX_SENSORS} sensors; try again later");
        conn.close(CloseReason::Busy, &why);
        return Err(format!("refused sensor {name} ({peer}): {why}"));
    }
    let outcome = serve_authenticated(conn, shared, &name);
    shared.authenticated.fetch_sub(1, Relaxed);
    Ok(outcome)
}

/// Welcomes an authenticated sensor and merges its deltas; the line that
/// says how it ended.
fn serve_authenticated(conn: &mut Conn, shared: &Shared, name: &str) -> String {
    let peer = conn.peer();
    if let Err(e) = conn.send(HANDSHAKE_TIMEOUT, wire::encode_welcome) {
        return format!("sensor {name} ({peer}) left during the handshake: {e}");
    }
    shared.stats.authenticated.fetch_add(1, Relaxed);
    shared.status.stalled.store(false, Relaxed);
    let entry = shared.status.peers.peer(PeerKind::Sensor, name);
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
                shared.stats.late.fetch_add(d.header.late, Relaxed);
                if merged.saturated > 0 {
                    shared.stats.saturated.fetch_add(merged.saturated as u64, Relaxed);
                }
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
            // Altered or injected on the way: nothing of it is merged, and the
            // connection cannot be trusted further.
            Err(ConnError::Sealed(e)) => {
                break malformed(conn, shared, entry.as_deref(), &who, &e.to_string());
            }
            Err(ConnError::Timeout) => {
                conn.close(CloseReason::Timeout, "silent for too long");
                break format!("dropped {who}: sent nothing for {IDLE_TIMEOUT:?}");
            }
            Err(ConnError::Closed) if shared.closing.load(Relaxed) => {
                conn.close(CloseReason::Normal, "the wall is shutting down");
                break format!("{who}: told the wall is shutting down after {deltas} deltas");
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
    outcome
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

/// HELLO, then the Noise handshake ([`super::secure`]) that proves the
/// sensor holds the key (and this wall too), then the connection is sealed
/// and WELCOME sent sealed; the sensor's name, or the log line of a refusal
/// (the peer was told why with a CLOSE, in clear while nothing is sealed).
fn handshake(conn: &mut Conn, shared: &Shared, stage: &AtomicU8) -> Result<String, String> {
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
    stage.store(STAGE_HELLO, Relaxed);
    // Both ends mix the HELLO into the handshake: a name changed on the way fails it.
    let mut hello = Vec::new();
    wire::encode_hello(&name, &mut hello);
    let mut noise = match Handshake::responder(&shared.psk, &secure::prologue(&hello)) {
        Ok(h) => h,
        Err(e) => {
            return Err(refuse(
                conn,
                &stats.refused_handshake,
                CloseReason::Normal,
                e.to_string(),
            ));
        }
    };
    match conn.read(MAX_HANDSHAKE_FRAME, deadline) {
        Ok(Message::Noise { msg }) => {
            if noise.read(msg).is_err() {
                stats.refused_auth.fetch_add(1, Relaxed);
                conn.close(
                    CloseReason::Auth,
                    "authentication failed: the sensor's --key-file differs from the wall's",
                );
                return Err(format!(
                    "refused sensor {peer} (calling itself {name}): authentication failed: its --key-file differs from this wall's"
                ));
            }
        }
        Ok(other) => {
            let why = format!("sent {} instead of its handshake", kind_name(&other));
            return Err(refuse(
                conn,
                &stats.refused_handshake,
                CloseReason::Malformed,
                why,
            ));
        }
        Err(e) => return Err(handshake_failed(conn, shared, "its handshake", e)),
    }
    // The wall's answer and the session's keys: either failing is the same refusal.
    let finished = noise.write().and_then(|answer| Ok((answer, noise.finish()?)));
    let (answer, sealer) = match finished {
        Ok(f) => f,
        Err(e) => {
            return Err(refuse(
                conn,
                &stats.refused_handshake,
                CloseReason::Normal,
                e.to_string(),
            ));
        }
    };
    if let Err(e) = conn.send(HANDSHAKE_TIMEOUT, |out| wire::encode_noise(&answer, out)) {
        stats.refused_handshake.fetch_add(1, Relaxed);
        return Err(format!("sensor {name} ({peer}) left during the handshake: {e}"));
    }
    conn.seal(sealer);
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
        ConnError::Sealed(e) => format!("refused sensor {peer}: {e}"),
        ConnError::Io(e) => format!("refused sensor {peer}: {e} before {what}"),
    }
}

/// A message's name, for log lines.
fn kind_name(m: &Message<'_>) -> &'static str {
    match m {
        Message::Hello { .. } => "HELLO",
        Message::Noise { .. } => "a handshake message",
        Message::Welcome => "WELCOME",
        Message::Delta(_) => "DELTA",
        Message::Close { .. } => "CLOSE",
    }
}
