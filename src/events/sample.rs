//! Sampled packets for event detection and attribution: who sent what, kept
//! off the counting path.
//!
//! The maps count destinations only; naming the source of a line needs the
//! source address of the packets that drew it. Recording every packet would
//! cost the counting loop a second parse and a store per packet, so each
//! capture thread's [`Sampler`] takes every packet while its packet rate is
//! within a budget (by default 20,000 per second of packet time) and above it
//! one packet in about `N` at random (`N` the next power of two of rate /
//! budget), each sample standing for the packets since the one before it. The
//! loop pays one decrement and two compares per packet; the cold path
//! re-reads the addresses of the sampled frame only.
//!
//! Samples leave the thread in batches through a [`SampleQueue`], with the
//! thread's packet clock, so that the detector ([`super::Detector`]) can close
//! a second of packet time only once every busy source has passed it: events
//! are then a function of the packets, not of how fast they were read.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::maps::key_values;
use crate::parse::PacketFacts;

/// One sampled packet: what the maps know of it, its addresses, and how many
/// packets it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Packet time, ns since the Unix epoch.
    pub ts: u64,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The packet's keys, as [`key_values`] gives them.
    pub keys: [u16; 4],
    /// The packet's [`PacketFacts`] flags.
    pub flags: u8,
    /// Packets this sample stands for (1 when every packet is sampled).
    pub weight: u32,
}

impl Sample {
    /// A sample of a packet with `facts` from `src` to `dst`.
    pub fn new(ts: u64, facts: &PacketFacts, src: IpAddr, dst: IpAddr, weight: u32) -> Sample {
        Sample {
            ts,
            src,
            dst,
            keys: key_values(facts),
            flags: facts.flags,
            weight,
        }
    }

    /// The destination port, when the packet had a TCP or UDP header.
    pub fn port(&self) -> Option<u16> {
        (self.flags & PacketFacts::L4_PRESENT != 0).then_some(self.keys[1])
    }
}

/// Samples per second of packet time a capture thread takes every packet
/// up to (see the module comment).
pub const DEFAULT_BUDGET: u32 = 20_000;

/// Samples waiting in one queue before a thread that must not lose any waits
/// for the detector ([`Overflow::Wait`]) or drops them ([`Overflow::Drop`]).
const QUEUE_CAP: usize = 1 << 18;

/// Samples a thread gathers before it hands them over.
const BATCH: usize = 256;

/// Packet time after which a thread hands over what it has, however little.
const HAND_OVER_EVERY_NS: u64 = 250_000_000;

/// The longest packet time between samples: a thread whose rate fell after
/// a burst samples again within it, whatever its `N`.
const SAMPLE_AT_LEAST_EVERY_NS: u64 = 1_000_000_000;

/// Packet time over which a thread's rate is measured to choose its `N`.
const RATE_WINDOW_NS: u64 = 1_000_000_000;

/// What a full queue does to the thread that hands samples over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Waits for the detector: files and replays, whose events must not
    /// depend on how fast they were read.
    Wait,
    /// Drops the batch and counts it: live captures, which must never stall.
    Drop,
}

/// Every sampling thread's queue, for the detector to drain.
pub struct SampleHub {
    queues: Mutex<Vec<Arc<SampleQueue>>>,
    budget: u32,
    overflow: Overflow,
    /// Samples dropped because a queue was full ([`Overflow::Drop`]).
    dropped: AtomicU64,
}

/// One thread's handed-over samples and its packet clock.
struct SampleQueue {
    state: Mutex<QueueState>,
    /// Signalled when the detector drains the queue.
    drained: Condvar,
}

#[derive(Default)]
struct QueueState {
    samples: Vec<Sample>,
    /// The thread's packet clock when it last handed over (0: none yet).
    clock: u64,
    /// Whether the thread is counting: a finished source's queue no longer
    /// holds the watermark back.
    open: bool,
}

impl SampleQueue {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What one drain of the hub found: how far every busy thread has counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watermark {
    /// Packet time up to which every busy thread has handed its samples over.
    pub at: u64,
    /// Whether every thread has finished (nothing more will come).
    pub finished: bool,
}

/// Packet time a thread may fall behind the busiest one before the
/// detector stops waiting for it (an idle sFlow socket beside a capture).
const IDLE_BEHIND_NS: u64 = 5_000_000_000;

impl SampleHub {
    /// A hub whose samplers take every packet up to `budget` per second.
    pub fn new(budget: u32, overflow: Overflow) -> Arc<SampleHub> {
        Arc::new(SampleHub {
            queues: Mutex::new(Vec::new()),
            budget: budget.max(1),
            overflow,
            dropped: AtomicU64::new(0),
        })
    }

    /// A sampler for one capture thread, seeded by its place so that a
    /// replay samples the same packets every time.
    pub fn sampler(self: &Arc<Self>) -> Sampler {
        let queue = Arc::new(SampleQueue {
            state: Mutex::new(QueueState {
                open: true,
                ..QueueState::default()
            }),
            drained: Condvar::new(),
        });
        let seed = {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            queues.push(queue.clone());
            queues.len() as u64
        };
        Sampler {
            hub: self.clone(),
            queue,
            local: Vec::with_capacity(BATCH),
            left: 1,
            skip: 1,
            every: 1,
            rng: fastrand::Rng::with_seed(0x5ca9_3a11 ^ seed),
            deadline: 0,
            window_start: 0,
            window_packets: 0,
            handed_at: 0,
            clock: 0,
        }
    }

    /// Moves every queued sample into `out` and says how far the threads
    /// have counted. The watermark is the slowest open thread's clock,
    /// leaving out threads more than a few seconds behind the busiest
    /// (idle sockets); when no thread is open, the latest clock.
    pub fn drain(&self, out: &mut Vec<Sample>) -> Watermark {
        let queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let mut clocks = Vec::with_capacity(queues.len());
        for q in queues.iter() {
            let mut s = q.lock();
            out.append(&mut s.samples);
            clocks.push((s.clock, s.open));
            drop(s);
            q.drained.notify_all();
        }
        let latest = clocks.iter().map(|&(c, _)| c).max().unwrap_or(0);
        let busy = clocks
            .iter()
            .filter(|&&(c, open)| open && c.saturating_add(IDLE_BEHIND_NS) >= latest)
            .map(|&(c, _)| c)
            .min();
        Watermark {
            at: busy.unwrap_or(latest),
            finished: clocks.iter().all(|&(_, open)| !open),
        }
    }

    /// Samples dropped because the detector fell behind a live source.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

/// One capture thread's sampler (see the module comment).
pub struct Sampler {
    hub: Arc<SampleHub>,
    queue: Arc<SampleQueue>,
    local: Vec<Sample>,
    /// Packets until the next sample.
    left: u32,
    /// The gap drawn for the next sample: its weight when it comes on time.
    skip: u32,
    /// Mean packets per sample now.
    every: u32,
    rng: fastrand::Rng,
    /// Packet time by which the next sample is taken, whatever `left` says.
    deadline: u64,
    window_start: u64,
    window_packets: u64,
    handed_at: u64,
    clock: u64,
}

impl Sampler {
    /// Whether the packet being counted at `ts` is to be sampled: the only
    /// per-packet cost of attribution.
    #[inline(always)]
    pub fn due(&mut self, ts: u64) -> bool {
        self.left = self.left.wrapping_sub(1);
        self.left == 0 || ts >= self.deadline
    }

    /// Records the packet [`Sampler::due`] chose: `facts` from `src` to
    /// `dst` (`None` when the frame's addresses could not be read), standing
    /// for `repeat` packets itself (an sFlow sample or a flow record).
    #[cold]
    pub fn take(&mut self, ts: u64, facts: &PacketFacts, addresses: Option<(IpAddr, IpAddr)>, repeat: u32) {
        let since = self.skip.saturating_sub(self.left).max(1);
        let weight = since.saturating_mul(repeat.max(1));
        if let Some((src, dst)) = addresses {
            self.local.push(Sample::new(ts, facts, src, dst, weight));
        }
        self.adapt(ts, u64::from(weight));
        self.clock = self.clock.max(ts);
        if self.local.len() >= BATCH || ts >= self.handed_at.saturating_add(HAND_OVER_EVERY_NS) {
            self.hand_over();
        }
    }

    /// Chooses the next gap: measures the rate over a second of packet time
    /// and sets `every` to the next power of two of rate / budget.
    fn adapt(&mut self, ts: u64, packets: u64) {
        if ts < self.window_start || self.window_start == 0 {
            self.window_start = ts;
            self.window_packets = 0;
        }
        self.window_packets += packets;
        let span = ts - self.window_start;
        // A second, or sooner once the budget is spent: a burst is known at once.
        if span >= RATE_WINDOW_NS || self.window_packets >= u64::from(self.hub.budget) {
            let rate = self.window_packets as f64 * 1e9 / span.max(1_000_000) as f64;
            let want = (rate / f64::from(self.hub.budget))
                .ceil()
                .clamp(1.0, f64::from(1u32 << 20));
            self.every = (want as u32).next_power_of_two();
            self.window_start = ts;
            self.window_packets = 0;
        }
        self.skip = if self.every <= 1 {
            1
        } else {
            // Uniform over 1..2N: mean N, and no period for a sweep to alias with.
            self.rng.u32(1..2 * self.every)
        };
        self.left = self.skip;
        self.deadline = ts.saturating_add(SAMPLE_AT_LEAST_EVERY_NS);
    }

    /// Publishes the thread's packet clock (`clock`, the latest packet time
    /// counted) with what it has gathered: the counting side calls it when
    /// it flushes, so a quiet thread does not hold the detector back.
    pub fn publish(&mut self, clock: u64) {
        if clock > self.clock {
            self.clock = clock;
        }
        if !self.local.is_empty() || self.clock >= self.handed_at.saturating_add(HAND_OVER_EVERY_NS) {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        self.handed_at = self.clock;
        let mut state = self.queue.lock();
        while state.samples.len() + self.local.len() > QUEUE_CAP {
            match self.hub.overflow {
                Overflow::Drop => {
                    self.hub.dropped.fetch_add(self.local.len() as u64, Relaxed);
                    self.local.clear();
                    break;
                }
                Overflow::Wait => {
                    state = self
                        .queue
                        .drained
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        state.samples.append(&mut self.local);
        state.clock = state.clock.max(self.clock);
        state.open = true;
    }

    /// Hands everything over and marks the thread finished (its source
    /// ended); a later [`Sampler::reopen`] counts it again.
    pub fn close(&mut self) {
        self.hand_over();
        self.queue.lock().open = false;
    }

    /// Marks a finished thread's sampler busy again (a writer reused by
    /// the next source).
    pub fn reopen(&mut self) {
        self.queue.lock().open = true;
    }
}

impl Drop for Sampler {
    /// A source that ends drops its writer: its samples go to the detector
    /// and its clock stops holding the others back.
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn facts(dst_low16: u16) -> PacketFacts {
        PacketFacts {
            dst_low16,
            length: 60,
            port: 22,
            flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
        }
    }

    fn addrs() -> Option<(IpAddr, IpAddr)> {
        Some((
            Ipv4Addr::new(198, 51, 100, 7).into(),
            Ipv4Addr::new(10, 0, 1, 2).into(),
        ))
    }

    /// Offers `n` packets at `pps` from `start`; returns the samples drained.
    fn offer(s: &mut Sampler, hub: &SampleHub, start: u64, n: u64, pps: u64) -> (Vec<Sample>, Watermark) {
        let f = facts(0x0102);
        let mut ts = start;
        for i in 0..n {
            ts = start + i * 1_000_000_000 / pps;
            if s.due(ts) {
                s.take(ts, &f, addrs(), 1);
            }
        }
        s.publish(ts);
        let mut out = Vec::new();
        let w = hub.drain(&mut out);
        (out, w)
    }

    #[test]
    fn below_the_budget_every_packet_is_a_sample_of_one() {
        let hub = SampleHub::new(1000, Overflow::Wait);
        let mut s = hub.sampler();
        let (out, w) = offer(&mut s, &hub, 1_000_000_000, 500, 100);
        assert_eq!(out.len(), 500);
        assert!(out.iter().all(|x| x.weight == 1 && x.port() == Some(22)));
        assert_eq!(w.at, out.last().map(|x| x.ts).unwrap_or(0));
        assert!(!w.finished);
        s.close();
        assert!(hub.drain(&mut Vec::new()).finished);
    }

    #[test]
    fn above_the_budget_samples_stand_for_every_packet() {
        let hub = SampleHub::new(1000, Overflow::Wait);
        let mut s = hub.sampler();
        // 200,000 packets at 50,000 per second: 50 times the budget.
        let (out, _) = offer(&mut s, &hub, 1_000_000_000, 200_000, 50_000);
        let total: u64 = out.iter().map(|x| u64::from(x.weight)).sum();
        assert!(out.len() < 20_000, "{} samples", out.len());
        // The weights add up to the packets, give or take the gap drawn last.
        assert!((199_000..=200_000).contains(&total), "{total}");
        // The same packets give the same samples: a replay is the same.
        let hub2 = SampleHub::new(1000, Overflow::Wait);
        let mut s2 = hub2.sampler();
        let (again, _) = offer(&mut s2, &hub2, 1_000_000_000, 200_000, 50_000);
        assert_eq!(out, again);
    }

    #[test]
    fn after_a_burst_a_quiet_thread_samples_within_a_second() {
        let hub = SampleHub::new(100, Overflow::Wait);
        let mut s = hub.sampler();
        let (_, _) = offer(&mut s, &hub, 1_000_000_000, 100_000, 100_000);
        // Now one packet every 2 s: each is sampled despite a large N.
        let (out, _) = offer(&mut s, &hub, 10_000_000_000, 5, 1);
        assert!(out.len() >= 4, "{}", out.len());
    }

    #[test]
    fn a_full_queue_drops_for_live_sources_and_counts_it() {
        let hub = SampleHub::new(u32::MAX, Overflow::Drop);
        let mut s = hub.sampler();
        let f = facts(1);
        for i in 0..(QUEUE_CAP as u64 + 2 * BATCH as u64) {
            if s.due(i) {
                s.take(i, &f, addrs(), 1);
            }
        }
        s.publish(u64::MAX / 2);
        assert!(hub.dropped() > 0);
        let mut out = Vec::new();
        hub.drain(&mut out);
        assert!(out.len() <= QUEUE_CAP);
    }

    #[test]
    fn an_idle_thread_does_not_hold_the_watermark_back() {
        let hub = SampleHub::new(1000, Overflow::Wait);
        let mut busy = hub.sampler();
        let mut idle = hub.sampler();
        idle.publish(1_000_000_000);
        let (_, w) = offer(&mut busy, &hub, 2_000_000_000, 10, 10);
        assert_eq!(w.at, 1_000_000_000, "within the lag the slow one holds it");
        let (_, w) = offer(&mut busy, &hub, 20_000_000_000, 10, 10);
        assert!(w.at > 20_000_000_000, "{w:?}");
    }
}
