//! A sensor's delta, already validated, merged into the wall's counters and
//! its peer entry: the only place remote counts enter the maps.

use std::sync::atomic::Ordering::Relaxed;

use super::wire::DeltaView;
use crate::counting::ShardWriter;
use crate::maps;
use crate::parse::SkipReason;
use crate::source::peers::PeerStats;

/// What one delta added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Cells added to maps this wall counts.
    pub cells: usize,
    /// Cells of maps this wall does not count (or does not know), left out.
    pub ignored: usize,
    /// Cells whose count would have passed 2^64 and stopped at its largest
    /// value (a count never wraps round to a small one).
    pub saturated: usize,
}

/// The packet time of a delta received at `now_ns`: the sensor's time, but
/// never ahead of the wall's clock (a sensor whose clock runs fast must not
/// drag the wall's decay into the future).
pub fn packet_time(delta: &DeltaView<'_>, now_ns: u64) -> u64 {
    delta.header.sent_at_ns.min(now_ns)
}

/// Adds every cell of `delta` to `writer`'s shard at packet time `ts`, then its
/// packet and skip totals.
pub fn merge(delta: &DeltaView<'_>, ts: u64, writer: &mut ShardWriter) -> Merged {
    let mut merged = Merged::default();
    for section in delta.maps() {
        let Some(map) = maps::by_name(section.name) else {
            merged.ignored += section.len();
            continue;
        };
        for (key, count) in section.cells() {
            match writer.add_cell(ts, map, key, count) {
                Some(saturated) => {
                    merged.cells += 1;
                    merged.saturated += usize::from(saturated);
                }
                None => {
                    // The shard does not count this map: neither will the rest.
                    merged.ignored += section.len();
                    break;
                }
            }
        }
    }
    let skipped = SkipReason::ALL.map(|r| (r, delta.header.skipped[r.index()]));
    writer.add_totals(ts, delta.header.packets, &skipped);
    merged
}

/// Updates the sensor's status-line entry from a delta received at `now_ns`:
/// its packets, its capture drops (running totals, so stored), and its lag
/// (the wall's receive time minus the sensor's send time, clamped at 0).
pub fn note(peer: &PeerStats, delta: &DeltaView<'_>, now_ns: u64) {
    let h = &delta.header;
    let total = peer.packets.load(Relaxed).saturating_add(h.packets);
    peer.packets.store(total, Relaxed);
    peer.drops
        .store(h.kernel_drops.saturating_add(h.interface_drops), Relaxed);
    peer.lag_ms
        .store(now_ns.saturating_sub(h.sent_at_ns) / 1_000_000, Relaxed);
    peer.connected.store(true, Relaxed);
    peer.touch();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::{Counters, Decay};
    use crate::sensor::wire::{DeltaHeader, MapCells, Message, decode_frame, encode_delta};
    use crate::source::peers::{PeerKind, PeerTable};

    fn with_delta(header: DeltaHeader, maps: &[MapCells<'_>], f: impl FnOnce(&DeltaView<'_>)) {
        let mut bytes = Vec::new();
        encode_delta(&header, maps, &mut bytes);
        let Ok(Some((Message::Delta(d), _))) = decode_frame(&bytes, crate::sensor::wire::MAX_FRAME) else {
            panic!("not a delta")
        };
        f(&d);
    }

    #[test]
    fn cells_and_totals_land_exactly_and_unknown_maps_are_left_out() {
        let syn = maps::by_name("syn").expect("syn");
        let port = maps::by_name("port").expect("port");
        let counters = Counters::new(vec![syn, port], Decay::NONE);
        let mut w = counters.writer();
        let header = DeltaHeader {
            sent_at_ns: 1_000,
            packets: 10,
            skipped: [1, 2, 3, 0],
            ..DeltaHeader::default()
        };
        let maps = [
            MapCells {
                name: "syn",
                cells: &[(5, 2), (65_535, 3)],
            },
            MapCells {
                name: "len",
                cells: &[(40, 9)],
            },
            MapCells {
                name: "future_map",
                cells: &[(1, 1)],
            },
            MapCells {
                name: "port",
                cells: &[(80, 4)],
            },
        ];
        with_delta(header, &maps, |d| {
            assert_eq!(
                merge(d, 1_000, &mut w),
                Merged {
                    cells: 3,
                    ignored: 2,
                    saturated: 0
                }
            );
        });
        with_delta(header, &maps[..1], |d| {
            merge(d, 2_000, &mut w);
        });
        drop(w);
        let cells = counters.exact_counts(syn).expect("syn counted");
        assert_eq!((cells[5], cells[65_535]), (4, 6));
        assert_eq!(counters.exact_counts(port).expect("port")[80], 4);
        let t = counters.totals();
        assert_eq!((t.packets, t.skipped), (20, [2, 4, 6, 0]));
        assert_eq!(t.per_map, [10, 4]);
        assert_eq!((t.first_ts, t.last_ts), (Some(1_000), Some(2_000)));
    }

    /// A sensor's counts near 2^64 stop there, in a cell, across two
    /// sensors' shards and in the totals: they never wrap round to small
    /// numbers (2^64 - 1 then 2 used to read 1; two 2^63 cells read 0).
    #[test]
    fn counts_near_two_to_the_64_saturate_and_are_counted() {
        let syn = crate::maps::by_name("syn").expect("syn");
        let counters = Counters::new(vec![syn], Decay::NONE);
        let (mut a, mut b) = (counters.writer(), counters.writer());
        let header = DeltaHeader {
            sent_at_ns: 1_000,
            packets: u64::MAX,
            ..DeltaHeader::default()
        };
        let big = [(1u16, u64::MAX), (2, 1 << 63)];
        let two = [(1u16, 2u64), (2, 1)];
        with_delta(
            header,
            &[MapCells {
                name: "syn",
                cells: &big,
            }],
            |d| {
                assert_eq!(merge(d, 1_000, &mut a).saturated, 0);
            },
        );
        with_delta(
            header,
            &[MapCells {
                name: "syn",
                cells: &two,
            }],
            |d| {
                assert_eq!(merge(d, 1_000, &mut a).saturated, 1, "cell 1 hit the top");
            },
        );
        // A second sensor's 2^63 in cell 2, in a shard of its own.
        with_delta(
            header,
            &[MapCells {
                name: "syn",
                cells: &big[1..],
            }],
            |d| {
                assert_eq!(merge(d, 1_000, &mut b).saturated, 0);
            },
        );
        drop((a, b));
        let cells = counters.exact_counts(syn).expect("syn");
        assert_eq!((cells[1], cells[2]), (u64::MAX, u64::MAX));
        let t = counters.totals();
        assert_eq!((t.packets, t.per_map[0]), (u64::MAX, u64::MAX));
    }

    #[test]
    fn peers_get_packets_drops_and_lag() {
        let table = PeerTable::default();
        let peer = table.peer(PeerKind::Sensor, "edge-1").expect("room");
        let header = DeltaHeader {
            sent_at_ns: 5_000_000_000,
            packets: 7,
            kernel_drops: 3,
            interface_drops: 1,
            ..DeltaHeader::default()
        };
        with_delta(header, &[], |d| {
            note(&peer, d, 5_250_000_000);
            note(&peer, d, 4_000_000_000); // a sensor clock ahead: lag 0, not negative
            assert_eq!(packet_time(d, 4_000_000_000), 4_000_000_000);
            assert_eq!(packet_time(d, 9_000_000_000), 5_000_000_000);
        });
        let s = &table.summaries()[0];
        assert_eq!((s.packets, s.drops, s.lag_ms, s.live), (14, 4, 0, true));
    }
}
