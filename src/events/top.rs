//! The heaviest hitters of a stream in bounded memory (Space-Saving, Metwally
//! et al. 2005): an event's top sources, ports and destinations.
//!
//! A hostile sender can spread packets over millions of source addresses;
//! the tally keeps `capacity` entries and, when full, gives a newcomer the
//! place of the smallest with that count added. Any key with more than
//! total / capacity packets is kept, and no count is under its truth by more
//! than the smallest count kept.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// A bounded tally of the keys with the most packets.
#[derive(Clone, Debug)]
pub struct TopN<K> {
    entries: Vec<(K, u64)>,
    /// Where each kept key is in `entries`: a scanner's packets find their
    /// entry at once, not by a walk over all of them.
    index: FxHashMap<K, usize>,
    capacity: usize,
    total: u64,
}

impl<K: Copy + Eq + Hash> TopN<K> {
    /// An empty tally keeping at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopN {
            entries: Vec::with_capacity(capacity.max(1)),
            index: FxHashMap::with_capacity_and_hasher(capacity.max(1), Default::default()),
            capacity: capacity.max(1),
            total: 0,
        }
    }

    /// Counts `packets` for `key`.
    pub fn add(&mut self, key: K, packets: u64) {
        self.total = self.total.saturating_add(packets);
        if let Some(&at) = self.index.get(&key) {
            let n = &mut self.entries[at].1;
            *n = n.saturating_add(packets);
            return;
        }
        if self.entries.len() < self.capacity {
            self.index.insert(key, self.entries.len());
            self.entries.push((key, packets));
            return;
        }
        let smallest = (0..self.entries.len()).min_by_key(|&i| self.entries[i].1);
        if let Some(at) = smallest {
            let (old, n) = self.entries[at];
            self.index.remove(&old);
            self.index.insert(key, at);
            self.entries[at] = (key, n.saturating_add(packets));
        }
    }

    /// The `n` keys with the most packets, most first (ties in first-seen order).
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut all = self.entries.clone();
        all.sort_by_key(|e| std::cmp::Reverse(e.1));
        all.truncate(n);
        all
    }

    /// Every packet counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heavy_hitter_survives_a_flood_of_one_packet_keys() {
        let mut t = TopN::new(8);
        for i in 0..10_000u32 {
            t.add(i + 100, 1);
            if i % 4 == 0 {
                t.add(7, 1);
            }
        }
        let top = t.top(3);
        assert_eq!(top[0].0, 7);
        // Never under the truth, over by at most total / capacity.
        assert!(top[0].1 >= 2500 && top[0].1 <= 2500 + t.total() / 8, "{top:?}");
        assert_eq!(t.total(), 12_500);
    }

    #[test]
    fn small_tallies_are_exact_and_ordered() {
        let mut t = TopN::new(4);
        t.add("a", 1);
        t.add("b", 5);
        t.add("a", 1);
        assert_eq!(t.top(5), vec![("b", 5), ("a", 2)]);
        assert!(!t.is_empty());
    }
}
