//! Remote feeders of one wall (sensors, sFlow agents) and what the status
//! line and metrics say about each: a name, packets, drops, lag, and whether
//! it is connected or stalled.
//!
//! A feeder's thread holds a [`PeerHandle`] and updates it with relaxed
//! atomics; the frame side reads a [`PeerTable::summaries`] snapshot once per
//! frame. The table's mutex is taken only when a peer appears and when a
//! frame or scrape reads it, never per packet.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What kind of feeder a peer is (the status line groups by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// A `scanwall sensor` sending counter deltas.
    Sensor,
    /// A switch or router exporting sFlow samples.
    SflowAgent,
    /// A router or switch exporting NetFlow or IPFIX flow records.
    NetflowExporter,
}

impl PeerKind {
    /// The word used on the status line and in metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Sensor => "sensor",
            PeerKind::SflowAgent => "sflow",
            PeerKind::NetflowExporter => "netflow",
        }
    }
}

/// Live counters of one peer, written by the thread serving it.
#[derive(Debug)]
pub struct PeerStats {
    kind: PeerKind,
    name: String,
    /// Packets the peer accounted for (sampled sources: scaled by the rate).
    pub packets: AtomicU64,
    /// Packets the peer says it lost before counting (a sensor's kernel
    /// drops, an sFlow agent's dropped samples) plus gaps we detected.
    pub drops: AtomicU64,
    /// Age of the peer's newest data when it arrived, in milliseconds
    /// (sensor clock to wall clock; 0 when unknown).
    pub lag_ms: AtomicU64,
    /// Frames or datagrams rejected as malformed.
    pub malformed: AtomicU64,
    /// True while a connection is open (datagram peers: set by traffic).
    pub connected: AtomicBool,
    /// Nanoseconds after the table's start when data last arrived.
    last_seen_ns: AtomicU64,
    started: Instant,
}

impl PeerStats {
    /// Notes that data arrived now (the peer is not stalled).
    pub fn touch(&self) {
        let ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_seen_ns.store(ns.max(1), Relaxed);
    }

    /// The peer's name as shown (sensor name, or agent address).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The peer's kind.
    pub fn kind(&self) -> PeerKind {
        self.kind
    }

    fn since_seen(&self) -> Option<Duration> {
        let seen = self.last_seen_ns.load(Relaxed);
        (seen != 0).then(|| self.started.elapsed().saturating_sub(Duration::from_nanos(seen)))
    }
}

/// A thread's handle on its peer's entry.
pub type PeerHandle = Arc<PeerStats>;

/// One peer as the frame side sees it at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerSummary {
    /// Sensor or sFlow agent.
    pub kind: PeerKind,
    /// Name as shown.
    pub name: String,
    /// Packets per second since the previous summary (0 on the first).
    pub packets_per_sec: f64,
    /// Packets accounted for in total.
    pub packets: u64,
    /// Packets lost before counting.
    pub drops: u64,
    /// Latest lag in milliseconds.
    pub lag_ms: u64,
    /// Rejected frames or datagrams.
    pub malformed: u64,
    /// Connected and heard from within the stall time.
    pub live: bool,
}

/// Every peer a wall has heard from, in order of first contact. Entries are
/// kept by name, so a sensor that reconnects continues its own line.
#[derive(Debug)]
pub struct PeerTable {
    started: Instant,
    stall_after: Duration,
    entries: Mutex<Vec<Entry>>,
}

#[derive(Debug)]
struct Entry {
    stats: PeerHandle,
    /// Packets and time at the previous summary, for the rate.
    last: Option<(u64, Instant)>,
    rate: f64,
}

/// Peers beyond this are served but not listed (the status line has one row).
pub const MAX_LISTED_PEERS: usize = 4096;

impl Default for PeerTable {
    fn default() -> Self {
        PeerTable::new(Duration::from_secs(5))
    }
}

impl PeerTable {
    /// A table whose peers count as stalled after `stall_after` of silence.
    pub fn new(stall_after: Duration) -> Self {
        PeerTable {
            started: Instant::now(),
            stall_after,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The entry named `name` of `kind`, created on first contact; `None`
    /// when the table is full (the peer is still served, just not listed).
    pub fn peer(&self, kind: PeerKind, name: &str) -> Option<PeerHandle> {
        let mut entries = self.lock();
        if let Some(e) = entries
            .iter()
            .find(|e| e.stats.kind == kind && e.stats.name == name)
        {
            return Some(e.stats.clone());
        }
        if entries.len() >= MAX_LISTED_PEERS {
            return None;
        }
        let stats = Arc::new(PeerStats {
            kind,
            name: name.to_string(),
            packets: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            lag_ms: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            last_seen_ns: AtomicU64::new(0),
            started: self.started,
        });
        entries.push(Entry {
            stats: stats.clone(),
            last: None,
            rate: 0.0,
        });
        Some(stats)
    }

    /// Removes the entries of `gone` (an sFlow collector forgetting agents
    /// long silent, to make room for new ones).
    pub fn forget(&self, gone: &[PeerHandle]) {
        if gone.is_empty() {
            return;
        }
        let gone: std::collections::HashSet<*const PeerStats> = gone.iter().map(Arc::as_ptr).collect();
        self.lock().retain(|e| !gone.contains(&Arc::as_ptr(&e.stats)));
    }

    /// Whether any peer is known.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A snapshot of every peer, updating each one's packet rate from the
    /// previous snapshot (call about once a second or once per frame).
    pub fn summaries(&self) -> Vec<PeerSummary> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries
            .iter_mut()
            .map(|e| {
                let s = &e.stats;
                let packets = s.packets.load(Relaxed);
                if let Some((before, at)) = e.last {
                    let secs = now.duration_since(at).as_secs_f64();
                    if secs >= 0.5 {
                        e.rate = packets.saturating_sub(before) as f64 / secs;
                        e.last = Some((packets, now));
                    }
                } else {
                    e.last = Some((packets, now));
                }
                let recent = s.since_seen().is_some_and(|d| d <= self.stall_after);
                PeerSummary {
                    kind: s.kind,
                    name: s.name.clone(),
                    packets_per_sec: e.rate,
                    packets,
                    drops: s.drops.load(Relaxed),
                    lag_ms: s.lag_ms.load(Relaxed),
                    malformed: s.malformed.load(Relaxed),
                    live: s.connected.load(Relaxed) && recent,
                }
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_keeps_its_entry_across_reconnects() {
        let table = PeerTable::default();
        let a = table.peer(PeerKind::Sensor, "edge-1").expect("room");
        a.packets.store(10, Relaxed);
        let again = table.peer(PeerKind::Sensor, "edge-1").expect("room");
        assert_eq!(again.packets.load(Relaxed), 10);
        // Same name, other kind: another entry.
        let other = table.peer(PeerKind::SflowAgent, "edge-1").expect("room");
        assert_eq!(other.packets.load(Relaxed), 0);
        assert_eq!(table.summaries().len(), 2);
    }

    #[test]
    fn a_peer_is_live_only_while_connected_and_heard_from() {
        let table = PeerTable::new(Duration::from_millis(50));
        let p = table.peer(PeerKind::Sensor, "s").expect("room");
        assert!(!table.summaries()[0].live, "never heard from");
        p.connected.store(true, Relaxed);
        p.touch();
        assert!(table.summaries()[0].live);
        std::thread::sleep(Duration::from_millis(80));
        assert!(!table.summaries()[0].live, "silent past the stall time");
        p.touch();
        p.connected.store(false, Relaxed);
        assert!(!table.summaries()[0].live, "disconnected");
    }
}
