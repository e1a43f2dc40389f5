//! The heaviest hitters of a stream in bounded memory (Space-Saving, Metwally
//! et al. 2005): an event's top sources, ports and destinations.
//!
//! A hostile sender can spread packets over millions of source addresses;
//! the tally keeps `capacity` entries and, when full, gives a newcomer the
//! place of the smallest with that count added. Any key with more than
//! total / capacity packets is kept, and no count is under its truth by more
//! than the smallest count kept.

/// A bounded tally of the keys with the most packets.
#[derive(Clone, Debug)]
pub struct TopN<K> {
    entries: Vec<(K, u64)>,
    capacity: usize,
    total: u64,
}

impl<K: Copy + PartialEq> TopN<K> {
    /// An empty tally keeping at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        TopN {
            entries: Vec::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
            total: 0,
        }
    }

    /// Counts `packets` for `key`.
    pub fn add(&mut self, key: K, packets: u64) {
        self.total = self.total.saturating_add(packets);
        if let Some(e) = self.entries.iter_mut().find(|(k, _)| *k == key) {
            e.1 = e.1.saturating_add(packets);
            return;
        }
        if self.entries.len() < self.capacity {
            self.entries.push((key, packets));
            return;
        }
        if let Some(smallest) = self.entries.iter_mut().min_by_key(|(_, n)| *n) {
            *smallest = (key, smallest.1.saturating_add(packets));
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
