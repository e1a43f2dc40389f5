//! What a sensor sends one wall each interval: its exact counts minus what
//! that wall was last sent, so only changed cells travel. The builder lives
//! as long as the sensor's link to the wall: what was counted while the wall
//! could not take it goes in the first delta after it does, marked late.

use super::wire::{DeltaHeader, MapCells, SKIP_REASONS, encode_delta};
use crate::counting::Counters;
use crate::maps::{MAPS, MapId};

/// The counts one wall connection has been sent so far.
pub struct DeltaBuilder {
    maps: Vec<MapId>,
    /// Per map, every cell's count as last sent.
    sent: Vec<Vec<u64>>,
    packets: u64,
    skipped: [u64; SKIP_REASONS],
    /// Per map, this delta's changed cells (kept to reuse their memory).
    cells: Vec<Vec<(u16, u64)>>,
    /// When the wall last took a delta (or the builder was made).
    delivered: std::time::Instant,
    /// Packets counted before the current connection was welcomed, not yet sent.
    late: u64,
}

/// What one delta carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Packets counted since the previous delta.
    pub packets: u64,
    /// Changed cells sent.
    pub cells: usize,
    /// Frames it took.
    pub frames: usize,
}

impl DeltaBuilder {
    /// A builder whose baseline is `counters` as they are now: the first
    /// delta carries only what is counted from here on.
    pub fn now(counters: &Counters) -> Self {
        let maps = counters.maps().to_vec();
        let sent = maps
            .iter()
            .map(|&m| counters.exact_counts(m).unwrap_or_default())
            .collect();
        let t = counters.totals();
        let mut skipped = [0; SKIP_REASONS];
        for (s, t) in skipped.iter_mut().zip(t.skipped) {
            *s = t;
        }
        DeltaBuilder {
            cells: vec![Vec::new(); maps.len()],
            maps,
            sent,
            packets: t.packets,
            skipped,
            delivered: std::time::Instant::now(),
            late: 0,
        }
    }

    /// A builder of no maps (a placeholder while the real one is in use).
    pub fn empty() -> Self {
        DeltaBuilder {
            maps: Vec::new(),
            sent: Vec::new(),
            packets: 0,
            skipped: [0; SKIP_REASONS],
            cells: Vec::new(),
            delivered: std::time::Instant::now(),
            late: 0,
        }
    }

    /// Packets accounted for so far (sent, or the baseline).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// How long the counts not yet sent have waited.
    pub fn held_for(&self) -> std::time::Duration {
        self.delivered.elapsed()
    }

    /// A wall welcomed this link: what was counted and not sent until now is
    /// late, and the next delta says so.
    pub fn welcomed(&mut self, counters: &Counters) {
        self.late = counters.totals().packets.saturating_sub(self.packets);
    }

    /// Appends the frames of the next delta to `out`: every cell that grew
    /// since the previous one, the packet and skip totals counted meanwhile,
    /// the capture drops so far (`kernel_drops`, `interface_drops`), stamped
    /// `sent_at_ns`. The new counts become the baseline.
    pub fn next(
        &mut self,
        counters: &Counters,
        sent_at_ns: u64,
        kernel_drops: u64,
        interface_drops: u64,
        out: &mut Vec<u8>,
    ) -> DeltaStats {
        let mut stats = DeltaStats::default();
        for ((&map, sent), cells) in self.maps.iter().zip(&mut self.sent).zip(&mut self.cells) {
            cells.clear();
            let Some(now) = counters.exact_counts(map) else {
                continue;
            };
            for (key, (&n, &was)) in now.iter().zip(sent.iter()).enumerate() {
                if n > was {
                    cells.push((key as u16, n - was));
                }
            }
            stats.cells += cells.len();
            *sent = now;
        }
        let t = counters.totals();
        let mut header = DeltaHeader {
            sent_at_ns,
            packets: t.packets.saturating_sub(self.packets),
            kernel_drops,
            interface_drops,
            ..DeltaHeader::default()
        };
        for ((h, s), &now) in header.skipped.iter_mut().zip(&mut self.skipped).zip(&t.skipped) {
            *h = now.saturating_sub(*s);
            *s = now;
        }
        self.packets = t.packets;
        header.late = std::mem::take(&mut self.late).min(header.packets);
        self.delivered = std::time::Instant::now();
        stats.packets = header.packets;
        let maps: Vec<MapCells<'_>> = self
            .maps
            .iter()
            .zip(&self.cells)
            .map(|(&m, cells)| MapCells {
                name: MAPS[m].name,
                cells,
            })
            .collect();
        stats.frames = encode_delta(&header, &maps, out);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::Decay;
    use crate::maps::by_name;
    use crate::parse::SkipReason;
    use crate::sensor::wire::{MAX_FRAME, Message, decode_frame};

    /// Each map's name and cells.
    type Maps = Vec<(String, Vec<(u16, u64)>)>;

    fn decode(bytes: &[u8]) -> (DeltaHeader, Maps) {
        let Ok(Some((Message::Delta(d), used))) = decode_frame(bytes, MAX_FRAME) else {
            panic!("not a delta")
        };
        assert_eq!(used, bytes.len());
        let maps = d
            .maps()
            .map(|s| (s.name.to_string(), s.cells().collect()))
            .collect();
        (d.header, maps)
    }

    #[test]
    fn only_what_is_counted_after_the_baseline_is_sent() {
        let syn = by_name("syn").expect("syn");
        let len = by_name("len").expect("len");
        let counters = Counters::new(vec![syn, len], Decay::NONE);
        let mut w = counters.writer();
        // Counted before this wall connected: never sent to it.
        w.add_cell(1, syn, 100, 50);
        w.add_totals(1, 50, &[(SkipReason::NotIp, 4)]);
        let mut b = DeltaBuilder::now(&counters);
        w.add_cell(2, syn, 100, 3);
        w.add_cell(2, syn, 7, 1);
        w.add_cell(2, len, 40, 4);
        w.add_totals(2, 6, &[(SkipReason::NotIp, 1), (SkipReason::Filtered, 1)]);
        let mut out = Vec::new();
        let stats = b.next(&counters, 99, 5, 6, &mut out);
        assert_eq!(
            stats,
            DeltaStats {
                packets: 6,
                cells: 3,
                frames: 1
            }
        );
        let (h, maps) = decode(&out);
        assert_eq!(
            h,
            DeltaHeader {
                sent_at_ns: 99,
                packets: 6,
                skipped: [1, 0, 0, 1],
                kernel_drops: 5,
                interface_drops: 6,
                late: 0,
            }
        );
        assert_eq!(
            maps,
            [
                ("syn".to_string(), vec![(7, 1), (100, 3)]),
                ("len".to_string(), vec![(40, 4)])
            ]
        );
        // Nothing new: an empty delta (the heartbeat).
        out.clear();
        b.next(&counters, 100, 5, 6, &mut out);
        let (h, maps) = decode(&out);
        assert_eq!((h.packets, maps.len()), (0, 0));
    }
}
