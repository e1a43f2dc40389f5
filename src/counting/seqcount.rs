//! A sequence count (seqlock) guarding a shard's rescales and folds.
//!
//! Each shard has a single writer (its capture thread) that now and then
//! rewrites every cell at once: a rescale to a new epoch or half-life, or a fold
//! of the 32-bit exact counts into their 64-bit totals. Readers (the frame
//! thread) must not mix cells from before and after, yet must never make the
//! writer wait. So the writer makes the count odd before such a rewrite and
//! even again after it, and a reader notes the (even) count before reading and
//! reads again when the count has changed by the end. A rewrite is rare (hours
//! apart, or once per 2^32 packets) and takes about a millisecond, so a retry
//! is cheap; counting packets between rewrites never touches the count.
//!
//! Orderings (the classic fence-based seqlock): the writer stores the odd count
//! and then a release fence, so a reader that sees any of the rewrite's stores
//! also sees the odd count after its acquire fence; the writer publishes the
//! even count with a release store, which the reader's acquire load of the
//! count before reading pairs with. Cells are read and written relaxed.

use std::sync::atomic::{AtomicU64, Ordering::*, fence};

/// A sequence count: odd while the one writer rewrites what it guards.
#[derive(Debug, Default)]
pub(crate) struct SeqCount(AtomicU64);

impl SeqCount {
    /// A count with no write under way.
    pub(crate) const fn new() -> Self {
        SeqCount(AtomicU64::new(0))
    }

    /// Runs `rewrite` with the count odd, then makes it even again, so readers
    /// that overlap it read again. Only the single writer of what the count
    /// guards may call it (a second writer would break the odd/even rule; the
    /// shard's owner, [`super::ShardWriter`], is the only one).
    #[inline]
    pub(crate) fn write<R>(&self, rewrite: impl FnOnce() -> R) -> R {
        let seq = self.0.load(Relaxed);
        self.0.store(seq + 1, Relaxed);
        // The odd count is visible before any store of `rewrite`.
        fence(Release);
        let result = rewrite();
        self.0.store(seq + 2, Release);
        result
    }

    /// The count, when no write is under way (even); `None` while one is.
    pub(crate) fn try_read_begin(&self) -> Option<u64> {
        Some(self.0.load(Acquire)).filter(|before| before.is_multiple_of(2))
    }

    /// The count once no write is under way, for a read to check against with
    /// [`SeqCount::read_unchanged`]. Yields to the writer while it writes.
    pub(crate) fn read_begin(&self) -> u64 {
        loop {
            if let Some(before) = self.try_read_begin() {
                return before;
            }
            std::thread::yield_now();
        }
    }

    /// Whether no write began since [`SeqCount::read_begin`] returned
    /// `before`: the reads made in between are consistent.
    pub(crate) fn read_unchanged(&self, before: u64) -> bool {
        // The reads before are done before the count is looked at again.
        fence(Acquire);
        self.0.load(Relaxed) == before
    }

    /// Runs `read` until no write overlapped it, and returns what the last
    /// run returned. `read` may run more than once: it must only read (or
    /// overwrite what an earlier run wrote).
    pub(crate) fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        loop {
            let before = self.read_begin();
            let result = read();
            if self.read_unchanged(before) {
                return result;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_in_progress_is_seen_as_such() {
        let seq = SeqCount::new();
        let before = seq.read_begin();
        assert_eq!(before, 0);
        seq.write(|| {
            assert_eq!(seq.try_read_begin(), None, "odd while writing");
            assert!(!seq.read_unchanged(before));
        });
        assert_eq!(seq.try_read_begin(), Some(2), "even after");
        assert!(!seq.read_unchanged(before), "a write happened since");
        assert!(seq.read_unchanged(seq.read_begin()));
        assert_eq!(seq.write(|| 7), 7, "the rewrite's result is returned");
        assert_eq!(seq.read_begin(), 4);
    }

    #[test]
    fn a_read_overlapping_a_write_is_retried() {
        let seq = SeqCount::new();
        let value = AtomicU64::new(1);
        let mut runs = 0;
        let seen = seq.read(|| {
            runs += 1;
            let seen = value.load(Relaxed);
            if runs == 1 {
                // A write between this read's start and its check.
                seq.write(|| value.store(2, Relaxed));
            }
            seen
        });
        assert_eq!((runs, seen), (2, 2), "read again, and only the second run counts");
        let mut runs = 0;
        seq.read(|| runs += 1);
        assert_eq!(runs, 1, "no write, no retry");
    }

    /// One writer keeps rewriting a row of values that must stay equal; a
    /// reader on another thread, reading for as long as the writer writes,
    /// never sees them torn (nor going back). The reader reads the row in the
    /// opposite order to the writer's, which widens the window for a tear.
    #[test]
    fn a_concurrent_reader_never_sees_a_torn_row() {
        const WRITES: u64 = 200_000;
        let seq = SeqCount::new();
        let row: [AtomicU64; 16] = std::array::from_fn(|_| AtomicU64::new(0));
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            s.spawn(|| {
                start.wait();
                for i in 1..=WRITES {
                    seq.write(|| row.iter().for_each(|v| v.store(i, Relaxed)));
                }
            });
            start.wait();
            let mut last = 0;
            // Ends with the writer's last write: WRITES writes, then no retry.
            while last < WRITES {
                let seen: [u64; 16] = seq.read(|| std::array::from_fn(|k| row[15 - k].load(Relaxed)));
                let first = seen[0];
                assert!(seen.iter().all(|&v| v == first), "torn read: {seen:?}");
                assert!(first >= last, "went back from {last} to {first}");
                last = first;
            }
        });
        assert_eq!(seq.read_begin(), 2 * WRITES);
    }
}
