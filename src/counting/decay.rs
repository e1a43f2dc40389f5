//! Decay on the packet clock: how much a packet seen at time `t` still weighs at time `now`.
//!
//! Writers never rescale cells per frame. Instead a packet adds the weight
//! `2^(e(t))` relative to a per-shard epoch and readers multiply by `2^(-e(now))`.
//! Both use the packet clock (timestamps), so a replay at any speed, a headless
//! render and the live wall give the same values.

use std::fmt;
use std::time::Duration;

/// How counts fade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DecayMode {
    /// Continuous exponential decay with the half-life (the default).
    #[default]
    Exponential,
    /// The paper's rule: all counts halve at every multiple of the half-life.
    Step,
    /// No decay: exact totals (used by `count`).
    None,
}

impl DecayMode {
    /// Parses `exp`, `step` or `none` (the `--decay` values).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "exp" | "exponential" => Ok(DecayMode::Exponential),
            "step" => Ok(DecayMode::Step),
            "none" => Ok(DecayMode::None),
            _ => Err("expected exp, step or none".to_string()),
        }
    }
}

/// A half-life, at least one millisecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HalfLife(Duration);

impl HalfLife {
    /// The paper's 10 seconds.
    pub const DEFAULT: HalfLife = HalfLife(Duration::from_secs(10));
    const MIN: Duration = Duration::from_millis(1);
    const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

    /// A half-life clamped to 1 ms ..= 30 days.
    pub fn new(d: Duration) -> Self {
        HalfLife(d.clamp(Self::MIN, Self::MAX))
    }

    /// Parses `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
    pub fn parse(text: &str) -> Result<Self, String> {
        crate::duration::parse(text).map(HalfLife::new)
    }

    /// The half-life in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0.as_nanos() as u64
    }

    /// The half-life as a duration.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HalfLife {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs_f64();
        if s < 1.0 {
            write!(f, "{:.0}ms", s * 1000.0)
        } else if s < 120.0 {
            write!(f, "{}s", trim_float(s))
        } else if s < 7200.0 {
            write!(f, "{}m", trim_float(s / 60.0))
        } else {
            write!(f, "{}h", trim_float(s / 3600.0))
        }
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A decay rule: mode and half-life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decay {
    /// How counts fade.
    pub mode: DecayMode,
    /// The half-life (ignored by [`DecayMode::None`]).
    pub half_life: HalfLife,
}

impl Default for Decay {
    fn default() -> Self {
        Decay {
            mode: DecayMode::Exponential,
            half_life: HalfLife::DEFAULT,
        }
    }
}

/// `a - b` as an `f64`, for any two `u64` (packet times from hostile files
/// may be centuries apart). Two unsigned conversions, not an `i128` one:
/// this runs for every packet whose timestamp moves the clock.
#[inline]
fn signed_difference(a: u64, b: u64) -> f64 {
    if a >= b { (a - b) as f64 } else { -((b - a) as f64) }
}

impl Decay {
    /// Exact totals, no fading.
    pub const NONE: Decay = Decay {
        mode: DecayMode::None,
        half_life: HalfLife::DEFAULT,
    };

    /// The log2 weight of time `t` relative to `epoch` (both ns on the packet clock):
    /// a packet at `t` adds `2^exponent`; a reader at `t` multiplies by `2^-exponent`.
    #[inline]
    pub fn exponent(&self, t: u64, epoch: u64) -> f64 {
        let h = self.half_life.as_nanos();
        match self.mode {
            DecayMode::None => 0.0,
            DecayMode::Exponential => signed_difference(t, epoch) / h as f64,
            // Halvings happen at absolute multiples of the half-life, and epochs are
            // such multiples, so every shard halves at the same instants.
            DecayMode::Step => signed_difference(t / h, epoch / h),
        }
    }

    /// The epoch for a shard whose first packet is at `t`: a multiple of the
    /// half-life, so that step decay halves at the same instants on every shard.
    pub fn epoch_for(&self, t: u64) -> u64 {
        let h = self.half_life.as_nanos();
        t - t % h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn parses_half_lives() {
        assert_eq!(HalfLife::parse("10s").unwrap().as_nanos(), 10 * S);
        assert_eq!(HalfLife::parse("500ms").unwrap().as_nanos(), S / 2);
        assert_eq!(HalfLife::parse("2m").unwrap().as_nanos(), 120 * S);
        assert_eq!(HalfLife::parse("3").unwrap().as_nanos(), 3 * S);
        assert!(HalfLife::parse("0s").is_err());
        assert!(HalfLife::parse("ten").is_err());
        assert!(HalfLife::parse("5 parsecs").is_err());
        assert_eq!(HalfLife::parse("10s").unwrap().to_string(), "10s");
        assert_eq!(HalfLife::parse("1.5s").unwrap().to_string(), "1.5s");
        assert_eq!(HalfLife::parse("10m").unwrap().to_string(), "10m");
    }

    #[test]
    fn exponential_weights_halve_per_half_life() {
        let d = Decay::default();
        assert_eq!(d.exponent(30 * S, 10 * S), 2.0);
        assert_eq!(d.exponent(5 * S, 10 * S), -0.5);
    }

    #[test]
    fn exponents_hold_for_times_centuries_apart() {
        // Hostile captures may hold any 64-bit time: no overflow, right sign.
        let d = Decay::default();
        let far = u64::MAX as f64 / (10 * S) as f64;
        assert_eq!(d.exponent(u64::MAX, 0), far);
        assert_eq!(d.exponent(0, u64::MAX), -far);
        let step = Decay {
            mode: DecayMode::Step,
            ..Decay::default()
        };
        assert_eq!(step.exponent(25 * S, 10 * S), 1.0);
        assert_eq!(step.exponent(5 * S, 10 * S), -1.0);
    }

    #[test]
    fn step_halves_at_absolute_multiples() {
        let d = Decay {
            mode: DecayMode::Step,
            half_life: HalfLife::DEFAULT,
        };
        assert_eq!(d.epoch_for(27 * S), 20 * S);
        assert_eq!(d.exponent(29 * S, 20 * S), 0.0);
        assert_eq!(d.exponent(30 * S, 20 * S), 1.0);
        assert_eq!(d.exponent(19 * S, 20 * S), -1.0);
    }

    #[test]
    fn none_never_fades() {
        assert_eq!(Decay::NONE.exponent(u64::MAX, 0), 0.0);
    }
}

/// Packet weights `2^exponent(t)` for a stream of rising packet times, with one
/// `exp2` per millisecond of packet time instead of one per packet.
///
/// Within a millisecond, `2^(x / ln 2)` for the small `x = (t - t_ms)·ln2/h` is
/// a cubic polynomial: for half-lives of a second and more `x < 7e-4`, and the
/// relative error is below `x^4/24 < 1e-14`, far under what a frame can show.
/// Shorter half-lives, step decay and no decay take the direct path.
#[derive(Clone, Debug, Default)]
pub struct WeightCache {
    valid: bool,
    base_ms: u64,
    epoch: u64,
    half_life_ns: u64,
    base_weight: f64,
}

impl WeightCache {
    const MS: u64 = 1_000_000;

    /// The weight of a packet at `ts` for `decay` relative to `epoch`.
    #[inline]
    pub fn weight(&mut self, decay: Decay, ts: u64, epoch: u64) -> f64 {
        let h = decay.half_life.as_nanos();
        if decay.mode != DecayMode::Exponential || h < 1_000 * Self::MS {
            return decay.exponent(ts, epoch).exp2();
        }
        let ms = ts / Self::MS;
        if !self.valid || ms != self.base_ms || epoch != self.epoch || h != self.half_life_ns {
            *self = WeightCache {
                valid: true,
                base_ms: ms,
                epoch,
                half_life_ns: h,
                base_weight: decay.exponent(ms * Self::MS, epoch).exp2(),
            };
        }
        let x = (ts - ms * Self::MS) as f64 * (std::f64::consts::LN_2 / h as f64);
        self.base_weight * (1.0 + x * (1.0 + x * (0.5 + x * (1.0 / 6.0))))
    }
}

#[cfg(test)]
mod weight_cache_tests {
    use super::*;

    #[test]
    fn cached_weights_match_exp2() {
        let mut cache = WeightCache::default();
        let mut rng = fastrand::Rng::with_seed(11);
        for h in [1_000_000_000u64, 10_000_000_000, 600_000_000_000] {
            let decay = Decay {
                mode: DecayMode::Exponential,
                half_life: HalfLife::new(std::time::Duration::from_nanos(h)),
            };
            let epoch = 1_700_000_000_000_000_000;
            let mut ts = epoch;
            for _ in 0..20_000 {
                ts += rng.u64(0..300_000);
                let exact = decay.exponent(ts, epoch).exp2();
                let cached = cache.weight(decay, ts, epoch);
                assert!(
                    ((cached - exact) / exact).abs() < 1e-13,
                    "{h} {ts}: {cached} vs {exact}"
                );
            }
        }
    }
}
