//! Replay pacing: play a capture at its recorded speed, N times faster, or flat out.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How fast a replay runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// As fast as the machine can read (`--speed max`; always for `count`).
    Max,
    /// Packet time runs this many times faster than real time (`--speed 1` is real time).
    Times(f64),
}

impl Speed {
    /// Parses `max` or a positive factor.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "max" {
            return Ok(Speed::Max);
        }
        match text.trim_end_matches('x').parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(Speed::Times(f)),
            _ => Err("expected a positive number (1 = real time) or `max`".to_string()),
        }
    }
}

/// Check the clock at most this often in packet time: keeps `Instant::now` off the
/// per-packet path while pacing stays within a millisecond.
const CHECK_EVERY_NS: u64 = 1_000_000;
/// Sleep in slices this long so a stop request is seen quickly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// Sleeps so that records come out at their timestamps' pace.
#[derive(Debug)]
pub struct Pacer {
    speed: Speed,
    anchor: Option<(Instant, u64)>,
    next_check_ts: u64,
    published: Option<ReplayClock>,
}

/// The clock of a paced replay, shared with the frame side: packet time keeps
/// running between packets (so counts fade during a quiet stretch of a capture
/// as they did when it was recorded).
#[derive(Clone, Debug)]
pub struct ReplayClock {
    anchor: Arc<OnceLock<(Instant, u64)>>,
    factor: f64,
}

impl ReplayClock {
    /// A clock for a replay at `factor` times real time (not yet started).
    pub fn new(factor: f64) -> Self {
        ReplayClock {
            anchor: Arc::new(OnceLock::new()),
            factor,
        }
    }

    /// The packet time now, once the replay has started.
    pub fn now(&self) -> Option<u64> {
        let (wall, first) = *self.anchor.get()?;
        let ahead = wall.elapsed().as_secs_f64() * 1e9 * self.factor;
        Some(first.saturating_add(ahead.min(1e18) as u64))
    }
}

impl Pacer {
    /// A pacer for `speed`.
    pub fn new(speed: Speed) -> Self {
        Pacer {
            speed,
            anchor: None,
            next_check_ts: 0,
            published: None,
        }
    }

    /// A pacer that shares its clock through `clock` (see [`ReplayClock`]).
    pub fn with_clock(speed: Speed, clock: ReplayClock) -> Self {
        Pacer {
            published: Some(clock),
            ..Pacer::new(speed)
        }
    }

    /// The speed this pacer keeps.
    pub fn speed(&self) -> Speed {
        self.speed
    }

    /// Waits until packet time `ts` is due (returns at once for [`Speed::Max`]).
    /// Time going backwards never waits; `stop` cuts a long wait short.
    #[inline]
    pub fn pace(&mut self, ts: u64, stop: &AtomicBool) {
        let Speed::Times(factor) = self.speed else { return };
        let Some((wall, first)) = self.anchor else {
            let anchor = (Instant::now(), ts);
            self.anchor = Some(anchor);
            if let Some(clock) = &self.published {
                let _ = clock.anchor.set(anchor);
            }
            return;
        };
        if ts < self.next_check_ts {
            return;
        }
        self.next_check_ts = ts.saturating_add(CHECK_EVERY_NS);
        let ahead_ns = ts.saturating_sub(first) as f64 / factor;
        let due = wall + Duration::from_nanos(ahead_ns.min(1e18) as u64);
        loop {
            let now = Instant::now();
            if now >= due || stop.load(Relaxed) {
                return;
            }
            std::thread::sleep((due - now).min(SLEEP_SLICE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_speeds() {
        assert_eq!(Speed::parse("max"), Ok(Speed::Max));
        assert_eq!(Speed::parse("2"), Ok(Speed::Times(2.0)));
        assert_eq!(Speed::parse("0.5x"), Ok(Speed::Times(0.5)));
        assert!(Speed::parse("0").is_err());
        assert!(Speed::parse("-1").is_err());
        assert!(Speed::parse("fast").is_err());
    }

    #[test]
    fn max_speed_and_backwards_time_never_wait() {
        let stop = AtomicBool::new(false);
        let mut p = Pacer::new(Speed::Max);
        p.pace(u64::MAX, &stop);
        let mut p = Pacer::new(Speed::Times(1.0));
        p.pace(1_000_000_000_000, &stop);
        p.pace(1, &stop); // earlier than the anchor: due already
    }

    #[test]
    fn the_replay_clock_runs_from_the_first_packet() {
        let clock = ReplayClock::new(1000.0);
        assert_eq!(clock.now(), None);
        let mut p = Pacer::with_clock(Speed::Times(1000.0), clock.clone());
        p.pace(5_000_000_000, &AtomicBool::new(false));
        let now = clock.now().unwrap();
        assert!((5_000_000_000..65_000_000_000).contains(&now), "{now}");
    }

    #[test]
    fn a_stop_request_ends_a_long_wait() {
        let stop = AtomicBool::new(true);
        let mut p = Pacer::new(Speed::Times(1.0));
        p.pace(0, &stop);
        p.pace(3600 * 1_000_000_000, &stop); // an hour ahead, but stopped: returns
    }
}
