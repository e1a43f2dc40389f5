//! How a map's values become positions on its colour scale, per map and per
//! frame: the paper's fixed stops, an automatic gain, a logarithmic scale to
//! the map's maximum, rank (histogram equalisation), or the change view's
//! ratio to a slow baseline.
//!
//! The shader does the per-cell work; this module computes the few numbers it
//! needs per map (a gain, a maximum, a 256-entry rank table, two rate
//! factors) from one cheap pass over the values, and mirrors the shader's
//! arithmetic on the CPU so tests and the legend can predict colours.

use std::fmt;
use std::str::FromStr;

/// Declares a small enum with its command-line names, `ALL`, `next()`
/// (what a key cycles to), `Display` and `FromStr`.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub enum $name { #[default] $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in the order the key cycles through them.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The command-line spelling.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            /// The value the key switches to.
            pub fn next(self) -> $name {
                let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
                Self::ALL[(i + 1) % Self::ALL.len()]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                    format!(concat!("unknown ", $what, " `{}`; expected one of: {}"), s, all.join(", "))
                })
            }
        }
    };
}

named_enum!(
    /// How counted values map onto the colour scale (`--scale`, key C).
    ScaleMode, "scale" {
        /// The paper's fixed stops (0, 4, 8 ... 255+): reproduces its figures,
        /// saturates under heavy TCP scanning.
        Paper => "paper",
        /// A per-map gain from the map's own distribution, smoothed over
        /// packet time: the median goes to the middle stop unless that would
        /// push more than 0.1 % of the cells past the top.
        Auto => "auto",
        /// Continuous logarithmic scale from 1 to the map's maximum.
        Log => "log",
        /// Histogram equalisation: colour by rank among the non-zero cells.
        Rank => "rank",
    }
);

named_enum!(
    /// What a cell's colour shows (`--view`, key N).
    MapView, "view" {
        /// The decayed counts, through the scale mode.
        Counts => "counts",
        /// Short-term rate against the slow baseline, on a diverging scale.
        Change => "change",
    }
);

named_enum!(
    /// Where a key's cell is drawn (`--order`, key K). Only address maps
    /// follow the curve; ports and lengths keep their rows.
    CellOrder, "order" {
        /// Row = high byte, column = low byte, as in the paper.
        Row => "row",
        /// Along the order-8 Hilbert curve: each /24 is a 16 x 16 square.
        Hilbert => "hilbert",
    }
);

/// Buckets of the rank table (a log-spaced histogram of non-zero values).
pub const RANK_BUCKETS: usize = 256;

/// The lowest rank a non-zero cell gets (half-way to the scale's second
/// stop), so in rank mode the least-hit cells never look like empty ones.
pub const RANK_FLOOR: f32 = 1.0 / 14.0;

/// The value the auto gain puts the median non-zero cell at (the paper's
/// middle stop, yellow).
pub const AUTO_MEDIAN_AT: f32 = 16.0;
/// The top of the paper scale, where the auto gain puts the 99.9th percentile at most.
pub const AUTO_TOP: f32 = 255.0;
/// The auto gain's smoothing half-life on the packet clock.
pub const AUTO_SMOOTHING_NS: u64 = 2_000_000_000;

/// The numbers the shader needs to colour one map in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct MapScale {
    /// Auto: values are multiplied by this before the paper's stops.
    pub gain: f32,
    /// Log: the map's largest value (the top of the scale).
    pub max: f32,
    /// Rank: log2 of the smallest and largest non-zero values (the histogram's range).
    pub rank_lo: f32,
    /// See `rank_lo`.
    pub rank_hi: f32,
    /// Rank: per bucket, the fraction of non-zero cells at or below its top edge.
    pub rank_cdf: Box<[f32; RANK_BUCKETS]>,
    /// Change view: packets/s per unit of short-term value (ln 2 / h, corrected
    /// for the time the decay has had to fill up).
    pub short_rate: f32,
    /// Change view: packets/s per unit of baseline value (ln 2 / H, corrected likewise).
    pub baseline_rate: f32,
}

impl Default for MapScale {
    fn default() -> Self {
        MapScale {
            gain: 1.0,
            max: 0.0,
            rank_lo: 0.0,
            rank_hi: 0.0,
            rank_cdf: Box::new([1.0; RANK_BUCKETS]),
            short_rate: 0.0,
            baseline_rate: 0.0,
        }
    }
}

/// Adds to `counts` how many non-zero `values` fall in each bucket: bucket
/// `floor((log2 v - lo) * per)`, clamped to the table. In chunks: first every
/// cell's bucket with [`fast_log2`] (a loop that vectorises; zero cells get a
/// bucket past the table), then the histogram, spread over four tables so that
/// runs of equal buckets do not wait on each other. This is most of the
/// wall's per-frame CPU time, hence the care.
fn bucket_counts(values: &[f32], lo: f32, per: f32, counts: &mut [u32; RANK_BUCKETS]) {
    const CHUNK: usize = 1024;
    const NONE: u32 = RANK_BUCKETS as u32;
    let mut buckets = [0u32; CHUNK];
    let mut tables = [[0u32; RANK_BUCKETS + 1]; 4];
    for chunk in values.chunks(CHUNK) {
        for (b, &v) in buckets.iter_mut().zip(chunk) {
            let x = ((fast_log2(v) - lo) * per).clamp(0.0, (RANK_BUCKETS - 1) as f32);
            *b = if v > 0.0 { floor_small(x) } else { NONE };
        }
        let quads = buckets[..chunk.len()].chunks_exact(4);
        let rest = quads.remainder();
        for q in quads {
            for (table, &b) in tables.iter_mut().zip(q) {
                table[(b as usize).min(RANK_BUCKETS)] += 1;
            }
        }
        for &b in rest {
            tables[0][(b as usize).min(RANK_BUCKETS)] += 1;
        }
    }
    for (k, c) in counts.iter_mut().enumerate() {
        *c += tables.iter().map(|t| t[k]).sum::<u32>();
    }
}

/// The floor of `x` in `0.0..=2^22`, without a float-to-integer cast (Rust's
/// saturating cast does not vectorise): adding 2^23 leaves `x` rounded to the
/// nearest integer in the low mantissa bits; one less when that rounded up.
/// Anything else (NaN included) gives an unspecified number.
#[inline(always)]
fn floor_small(x: f32) -> u32 {
    const TWO_POW_23: f32 = 8_388_608.0;
    let nearest = (x + TWO_POW_23).to_bits().wrapping_sub(TWO_POW_23.to_bits());
    nearest.wrapping_sub(u32::from(nearest as i32 as f32 > x))
}

/// log2 of a positive `v` (subnormals included) without a library call, so
/// loops over a map vectorise; within a few units in the last place of
/// `f32::log2`. Non-positive or non-finite input gives an unspecified number.
#[inline(always)]
pub fn fast_log2(v: f32) -> f32 {
    const TWO_POW_23: f32 = 8_388_608.0;
    let subnormal = v < f32::MIN_POSITIVE;
    let bits = (if subnormal { v * TWO_POW_23 } else { v }).to_bits();
    // v = 2^e * m with m in [sqrt(1/2), sqrt(2)), so ln m's series is short.
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let high = mantissa > std::f32::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = ((bits >> 23) & 0xff) as i32 - 127 + i32::from(high) - if subnormal { 23 } else { 0 };
    // ln m = 2 atanh t, t = (m - 1) / (m + 1), |t| < 0.172: five terms reach
    // f32 precision.
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    e as f32 + 2.0 * t * series * std::f32::consts::LOG2_E
}

/// What one pass over a map's values found.
#[derive(Clone, Debug, PartialEq)]
pub struct MapStats {
    /// Largest value.
    pub max: f32,
    /// Smallest non-zero value (0 when all are zero).
    pub min_nonzero: f32,
    /// Non-zero cells.
    pub nonzero: usize,
}

impl MapStats {
    /// One pass over `values`, without a branch per cell and with eight
    /// independent lanes, so it vectorises (a plain float min/max reduction
    /// does not: the compiler may not reorder it).
    pub fn of(values: &[f32]) -> MapStats {
        const LANES: usize = 8;
        let mut max = [0f32; LANES];
        let mut min = [f32::INFINITY; LANES];
        let mut nonzero = [0u32; LANES];
        // Zero, negative and NaN cells never pass `v > max` (max starts at 0),
        // and enter the minimum as infinity.
        let mut add = |lane: usize, v: f32| {
            max[lane] = if v > max[lane] { v } else { max[lane] };
            let candidate = if v > 0.0 { v } else { f32::INFINITY };
            min[lane] = if candidate < min[lane] {
                candidate
            } else {
                min[lane]
            };
            nonzero[lane] += u32::from(v > 0.0);
        };
        let blocks = values.chunks_exact(LANES);
        let rest = blocks.remainder();
        for block in blocks {
            for (lane, &v) in block.iter().enumerate() {
                add(lane, v);
            }
        }
        for &v in rest {
            add(0, v);
        }
        let nonzero: usize = nonzero.iter().map(|&n| n as usize).sum();
        MapStats {
            max: max.into_iter().fold(0.0, f32::max),
            min_nonzero: if nonzero == 0 {
                0.0
            } else {
                min.into_iter().fold(f32::INFINITY, f32::min)
            },
            nonzero,
        }
    }
}

impl MapScale {
    /// Fills the rank table from `values` (a second pass, only for modes that
    /// need it): a histogram of log2 of the non-zero values in
    /// [`RANK_BUCKETS`] buckets between the smallest and largest, summed.
    pub fn fill_ranks(&mut self, values: &[f32], stats: &MapStats) {
        self.max = stats.max;
        if stats.nonzero == 0 {
            self.rank_lo = 0.0;
            self.rank_hi = 0.0;
            self.rank_cdf.fill(1.0);
            return;
        }
        let lo = stats.min_nonzero.log2();
        let hi = stats.max.log2();
        self.rank_lo = lo;
        self.rank_hi = hi;
        let mut counts = [0u32; RANK_BUCKETS];
        let span = hi - lo;
        if span > 0.0 {
            let per = RANK_BUCKETS as f32 / span;
            bucket_counts(values, lo, per, &mut counts);
        } else {
            counts[RANK_BUCKETS - 1] = stats.nonzero as u32;
        }
        let total = stats.nonzero as f32;
        let mut sum = 0u32;
        for (c, out) in counts.iter().zip(self.rank_cdf.iter_mut()) {
            sum += c;
            *out = sum as f32 / total;
        }
    }

    /// The scale position (0..=1) of value `v` in rank mode, as the shader
    /// computes it: 0 for zero, otherwise [`RANK_FLOOR`] plus the rest of the
    /// scale times the cell's rank among the non-zero cells.
    pub fn rank_of(&self, v: f32) -> f32 {
        if v.is_nan() || v <= 0.0 {
            return 0.0;
        }
        RANK_FLOOR + (1.0 - RANK_FLOOR) * self.raw_rank(v)
    }

    /// The fraction (0..=1) of non-zero cells at or below `v`, interpolated
    /// within its histogram bucket.
    pub fn raw_rank(&self, v: f32) -> f32 {
        if v.is_nan() || v <= 0.0 {
            return 0.0;
        }
        let span = self.rank_hi - self.rank_lo;
        if span <= 0.0 {
            return 1.0;
        }
        let pos = ((v.log2() - self.rank_lo) / span).clamp(0.0, 1.0) * RANK_BUCKETS as f32;
        let k = (pos.floor() as usize).min(RANK_BUCKETS - 1);
        let t = (pos - k as f32).clamp(0.0, 1.0);
        let below = if k == 0 { 0.0 } else { self.rank_cdf[k - 1] };
        below + (self.rank_cdf[k] - below) * t
    }

    /// The value at rank `q` (0..=1): the inverse of [`MapScale::raw_rank`],
    /// for percentiles.
    pub fn value_at_rank(&self, q: f32) -> f32 {
        let span = self.rank_hi - self.rank_lo;
        if self.max <= 0.0 {
            return 0.0;
        }
        if span <= 0.0 {
            return self.max;
        }
        let q = q.clamp(0.0, 1.0);
        let k = self
            .rank_cdf
            .iter()
            .position(|&c| c >= q)
            .unwrap_or(RANK_BUCKETS - 1);
        let below = if k == 0 { 0.0 } else { self.rank_cdf[k - 1] };
        let width = self.rank_cdf[k] - below;
        let t = if width > 0.0 {
            ((q - below) / width).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let log = self.rank_lo + (k as f32 + t) / RANK_BUCKETS as f32 * span;
        log.exp2()
    }

    /// The auto gain this frame's distribution asks for (before smoothing):
    /// the median to the middle stop, unless that sends more than 0.1 % of
    /// the cells past the top, then the 99.9th percentile to the top.
    pub fn auto_gain_target(&self) -> f32 {
        if self.max <= 0.0 {
            return 1.0;
        }
        let median = self.value_at_rank(0.5).max(f32::MIN_POSITIVE);
        let p999 = self.value_at_rank(0.999).max(f32::MIN_POSITIVE);
        (AUTO_MEDIAN_AT / median).min(AUTO_TOP / p999)
    }

    /// The position (0..=1) of `v` on the log scale: log(1 + v) / log(1 + max).
    pub fn log_position(&self, v: f32) -> f32 {
        if self.max <= 0.0 || v.is_nan() || v <= 0.0 {
            return 0.0;
        }
        ((1.0 + v).log2() / (1.0 + self.max).log2()).clamp(0.0, 1.0)
    }

    /// The value at position `s` of the log scale (the legend's numbers).
    pub fn log_value(&self, s: f32) -> f32 {
        ((1.0 + self.max).log2() * s).exp2() - 1.0
    }

    /// The change view's log2 ratio of short-term rate to baseline rate. One
    /// packet's worth of short-term rate is added to both sides, so a cell with
    /// little data sits near neutral instead of flickering.
    pub fn change(&self, value: f32, baseline: f32) -> f32 {
        let eps = self.short_rate.max(f32::MIN_POSITIVE);
        ((value * self.short_rate + eps) / (baseline * self.baseline_rate + eps)).log2()
    }
}

/// Packets/s that one unit of a decayed sum stands for, `time_ns` after
/// counting began, with half-life `half_life_ns`: ln 2 / h while the decay is
/// full, and 1 / t early on (the sum has only had t to fill up), so short-term
/// and baseline rates compare fairly from the first second.
pub fn rate_per_value(half_life_ns: u64, time_ns: u64) -> f32 {
    if half_life_ns == 0 {
        return 0.0;
    }
    let h = half_life_ns as f64 / 1e9;
    let t = time_ns as f64 / 1e9;
    let fill = 1.0 - (-t / h).exp2();
    if fill <= 1e-9 {
        // At the very first packet: one packet over one nanosecond is no rate.
        return 0.0;
    }
    (std::f64::consts::LN_2 / h / fill) as f32
}

/// The auto gain smoothed on the packet clock (in log2, so halving and
/// doubling move at the same speed): a headless render and the live wall at
/// the same packet time agree.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AutoGain {
    state: Option<(f64, u64)>,
}

impl AutoGain {
    /// Moves towards `target` for a frame at packet time `at_ns` and returns
    /// the gain to use. The first frame, or a frame earlier than the last,
    /// takes the target as is.
    pub fn update(&mut self, target: f32, at_ns: u64) -> f32 {
        let target = f64::from(target.max(f32::MIN_POSITIVE)).log2();
        let log = match self.state {
            Some((last, then)) if at_ns >= then => {
                let dt = (at_ns - then) as f64;
                let keep = (-dt / AUTO_SMOOTHING_NS as f64).exp2();
                last * keep + target * (1.0 - keep)
            }
            _ => target,
        };
        self.state = Some((log, at_ns));
        log.exp2() as f32
    }
}

/// Formats a legend number briefly: 0, 7.5, 75, 750, 7.5k, 75k, 7.5M.
pub fn short_number(v: f32) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    let (x, unit) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if x < 10.0 {
        let s = format!("{x:.1}");
        format!("{}{unit}", s.trim_end_matches(".0"))
    } else {
        format!("{x:.0}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_alone_is_the_stats_max_on_hostile_values() {
        let mut rng = fastrand::Rng::with_seed(9);
        for len in [0, 1, 7, 8, 9, 65_536, 65_537] {
            let values: Vec<f32> = (0..len)
                .map(|_| match rng.u8(0..8) {
                    0 => 0.0,
                    1 => f32::NAN,
                    2 => -rng.f32() * 1e6,
                    3 => f32::INFINITY,
                    4 => f32::NEG_INFINITY,
                    5 => f32::MIN_POSITIVE / 2.0,
                    _ => rng.f32() * 1e9,
                })
                .collect();
            // Without the infinities too, so the largest finite value decides.
            let finite: Vec<f32> = values
                .iter()
                .map(|&v| if v.is_infinite() { 1.0 } else { v })
                .collect();
            for v in [&values, &finite] {
                assert_eq!(
                    crate::counting::peak(v).to_bits(),
                    MapStats::of(v).max.to_bits(),
                    "{len}"
                );
            }
        }
        assert_eq!(crate::counting::peak(&[f32::NAN, -1.0]), 0.0);
    }

    fn scale_of(values: &[f32]) -> MapScale {
        let mut s = MapScale::default();
        s.fill_ranks(values, &MapStats::of(values));
        s
    }

    #[test]
    fn names_parse_and_cycle() {
        assert_eq!("rank".parse::<ScaleMode>(), Ok(ScaleMode::Rank));
        assert_eq!(ScaleMode::Rank.next(), ScaleMode::Paper);
        assert_eq!(MapView::Counts.next(), MapView::Change);
        assert_eq!("hilbert".parse::<CellOrder>(), Ok(CellOrder::Hilbert));
        let err = "loud".parse::<ScaleMode>().unwrap_err();
        assert!(err.contains("paper, auto, log, rank"), "{err}");
    }

    #[test]
    fn ranks_equalise_any_distribution() {
        // 1000 cells at 1..=1000: rank grows with value, the median near 500.
        let values: Vec<f32> = (1..=1000).map(|v| v as f32).collect();
        let s = scale_of(&values);
        assert_eq!(s.rank_of(0.0), 0.0);
        assert!((s.rank_of(1000.0) - 1.0).abs() < 1e-6);
        let mut last = 0.0;
        for v in [1.0, 10.0, 100.0, 500.0, 900.0] {
            let r = s.rank_of(v);
            assert!(r > last, "{v}: {r} after {last}");
            last = r;
        }
        assert!((s.raw_rank(500.0) - 0.5).abs() < 0.02, "{}", s.raw_rank(500.0));
        assert!(s.rank_of(1.0) >= RANK_FLOOR);
        let median = s.value_at_rank(0.5);
        assert!((median - 500.0).abs() < 15.0, "{median}");
    }

    #[test]
    fn rank_buckets_are_the_floor_of_the_position() {
        // The histogram truncates instead of calling floor, and uses
        // `fast_log2`: the same buckets as libm's log2 and floor, except that
        // a value within a hair of a bucket edge may land on either side.
        let mut rng = fastrand::Rng::with_seed(9);
        let values: Vec<f32> = (0..20_000)
            .map(|i| match i % 4 {
                0 => 0.0,
                1 => rng.f32() * 3.0,
                2 => (rng.f32() * 40.0).exp2(),
                _ => rng.u32(1..5000) as f32,
            })
            .collect();
        let s = scale_of(&values);
        let stats = MapStats::of(&values);
        let (lo, hi) = (stats.min_nonzero.log2(), stats.max.log2());
        let per = RANK_BUCKETS as f32 / (hi - lo);
        let mut counts = [0u32; RANK_BUCKETS];
        let mut on_an_edge = 0;
        for &v in values.iter().filter(|&&v| v > 0.0) {
            let pos = (v.log2() - lo) * per;
            let k = pos.floor().clamp(0.0, (RANK_BUCKETS - 1) as f32) as usize;
            counts[k] += 1;
            on_an_edge += usize::from((pos - pos.round()).abs() < 1e-3);
        }
        let slack = on_an_edge as f32 / stats.nonzero as f32;
        let mut sum = 0;
        for (k, c) in counts.iter().enumerate() {
            sum += c;
            let want = sum as f32 / stats.nonzero as f32;
            assert!(
                (s.rank_cdf[k] - want).abs() <= slack + 1e-6,
                "bucket {k}: {} vs {want}",
                s.rank_cdf[k]
            );
        }
        assert!(slack < 0.01, "{on_an_edge} values on an edge");
    }

    #[test]
    fn floor_small_is_floor() {
        let mut rng = fastrand::Rng::with_seed(5);
        let edges = [0.0f32, 0.5, 1.0, 1.5, 2.5, 254.99998, 255.0, 255.5];
        for x in edges.into_iter().chain((0..100_000).map(|_| rng.f32() * 256.0)) {
            assert_eq!(floor_small(x), x.floor() as u32, "{x}");
        }
    }

    #[test]
    fn fast_log2_matches_the_library_over_every_magnitude() {
        let mut rng = fastrand::Rng::with_seed(4);
        let mut worst = 0f32;
        for _ in 0..200_000 {
            // Uniform over the bit patterns of positive finite floats,
            // subnormals included.
            let v = f32::from_bits(rng.u32(1..0x7f80_0000));
            let err = (fast_log2(v) - v.log2()).abs() / v.log2().abs().max(1.0);
            worst = worst.max(err);
        }
        for v in [
            1.0f32,
            2.0,
            0.5,
            std::f32::consts::SQRT_2,
            f32::MIN_POSITIVE,
            f32::MAX,
            1e-45,
        ] {
            let err = (fast_log2(v) - v.log2()).abs() / v.log2().abs().max(1.0);
            worst = worst.max(err);
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
    }

    #[test]
    fn ranks_of_equal_values_are_the_top() {
        let s = scale_of(&[0.0, 7.0, 7.0]);
        assert_eq!(s.rank_of(7.0), 1.0);
        assert_eq!(s.rank_of(0.0), 0.0);
        assert_eq!(scale_of(&[0.0; 4]).auto_gain_target(), 1.0);
    }

    #[test]
    fn auto_gain_puts_the_median_mid_scale_unless_the_tail_saturates() {
        // Uniform load of 300: the median goes to 16.
        let flat = scale_of(&vec![300.0; 10_000]);
        assert!((flat.auto_gain_target() * 300.0 - AUTO_MEDIAN_AT).abs() < 0.5);
        // 1 % of the cells at 100x: the 99.9th percentile caps the gain.
        let mut tail = vec![300.0; 9_900];
        tail.extend(std::iter::repeat_n(30_000.0, 100));
        let s = scale_of(&tail);
        assert!(s.auto_gain_target() * 30_000.0 <= AUTO_TOP * 1.05);
    }

    #[test]
    fn auto_gain_is_smoothed_on_the_packet_clock() {
        let mut g = AutoGain::default();
        assert_eq!(g.update(8.0, 0), 8.0);
        // One smoothing half-life later, half-way in log2: 8 -> 2 gives 4.
        let half = g.update(2.0, AUTO_SMOOTHING_NS);
        assert!((half - 4.0).abs() < 1e-3, "{half}");
        // Going back in time (a snapshot of an earlier moment) takes the target.
        assert_eq!(g.update(1.0, 0), 1.0);
    }

    #[test]
    fn rates_are_fair_early_and_ln2_over_h_later() {
        let h = 10_000_000_000;
        let late = rate_per_value(h, 1_000 * h);
        assert!((late - std::f32::consts::LN_2 / 10.0).abs() < 1e-6);
        // After 1 s of a 10-minute baseline, one unit is about one packet per second.
        let early = rate_per_value(600_000_000_000, 1_000_000_000);
        assert!((early - 1.0).abs() < 0.01, "{early}");
        assert_eq!(rate_per_value(h, 0), 0.0);
    }

    #[test]
    fn change_is_zero_at_the_baseline_rate() {
        let s = MapScale {
            short_rate: 0.07,
            baseline_rate: 0.001,
            ..MapScale::default()
        };
        assert!(s.change(100.0, 7_000.0).abs() < 1e-4);
        assert!(s.change(400.0, 7_000.0) > 1.9);
        assert_eq!(s.change(0.0, 0.0), 0.0);
    }

    #[test]
    fn log_scale_spans_one_to_max() {
        let s = scale_of(&[0.0, 1.0, 1023.0]);
        assert_eq!(s.log_position(0.0), 0.0);
        assert!((s.log_position(1023.0) - 1.0).abs() < 1e-6);
        assert!((s.log_position(31.0) - 0.5).abs() < 1e-6);
        assert!((s.log_value(0.5) - 31.0).abs() < 1e-3);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(7.5), "7.5");
        assert_eq!(short_number(75.0), "75");
        assert_eq!(short_number(7500.0), "7.5k");
        assert_eq!(short_number(2_000_000.0), "2M");
    }
}
