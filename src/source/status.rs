//! What the status line and metrics say about a source, shared between the
//! capture thread (writer) and the frame side (reader) without locks on the
//! packet path.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::peers::PeerTable;

/// Live facts about one running source.
#[derive(Debug, Default)]
pub struct SourceStatus {
    /// What the source is, e.g. `eth1`, `capture.pcap`, `stdin`, `demo`.
    pub description: String,
    /// True for the built-in synthetic traffic (shown as a DEMO badge).
    pub demo: bool,
    /// Packets the kernel delivered (live capture, from pcap stats).
    pub received: AtomicU64,
    /// Records read from a file, stream or the demo (added at the end of each pass).
    pub records: AtomicU64,
    /// Packets the kernel dropped for lack of buffer space.
    pub kernel_drops: AtomicU64,
    /// Packets the interface or driver dropped.
    pub interface_drops: AtomicU64,
    /// True while the source delivers nothing (stream ended, interface down).
    pub stalled: AtomicBool,
    /// True once the source has read all its input (a file without `--loop`).
    pub finished: AtomicBool,
    /// When it finished, in nanoseconds since the Unix epoch (0 while it has
    /// not): the wall says how long ago a replay ended.
    pub finished_at_ns: AtomicU64,
    /// Packets scanwall dropped itself rather than block or grow memory
    /// (overload shedding, sFlow sequence gaps): shown beside kernel drops.
    pub shed: AtomicU64,
    /// Remote feeders (sensors, sFlow agents), for the status line and metrics.
    pub peers: PeerTable,
    error: Mutex<Option<String>>,
}

impl SourceStatus {
    /// A status for a source described as `description`.
    pub fn new(description: impl Into<String>, demo: bool) -> Self {
        SourceStatus {
            description: description.into(),
            demo,
            ..SourceStatus::default()
        }
    }

    /// Marks the source as having read all its input, now.
    pub fn mark_finished(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.finished_at_ns.store(now.max(1), Relaxed);
        self.finished.store(true, Relaxed);
    }

    /// Records the latest error (shown on the status line; the source may retry).
    pub fn set_error(&self, message: Option<String>) {
        *self
            .error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = message;
    }

    /// The latest error, if any.
    pub fn error(&self) -> Option<String> {
        self.error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Kernel plus interface drops as a percentage of the packets that reached
    /// the capture (Linux counts dropped packets among the received ones).
    pub fn drop_percent(&self) -> f64 {
        let drops = (self.kernel_drops.load(Relaxed) + self.interface_drops.load(Relaxed)) as f64;
        let seen = (self.received.load(Relaxed) as f64).max(drops);
        if seen == 0.0 { 0.0 } else { 100.0 * drops / seen }
    }
}

/// Several sources' facts as one: what the status line and the metrics show
/// for a session that reads several listeners at once (each keeps its own
/// status, written by its own threads).
#[derive(Clone, Debug, Default)]
pub struct StatusSum {
    /// The sources' descriptions, joined by ` + `.
    pub description: String,
    /// Any of them is the synthetic traffic.
    pub demo: bool,
    /// Packets the kernel delivered, all sources.
    pub received: u64,
    /// Kernel drops, all sources.
    pub kernel_drops: u64,
    /// Interface drops, all sources.
    pub interface_drops: u64,
    /// Packets shed by scanwall, all sources.
    pub shed: u64,
    /// Every source delivers nothing.
    pub stalled: bool,
    /// The first source's latest error, named by its source when several.
    pub error: Option<String>,
    /// Every source's remote feeders.
    pub peers: Vec<super::peers::PeerSummary>,
}

impl StatusSum {
    /// The sum of `statuses`.
    pub fn of(statuses: &[std::sync::Arc<SourceStatus>]) -> StatusSum {
        let mut sum = StatusSum {
            stalled: !statuses.is_empty(),
            ..StatusSum::default()
        };
        let several = statuses.len() > 1;
        for s in statuses {
            if !sum.description.is_empty() {
                sum.description.push_str(" + ");
            }
            sum.description.push_str(&s.description);
            sum.demo |= s.demo;
            sum.received = sum.received.saturating_add(s.received.load(Relaxed));
            sum.kernel_drops = sum.kernel_drops.saturating_add(s.kernel_drops.load(Relaxed));
            sum.interface_drops = sum
                .interface_drops
                .saturating_add(s.interface_drops.load(Relaxed));
            sum.shed = sum.shed.saturating_add(s.shed.load(Relaxed));
            sum.stalled &= s.stalled.load(Relaxed);
            if sum.error.is_none() {
                sum.error = s.error().map(|e| match several {
                    true => format!("{}: {e}", s.description),
                    false => e,
                });
            }
            sum.peers.extend(s.peers.summaries());
        }
        sum
    }

    /// Kernel plus interface drops as a percentage of the packets that reached
    /// the captures, as [`SourceStatus::drop_percent`].
    pub fn drop_percent(&self) -> f64 {
        let drops = self.kernel_drops.saturating_add(self.interface_drops) as f64;
        let seen = (self.received as f64).max(drops);
        if seen == 0.0 { 0.0 } else { 100.0 * drops / seen }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn several_sources_sum_into_one_status() {
        let a = Arc::new(SourceStatus::new("stream 127.0.0.1:5000", false));
        let b = Arc::new(SourceStatus::new("sflow 127.0.0.1:6343", false));
        a.received.store(100, Relaxed);
        b.kernel_drops.store(10, Relaxed);
        b.shed.store(u64::MAX, Relaxed);
        a.shed.store(5, Relaxed);
        a.stalled.store(true, Relaxed);
        b.set_error(Some("receive failed".into()));
        let sum = StatusSum::of(&[a.clone(), b.clone()]);
        assert_eq!(sum.description, "stream 127.0.0.1:5000 + sflow 127.0.0.1:6343");
        assert_eq!((sum.received, sum.kernel_drops, sum.shed), (100, 10, u64::MAX));
        assert!((sum.drop_percent() - 10.0).abs() < 1e-9);
        assert!(!sum.stalled, "one source still delivers");
        assert_eq!(sum.error.as_deref(), Some("sflow 127.0.0.1:6343: receive failed"));
        b.stalled.store(true, Relaxed);
        assert!(StatusSum::of(&[a, b]).stalled);
        assert!(!StatusSum::of(&[]).stalled);
    }

    #[test]
    fn finishing_records_when() {
        let s = SourceStatus::new("capture.pcap", false);
        assert!(!s.finished.load(Relaxed));
        assert_eq!(s.finished_at_ns.load(Relaxed), 0);
        s.mark_finished();
        assert!(s.finished.load(Relaxed));
        assert!(s.finished_at_ns.load(Relaxed) > 1_700_000_000_000_000_000);
    }
}
