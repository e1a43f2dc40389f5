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

#[cfg(test)]
mod tests {
    use super::*;

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
