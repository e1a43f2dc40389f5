//! The frame side's view of the counters: decayed values of the shown maps and
//! per-map rates, read once per frame (or once per headless snapshot).

use std::sync::Arc;

use super::{Counters, Totals};
use crate::maps::{CELLS, MapId};

/// Rates are measured over at least this much packet time, so they do not jitter.
const RATE_WINDOW_NS: u64 = 1_000_000_000;

/// What one frame shows: values of each shown map at one packet time.
#[derive(Clone, Debug, Default)]
pub struct MapFrame {
    /// The shown maps, in tile order.
    pub maps: Vec<MapId>,
    /// 65,536 decayed values per shown map (row-major: key >> 8 is the row).
    pub values: Vec<Vec<f32>>,
    /// The largest of each shown map's `values` ([`peak`]), found while they
    /// were read: all the paper scale needs, without reading 6 maps again.
    pub peaks: Vec<f32>,
    /// The slow baseline of each shown map, aligned with `values`; empty when
    /// the counters keep no baseline.
    pub baselines: Vec<Vec<f32>>,
    /// Whether `baselines` hold values read with this frame or an earlier
    /// one. The wall reads them (as much work as the values) only every few
    /// frames, and only while something on screen shows them; a baseline's
    /// half-life is minutes, so that changes nothing visible.
    pub baselines_read: bool,
    /// Packets/s counted into each shown map, on the packet clock.
    pub rates_pps: Vec<f64>,
    /// Packets/s handed to counting (counted or skipped).
    pub packets_per_sec: f64,
    /// The packet time the values are for; `None` before the first packet.
    pub at_ns: Option<u64>,
    /// Exact totals at the time of reading.
    pub totals: Totals,
}

/// The largest of `values` (0 when none is positive; NaN never wins): a map's
/// peak, which the paper scale divides by. Eight lanes, so it vectorises.
pub fn peak(values: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut max = [0f32; LANES];
    let blocks = values.chunks_exact(LANES);
    let rest = blocks.remainder();
    for block in blocks {
        for (m, &v) in max.iter_mut().zip(block) {
            *m = if v > *m { v } else { *m };
        }
    }
    for &v in rest {
        max[0] = if v > max[0] { v } else { max[0] };
    }
    max.into_iter().fold(0.0, f32::max)
}

/// Reads [`MapFrame`]s from [`Counters`], keeping the buffers and rate state
/// between frames so a frame allocates nothing.
pub struct FrameReader {
    counters: Arc<Counters>,
    frame: MapFrame,
    rate_base: Option<(u64, Totals)>,
}

impl FrameReader {
    /// A reader of `shown` maps (those not counted read as zeros).
    pub fn new(counters: Arc<Counters>, shown: Vec<MapId>) -> Self {
        let n = shown.len();
        let baselines = if counters.baseline().is_some() {
            vec![vec![0.0; CELLS]; n]
        } else {
            Vec::new()
        };
        FrameReader {
            counters,
            frame: MapFrame {
                maps: shown,
                values: vec![vec![0.0; CELLS]; n],
                peaks: vec![0.0; n],
                baselines,
                rates_pps: vec![0.0; n],
                ..MapFrame::default()
            },
            rate_base: None,
        }
    }

    /// The counters read from.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Reads the shown maps and their baselines at packet time `at`
    /// (default: the packet clock).
    pub fn read(&mut self, at: Option<u64>) -> &MapFrame {
        self.read_with(at, true)
    }

    /// [`FrameReader::read`], reading the baselines only when `baselines`
    /// (otherwise they keep their last read).
    pub fn read_with(&mut self, at: Option<u64>, baselines: bool) -> &MapFrame {
        let totals = self.counters.totals();
        let at = at.or(totals.last_ts);
        self.frame.at_ns = at;
        let maps = self.frame.maps.iter().zip(&mut self.frame.values);
        for ((map, out), peak) in maps.zip(&mut self.frame.peaks) {
            *peak = match at {
                Some(at) => self.counters.read_map(*map, at, out).unwrap_or(0.0),
                None => {
                    out.fill(0.0);
                    0.0
                }
            };
        }
        self.frame.baselines_read |= baselines;
        let read_baselines = if baselines { self.frame.baselines.len() } else { 0 };
        for (map, out) in self
            .frame
            .maps
            .iter()
            .zip(self.frame.baselines.iter_mut())
            .take(read_baselines)
        {
            match at {
                Some(at) => {
                    self.counters.read_baseline(*map, at, out);
                }
                None => out.fill(0.0),
            }
        }
        self.update_rates(&totals);
        self.frame.totals = totals;
        &self.frame
    }

    /// The last frame read.
    pub fn frame(&self) -> &MapFrame {
        &self.frame
    }

    fn update_rates(&mut self, totals: &Totals) {
        let (Some(now), Some(first)) = (totals.last_ts, totals.first_ts) else {
            return;
        };
        let first_read = self.rate_base.is_none();
        // Until a window has passed, rates are averages since the first packet, so a
        // single headless read still reports them.
        let (then, base) = self.rate_base.take().unwrap_or_else(|| {
            (
                first,
                Totals {
                    per_map: vec![0; totals.per_map.len()],
                    ..Totals::default()
                },
            )
        });
        let dt = now.saturating_sub(then);
        let window_passed = dt >= RATE_WINDOW_NS;
        if window_passed || (first_read && dt > 0) {
            self.set_rates(totals, &base, dt);
        }
        self.rate_base = if window_passed || first_read {
            Some((now, totals.clone()))
        } else {
            Some((then, base))
        };
    }

    fn set_rates(&mut self, totals: &Totals, base: &Totals, dt: u64) {
        let secs = dt as f64 / 1e9;
        let per_sec = |new: u64, old: u64| new.saturating_sub(old) as f64 / secs;
        self.frame.packets_per_sec = per_sec(totals.packets, base.packets);
        let maps = self.counters.maps();
        for (rate, shown) in self.frame.rates_pps.iter_mut().zip(&self.frame.maps) {
            *rate = maps
                .iter()
                .position(|m| m == shown)
                .map_or(0.0, |slot| per_sec(totals.per_map[slot], base.per_map[slot]));
        }
    }
}
