//! A shard: one capture thread's counter arrays, written by that thread alone.
//!
//! Every cell is atomic so readers may look at any time, but only the owning
//! [`ShardWriter`] stores to it, with plain relaxed load + store (no
//! read-modify-write, no lock, no lost increment). With decay the cell is an
//! `AtomicU64` holding the bits of an `f64` sum of weights (see
//! [`super::decay`]). Without decay a count is split in two: a 32-bit cell that
//! packets increment (half the cache footprint, which is what exact counting
//! spends its time on) and a 64-bit total that the 32-bit cells are folded into
//! before any of them could wrap, so counts stay exact for any run.
//!
//! Renormalisation (moving the epoch forward when weights grow large, or
//! switching half-life) rescales the shard's cells; readers detect it with a
//! sequence counter ([`SeqCount`]) and read again, so they never mix old and
//! new scales.
//!
//! With a baseline (the change view's slow reference), each map has a second
//! set of cells holding the same weighted sums with a long half-life and its
//! own epoch. They are allocated only when asked for, rebased under the same
//! sequence counter, and never touched by the `none` (exact count) path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use super::decay::{Decay, DecayMode, HalfLife, WeightCache};
use super::frame::peak;
use super::seqcount::SeqCount;
use crate::events::Sampler;
use crate::maps::{CELLS, MAPS, MapId, key_values};
use crate::parse::{PacketFacts, SkipReason};
use crate::prefetch::{CACHE_LINE, prefetch};

/// Cells per map slot: the 65,536 cells plus one that absorbs the packets the
/// map does not count, so the counting loop has no data-dependent branch.
const STRIDE: usize = CELLS + 1;

/// One map's cells in a shard. A fixed-size array, so indexing it with a
/// 16-bit key (or the spare cell) needs no bounds check in the hot loop.
type Slot = [AtomicU64; STRIDE];
/// One map's recent exact counts (see the module comment): 32 bits a cell.
type LowSlot = [AtomicU32; CELLS];

/// How one shard's read of a map into a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ShardRead {
    /// The shard does not count it (or keeps no baseline).
    NotCounted,
    /// Written or added, consistent.
    Done,
    /// An add that a rescale or fold overlapped: what it added is not to be trusted.
    Overlapped,
}

/// One shard's weighted sums of one map, opened for a frame's read by
/// [`Shard::open_sums`]: the cells, the factor that decays them to the frame's
/// packet time, and the sequence count the read is checked against after.
pub(super) struct OpenSums<'a> {
    sequence: &'a SeqCount,
    pub(super) before: u64,
    cells: &'a [AtomicU64],
    pub(super) factor: f64,
}

impl OpenSums<'_> {
    /// Whether no rescale overlapped the read since the sums were opened.
    fn unchanged(&self) -> bool {
        self.sequence.read_unchanged(self.before)
    }
}

/// Writes into `out` (or with `add` adds to it) the decayed values of
/// `first`'s cells plus, in the same pass, `second`'s: reading two shards in
/// one loop writes each frame cell once for both, where a shard at a time
/// wrote it and then read and wrote it again (the frame's read is bound by
/// memory traffic). Returns the largest value `out` holds after the pass
/// ([`peak`], found block by block while the block is in the first-level
/// cache, so the paper scale need not read the map again), or `None` when a
/// rescale overlapped either shard, and what was written is not to be trusted.
pub(super) fn read_sums(
    out: &mut [f32],
    add: bool,
    first: &OpenSums<'_>,
    second: Option<&OpenSums<'_>>,
) -> Option<f32> {
    let value = |c: &AtomicU64, factor: f64| f64::from_bits(c.load(Relaxed)) * factor;
    let fa = first.factor;
    let len = out.len().min(first.cells.len());
    let mut highest = 0f32;
    for at in (0..len).step_by(READ_BLOCK) {
        for line in (READ_AHEAD..READ_AHEAD + READ_BLOCK).step_by(CELLS_PER_LINE) {
            prefetch(first.cells, at + line);
            if let Some(b) = second {
                prefetch(b.cells, at + line);
            }
        }
        let end = (at + READ_BLOCK).min(len);
        let cells = out[at..end].iter_mut().zip(&first.cells[at..end]);
        // One loop per case, so none has a branch per cell.
        match (second, add) {
            (Some(b), false) => cells
                .zip(&b.cells[at..])
                .for_each(|((o, x), y)| *o = (value(x, fa) + value(y, b.factor)) as f32),
            (Some(b), true) => cells
                .zip(&b.cells[at..])
                .for_each(|((o, x), y)| *o += (value(x, fa) + value(y, b.factor)) as f32),
            (None, false) => cells.for_each(|(o, x)| *o = value(x, fa) as f32),
            (None, true) => cells.for_each(|(o, x)| *o += value(x, fa) as f32),
        }
        let block = peak(&out[at..end]);
        highest = if block > highest { block } else { highest };
    }
    (first.unchanged() && second.is_none_or(OpenSums::unchanged)).then_some(highest)
}

/// Cells a frame's read converts per step ([`read_sums`]), and how far
/// ahead of them it asks for the shards' cells ([`crate::prefetch`]).
const READ_BLOCK: usize = 64;
const READ_AHEAD: usize = 512;
/// 64-bit cells per cache line.
const CELLS_PER_LINE: usize = CACHE_LINE / std::mem::size_of::<AtomicU64>();

fn zeroed_slot() -> Box<Slot> {
    zeroed_cells(|| AtomicU64::new(0))
}

fn zeroed_cells<T, const N: usize>(zero: impl Fn() -> T) -> Box<[T; N]> {
    let cells: Box<[T]> = (0..N).map(|_| zero()).collect();
    match cells.try_into() {
        Ok(slot) => slot,
        Err(_) => unreachable!("the slot was built with N cells"),
    }
}

/// Packets counted into the 32-bit cells before they are folded: each packet
/// adds at most one to a cell, so no cell can pass `u32::MAX` before then.
const FOLD_AFTER_PACKETS: u64 = u32::MAX as u64;

/// Weights are rebased once they exceed 2^RENORM_EXPONENT (f64 keeps 53 bits of
/// relative precision at any scale, so this only bounds the exponent range).
const RENORM_EXPONENT: f64 = 64.0;
/// Beyond this many halvings every old value is below f64's smallest number.
const FORGET_EXPONENT: f64 = 1100.0;

/// Counter arrays of one writer thread, readable by anyone.
pub struct Shard {
    maps: Box<[MapId]>,
    /// Per map: `f64` weighted sums with decay, 64-bit exact totals without.
    slots: Box<[Box<Slot>]>,
    /// Per map, exact counting only: the 32-bit recent counts (empty with decay).
    low: Box<[Box<LowSlot>]>,
    map_packets: Box<[AtomicU64]>,
    packets: AtomicU64,
    skipped: [AtomicU64; SkipReason::ALL.len()],
    /// Latest packet timestamp (ns since the Unix epoch); 0 before the first packet.
    last_ts: AtomicU64,
    /// Earliest packet timestamp; `u64::MAX` before the first packet.
    first_ts: AtomicU64,
    epoch: AtomicU64,
    half_life_ns: AtomicU64,
    /// Odd while the writer rescales or folds the cells (see [`SeqCount`]).
    sequence: SeqCount,
    mode: DecayMode,
    /// Set by a reader to ask for a new half-life; the writer applies it.
    requested_half_life_ns: Arc<AtomicU64>,
    /// The slow baseline's cells, when enabled (exponential decay only).
    baseline: Option<Baseline>,
}

/// A second decay of every map with a long, fixed half-life: the same
/// weighted-sum trick as the main cells, with its own epoch.
struct Baseline {
    slots: Box<[Box<Slot>]>,
    epoch: AtomicU64,
    decay: Decay,
}

impl Shard {
    pub(super) fn new(
        maps: &[MapId],
        decay: Decay,
        baseline: Option<HalfLife>,
        requested: Arc<AtomicU64>,
    ) -> Self {
        let baseline = baseline
            .filter(|_| decay.mode != DecayMode::None)
            .map(|half_life| Baseline {
                slots: maps.iter().map(|_| zeroed_slot()).collect(),
                epoch: AtomicU64::new(0),
                decay: Decay {
                    mode: DecayMode::Exponential,
                    half_life,
                },
            });
        let zeros = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect::<Box<[_]>>();
        Shard {
            maps: maps.into(),
            slots: maps.iter().map(|_| zeroed_slot()).collect(),
            low: if decay.mode == DecayMode::None {
                maps.iter().map(|_| zeroed_cells(|| AtomicU32::new(0))).collect()
            } else {
                Box::default()
            },
            map_packets: zeros(maps.len()),
            packets: AtomicU64::new(0),
            skipped: std::array::from_fn(|_| AtomicU64::new(0)),
            last_ts: AtomicU64::new(0),
            first_ts: AtomicU64::new(u64::MAX),
            epoch: AtomicU64::new(0),
            half_life_ns: AtomicU64::new(decay.half_life.as_nanos()),
            sequence: SeqCount::new(),
            mode: decay.mode,
            requested_half_life_ns: requested,
            baseline,
        }
    }

    fn slot(&self, map: MapId) -> Option<usize> {
        self.maps.iter().position(|&m| m == map)
    }

    fn decay(&self, half_life_ns: u64) -> Decay {
        Decay {
            mode: self.mode,
            half_life: HalfLife::new(std::time::Duration::from_nanos(half_life_ns)),
        }
    }

    /// Writes this shard's exact counts of every cell of `map` (decay `none`)
    /// into `out` (65,536 cells), or with `add` adds them to what is there.
    /// An overwrite that overlaps a fold is simply read again; an add cannot
    /// be, and says [`ShardRead::Overlapped`] instead. With decay the cells
    /// are read through [`Shard::open_sums`].
    pub(super) fn read_exact_counts(&self, map: MapId, out: &mut [f32], add: bool) -> ShardRead {
        match self.slot(map) {
            Some(slot) if self.mode == DecayMode::None => self.read_exact(slot, out, add, |v| v as f32),
            _ => ShardRead::NotCounted,
        }
    }

    /// Opens the weighted sums of `map` (its cells, or with `baseline` its
    /// baseline) for a frame's read at packet time `at`, once no rescale is
    /// under way. `None` when the shard does not count the map, keeps no
    /// baseline, or counts exactly (no weights).
    pub(super) fn open_sums(&self, map: MapId, baseline: bool, at: u64) -> Option<OpenSums<'_>> {
        let slot = self.slot(map)?;
        if self.mode == DecayMode::None {
            return None;
        }
        let (cells, exponent): (&Slot, &dyn Fn() -> f64) = match (baseline, &self.baseline) {
            (false, _) => (&self.slots[slot], &|| {
                self.decay(self.half_life_ns.load(Relaxed))
                    .exponent(at, self.epoch.load(Relaxed))
            }),
            (true, Some(b)) => (&b.slots[slot], &|| b.decay.exponent(at, b.epoch.load(Relaxed))),
            (true, None) => return None,
        };
        let before = self.sequence.read_begin();
        // Inside the protected section: a rescale moves the epoch.
        let factor = (-exponent()).exp2();
        Some(OpenSums {
            sequence: &self.sequence,
            before,
            cells: &cells[..CELLS],
            factor,
        })
    }

    /// Runs `read` until no rescale or fold overlapped it (sequence counter):
    /// a rescale is rare (hours apart) and takes about a millisecond, so a
    /// reader that overlaps one reads again. With `once`, for a read that adds
    /// into what it writes and so cannot run again, runs it a single time and
    /// says whether it was overlapped.
    fn consistently(&self, once: bool, mut read: impl FnMut()) -> ShardRead {
        if !once {
            self.sequence.read(read);
            return ShardRead::Done;
        }
        let before = self.sequence.read_begin();
        read();
        if self.sequence.read_unchanged(before) {
            ShardRead::Done
        } else {
            ShardRead::Overlapped
        }
    }

    /// Writes (or with `add` adds) the exact counts of `slot` (64-bit total
    /// plus 32-bit recent count, decay `none` only) through `convert` into `out`.
    fn read_exact<T: Copy + SaturatingSum>(
        &self,
        slot: usize,
        out: &mut [T],
        add: bool,
        convert: impl Fn(u64) -> T,
    ) -> ShardRead {
        let (high, low) = (&self.slots[slot][..CELLS], &self.low[slot][..CELLS]);
        self.consistently(add, || {
            let cells = out.iter_mut().zip(high).zip(low);
            let value = |h: &AtomicU64, l: &AtomicU32| {
                convert(h.load(Relaxed).saturating_add(u64::from(l.load(Relaxed))))
            };
            if add {
                cells.for_each(|((o, h), l)| *o = o.saturating_sum(value(h, l)));
            } else {
                cells.for_each(|((o, h), l)| *o = value(h, l));
            }
        })
    }

    /// Exact totals of `map` (decay `none`; rounded sums otherwise), written
    /// into `out` or with `add` added, as [`Shard::read_exact_counts`] does.
    pub(super) fn read_totals(&self, map: MapId, out: &mut [u64], add: bool) -> ShardRead {
        let Some(slot) = self.slot(map) else {
            return ShardRead::NotCounted;
        };
        if self.mode == DecayMode::None {
            return self.read_exact(slot, out, add, |v| v);
        }
        let rounded = |c: &AtomicU64| f64::from_bits(c.load(Relaxed)).round() as u64;
        let cells = out.iter_mut().zip(&self.slots[slot][..CELLS]);
        if add {
            cells.for_each(|(o, c)| *o = o.saturating_add(rounded(c)));
        } else {
            cells.for_each(|(o, c)| *o = rounded(c));
        }
        ShardRead::Done
    }

    pub(super) fn packets(&self) -> u64 {
        self.packets.load(Relaxed)
    }

    pub(super) fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped[reason.index()].load(Relaxed)
    }

    pub(super) fn map_packets(&self, map: MapId) -> u64 {
        self.slot(map).map_or(0, |s| self.map_packets[s].load(Relaxed))
    }

    pub(super) fn last_ts(&self) -> Option<u64> {
        Some(self.last_ts.load(Relaxed)).filter(|&t| t != 0)
    }

    pub(super) fn first_ts(&self) -> Option<u64> {
        Some(self.first_ts.load(Relaxed)).filter(|&t| t != u64::MAX)
    }
}

/// The only writer of one [`Shard`]: what a capture thread counts into.
pub struct ShardWriter {
    shard: Arc<Shard>,
    /// Per slot: the flags a packet needs and which key it uses, for the hot loop.
    plans: Box<[(u8, usize)]>,
    /// The same plans grouped by the flags they need: the packets a filter
    /// passes are found once for all the maps that share it.
    filters: Box<[FilterPlan]>,
    weight: f64,
    weight_ts: u64,
    /// Writer-local copies of the shard's first and last timestamps, so that
    /// publishing the clock costs no atomic load per packet.
    first_ts: u64,
    last_ts: u64,
    started: bool,
    baseline_started: bool,
    half_life_ns: u64,
    /// Weight of a packet in the baseline cells (unused without a baseline).
    baseline_weight: f64,
    /// Packets whose cells are not yet updated (see [`Pending`]).
    pending: Box<Pending>,
    /// Weights per millisecond of packet time, for the cells and the baseline.
    weights: WeightCache,
    baseline_weights: WeightCache,
    /// Exact counting: packets counted into the 32-bit cells since their last fold.
    unfolded: u64,
    /// Exact counting (decay `none`): no weights, 32-bit cells.
    exact: bool,
    /// Event attribution's sampler, when events are detected.
    sampler: Option<Box<Sampler>>,
}

/// Maps that count the same packets (the same required flags).
struct FilterPlan {
    need: u8,
    /// Each map's slot in the shard and which of the packet's keys it uses.
    maps: Box<[(usize, usize)]>,
}

impl FilterPlan {
    /// `plans` (per slot: flags needed, key) grouped by flags, in first-seen order.
    fn group(plans: &[(u8, usize)]) -> Box<[FilterPlan]> {
        let mut groups: Vec<FilterPlan> = Vec::new();
        for (slot, &(need, key)) in plans.iter().enumerate() {
            match groups.iter_mut().find(|g| g.need == need) {
                Some(g) => g.maps = g.maps.iter().copied().chain([(slot, key)]).collect(),
                None => groups.push(FilterPlan {
                    need,
                    maps: Box::new([(slot, key)]),
                }),
            }
        }
        groups.into_boxed_slice()
    }
}

/// Packets buffered before their cells are updated, map by map.
///
/// Updating one map for a batch of packets is a short loop whose cache misses
/// overlap; updating every map per packet is a long one whose misses do not.
/// The batch is flushed when full, before any rebase, and by the source at the
/// end of a read or when it would wait for input ([`ShardWriter::flush`]).
struct Pending {
    keys: [[u16; 4]; BATCH],
    /// Weighted sums: each packet's flags, scanned per filter ([`Pending::select`]),
    /// so packets reach a cell in the order they came (the sums of floats
    /// depend on it). Exact counts use the buckets below instead.
    flags: [u8; BATCH],
    weight: [f64; BATCH],
    baseline_weight: [f64; BATCH],
    len: usize,
    /// Exact counting: the positions of the batch's packets sorted by their
    /// flags as they are added (one bucket per value of the flag bits), so a
    /// map's packets are the buckets whose flags it needs, found without
    /// reading every packet's flags again per filter.
    buckets: [[u8; BATCH]; FLAG_VALUES],
    bucket_len: [u8; FLAG_VALUES],
    /// Bit `f` set: bucket `f` holds packets in this batch.
    filled: u32,
}

/// Values of [`PacketFacts::flags`]: five bits.
const FLAG_VALUES: usize = 32;

impl Pending {
    /// Adds to `slot` the `weight` of each packet at a position in `found`,
    /// in the cell its `key` picks (single writer: load, add, store).
    #[inline(always)]
    fn add_weights(&self, slot: &Slot, found: &[u8], key: usize, weight: &[f64; BATCH]) {
        let key = key & 3;
        for &i in found {
            let i = usize::from(i) & (BATCH - 1);
            let cell = &slot[usize::from(self.keys[i][key])];
            cell.store(
                (f64::from_bits(cell.load(Relaxed)) + weight[i]).to_bits(),
                Relaxed,
            );
        }
    }

    /// [`Pending::add_weights`] of the packets' weights to `slot` and of their
    /// baseline weights to `base`, in one pass.
    #[inline(always)]
    fn add_weights_twice(&self, slot: &Slot, base: &Slot, found: &[u8], key: usize) {
        let key = key & 3;
        for &i in found {
            let i = usize::from(i) & (BATCH - 1);
            let at = usize::from(self.keys[i][key]);
            let (cell, b) = (&slot[at], &base[at]);
            cell.store(
                (f64::from_bits(cell.load(Relaxed)) + self.weight[i]).to_bits(),
                Relaxed,
            );
            b.store(
                (f64::from_bits(b.load(Relaxed)) + self.baseline_weight[i]).to_bits(),
                Relaxed,
            );
        }
    }

    /// Files the packet at position `i` (flags `flags`) in its bucket.
    #[inline(always)]
    fn file(&mut self, i: usize, flags: u8) {
        let f = usize::from(flags) & (FLAG_VALUES - 1);
        let len = &mut self.bucket_len[f];
        self.buckets[f][usize::from(*len) & (BATCH - 1)] = i as u8;
        *len = len.wrapping_add(1);
        self.filled |= 1 << f;
    }

    /// The filled buckets whose packets have the `need` flags, as a set of
    /// bucket numbers.
    #[inline(always)]
    fn buckets_with(&self, need: u8) -> u32 {
        let mut set = 0;
        let mut left = self.filled;
        while left != 0 {
            let f = left.trailing_zeros();
            left &= left - 1;
            if f as u8 & need == need {
                set |= 1 << f;
            }
        }
        set
    }

    /// Empties the buckets for the next batch.
    #[inline(always)]
    fn clear_buckets(&mut self) {
        let mut left = self.filled;
        while left != 0 {
            let f = left.trailing_zeros() as usize;
            left &= left - 1;
            self.bucket_len[f] = 0;
        }
        self.filled = 0;
    }

    /// The positions of the first `n` buffered packets that have the `need`
    /// flags, packed at the front of `found` without a branch; returns how many.
    #[inline(always)]
    fn select(&self, n: usize, need: u8, found: &mut [u8; BATCH]) -> usize {
        let mut m = 0;
        for (i, &flags) in self.flags.iter().enumerate().take(n) {
            // m <= i < BATCH: the mask only spares a bounds check.
            found[m & (BATCH - 1)] = i as u8;
            m += usize::from(flags & need == need);
        }
        m
    }
}

/// Packets per batch: large enough to overlap misses, small enough for L1.
const BATCH: usize = 128;

impl ShardWriter {
    pub(super) fn new(shard: Arc<Shard>) -> Self {
        let plans: Box<[(u8, usize)]> = shard
            .maps
            .iter()
            .map(|&m| (MAPS[m].filter.required_flags(), MAPS[m].key.index()))
            .collect();
        let half_life_ns = shard.half_life_ns.load(Relaxed);
        let exact = shard.mode == DecayMode::None;
        ShardWriter {
            filters: FilterPlan::group(&plans),
            shard,
            plans,
            weight: 1.0,
            weight_ts: u64::MAX,
            first_ts: u64::MAX,
            last_ts: 0,
            started: false,
            baseline_started: false,
            half_life_ns,
            baseline_weight: 1.0,
            pending: Box::new(Pending {
                keys: [[0; 4]; BATCH],
                flags: [0; BATCH],
                weight: [0.0; BATCH],
                baseline_weight: [0.0; BATCH],
                len: 0,
                buckets: [[0; BATCH]; FLAG_VALUES],
                bucket_len: [0; FLAG_VALUES],
                filled: 0,
            }),
            weights: WeightCache::default(),
            baseline_weights: WeightCache::default(),
            unfolded: 0,
            exact,
            sampler: None,
        }
    }

    /// Gives this writer a sampler (events are detected): the capture
    /// thread offers it the packets it counts.
    pub(super) fn set_sampler(&mut self, sampler: Sampler) {
        self.sampler = Some(Box::new(sampler));
    }

    /// The sampler, when events are detected.
    #[inline(always)]
    pub fn sampler(&mut self) -> Option<&mut Sampler> {
        self.sampler.as_deref_mut()
    }

    /// The latest packet time this writer counted (0 before any).
    pub fn clock(&self) -> u64 {
        self.last_ts
    }

    /// Counts one packet seen at `ts` (ns on the packet clock). Its cells are
    /// updated with its batch; call [`ShardWriter::flush`] when input pauses.
    #[inline(always)]
    pub fn add(&mut self, ts: u64, facts: &PacketFacts) {
        if ts != self.weight_ts {
            if self.exact {
                // No weights to recompute: only the clock moves.
                self.weight_ts = ts;
                self.observe(ts);
            } else {
                self.advance_clock(ts);
            }
        }
        let p = &mut *self.pending;
        let i = p.len;
        if i >= BATCH {
            return self.flush_then_add(ts, facts);
        }
        p.keys[i] = key_values(facts);
        if self.exact {
            p.file(i, facts.flags);
        } else {
            p.flags[i] = facts.flags;
            p.weight[i] = self.weight;
            p.baseline_weight[i] = self.baseline_weight;
        }
        p.len = i + 1;
        if p.len == BATCH {
            self.flush();
        }
    }

    #[cold]
    fn flush_then_add(&mut self, ts: u64, facts: &PacketFacts) {
        self.flush();
        self.add(ts, facts);
    }

    /// Updates the cells of every buffered packet, map by map. Sources call it
    /// at the end of a read and before waiting for input, so the picture never
    /// lags behind the packets read.
    pub fn flush(&mut self) {
        if let Some(s) = self.sampler.as_deref_mut() {
            s.publish(self.last_ts);
        }
        let n = self.pending.len.min(BATCH);
        if n == 0 {
            return;
        }
        // Buffered packets are published with their cells, so no reader sees
        // a packet total ahead of the maps.
        let packets = &self.shard.packets;
        packets.store(packets.load(Relaxed).wrapping_add(n as u64), Relaxed);
        if self.exact {
            self.flush_exact(n);
        } else {
            self.flush_weighted(n);
        }
        self.pending.len = 0;
    }

    /// Exact counts: per filter, the buckets of packets it passes (every
    /// packet for the unfiltered maps), then increment those packets' 32-bit
    /// cells in each map that uses the filter. (Sending uncounted
    /// packets to a spare cell instead makes one long chain of updates to a
    /// single address: far slower.)
    fn flush_exact(&mut self, n: usize) {
        if self.unfolded + n as u64 > FOLD_AFTER_PACKETS {
            fold(&self.shard);
            self.unfolded = 0;
        }
        self.unfolded += n as u64;
        let (p, shard) = (&*self.pending, &*self.shard);
        for filter in self.filters.iter() {
            let buckets = p.buckets_with(filter.need);
            // Map by map: each map's updates form one short loop whose cache
            // misses overlap (measured faster than every map per packet).
            for &(slot, key) in filter.maps.iter() {
                let (Some(low), Some(counter)) = (shard.low.get(slot), shard.map_packets.get(slot)) else {
                    continue;
                };
                // The cells' address, held once: read through the box, it
                // would be loaded again after every store to a cell.
                let low: &LowSlot = low;
                let key = key & 3;
                let m = if filter.need == 0 {
                    for keys in &p.keys[..n] {
                        bump32(&low[usize::from(keys[key])]);
                    }
                    n
                } else {
                    let mut m = 0;
                    let mut left = buckets;
                    while left != 0 {
                        let f = left.trailing_zeros() as usize & (FLAG_VALUES - 1);
                        left &= left - 1;
                        let bucket = &p.buckets[f][..usize::from(p.bucket_len[f]).min(BATCH)];
                        for &i in bucket {
                            bump32(&low[usize::from(p.keys[usize::from(i) & (BATCH - 1)][key])]);
                        }
                        m += bucket.len();
                    }
                    m
                };
                counter.store(counter.load(Relaxed) + m as u64, Relaxed);
            }
        }
        self.pending.clear_buckets();
    }

    /// Weighted sums: as [`ShardWriter::flush_exact`], adding each packet's
    /// weight, to the cells and then to the baseline with the same packets.
    fn flush_weighted(&mut self, n: usize) {
        let (p, shard) = (&*self.pending, &*self.shard);
        let mut found = [0u8; BATCH];
        for filter in self.filters.iter() {
            let m = p.select(n, filter.need, &mut found);
            let found = &found[..m];
            for &(slot, key) in filter.maps.iter() {
                let (Some(cells), Some(counter)) = (shard.slots.get(slot), shard.map_packets.get(slot))
                else {
                    continue;
                };
                counter.store(counter.load(Relaxed) + m as u64, Relaxed);
                match shard.baseline.as_ref().and_then(|b| b.slots.get(slot)) {
                    // The same cell of both: one pass, one key lookup.
                    Some(base) => p.add_weights_twice(cells, base, found, key),
                    None => p.add_weights(cells, found, key, &p.weight),
                }
            }
        }
    }

    /// Counts `count` identical packets seen at `ts`, as one update: for
    /// sampled sources (1-in-N packet sampling counts each sample N times) and
    /// for building large synthetic loads in tests without N calls.
    pub fn add_repeated(&mut self, ts: u64, facts: &PacketFacts, count: u32) {
        if count == 0 {
            return;
        }
        self.flush();
        if ts != self.weight_ts {
            self.advance_clock(ts);
        }
        let shard = &*self.shard;
        let n = u64::from(count);
        shard
            .packets
            .store(shard.packets.load(Relaxed).wrapping_add(n), Relaxed);
        let keys = key_values(facts);
        for ((&(need, key), slot), counter) in self
            .plans
            .iter()
            .zip(shard.slots.iter())
            .zip(shard.map_packets.iter())
        {
            if facts.flags & need != need {
                continue;
            }
            counter.store(counter.load(Relaxed) + n, Relaxed);
            let cell = &slot[usize::from(keys[key & 3])];
            if shard.mode == DecayMode::None {
                cell.store(cell.load(Relaxed) + n, Relaxed);
            } else {
                let v = f64::from_bits(cell.load(Relaxed)) + self.weight * f64::from(count);
                cell.store(v.to_bits(), Relaxed);
            }
        }
        if let Some(b) = &shard.baseline {
            add_weight(
                &self.plans,
                &b.slots,
                facts,
                &keys,
                self.baseline_weight * f64::from(count),
            );
        }
    }

    /// Adds `count` packets seen at `ts` to cell `key` of `map` (and its
    /// baseline), and to the map's packet total: how counts counted elsewhere
    /// (a remote sensor's deltas) are merged. `None`, adding nothing, when
    /// this shard does not count `map`; otherwise whether an exact count
    /// stopped at 2^64 - 1 rather than wrap (remote counts are not trusted
    /// to stay small). Call [`ShardWriter::add_totals`] once per delta for
    /// the packet and skip totals.
    pub fn add_cell(&mut self, ts: u64, map: MapId, key: u16, count: u64) -> Option<bool> {
        let slot = self.shard.slot(map)?;
        if count == 0 {
            return Some(false);
        }
        self.flush();
        if ts != self.weight_ts {
            self.advance_clock(ts);
        }
        let shard = &*self.shard;
        let counter = &shard.map_packets[slot];
        counter.store(counter.load(Relaxed).saturating_add(count), Relaxed);
        let cell = &shard.slots[slot][usize::from(key)];
        let mut saturated = false;
        if shard.mode == DecayMode::None {
            // The cell's full count is this high part plus the 32-bit low
            // part folded into it: saturate the sum, not only this part.
            let low = u64::from(shard.low[slot][usize::from(key)].load(Relaxed));
            let high = cell.load(Relaxed);
            let room = u64::MAX - high.saturating_add(low);
            saturated = count > room;
            cell.store(high.saturating_add(count.min(room)), Relaxed);
        } else {
            let v = f64::from_bits(cell.load(Relaxed)) + self.weight * count as f64;
            cell.store(v.to_bits(), Relaxed);
        }
        if let Some(b) = &shard.baseline {
            let cell = &b.slots[slot][usize::from(key)];
            let v = f64::from_bits(cell.load(Relaxed)) + self.baseline_weight * count as f64;
            cell.store(v.to_bits(), Relaxed);
        }
        Some(saturated)
    }

    /// Adds packet totals counted elsewhere at `ts`: `packets` handed to
    /// counting and, per [`SkipReason`], those skipped (merged sensor deltas).
    pub fn add_totals(&mut self, ts: u64, packets: u64, skipped: &[(SkipReason, u64)]) {
        self.flush();
        self.observe(ts);
        let shard = &*self.shard;
        shard
            .packets
            .store(shard.packets.load(Relaxed).saturating_add(packets), Relaxed);
        for &(reason, n) in skipped {
            let c = &shard.skipped[reason.index()];
            c.store(c.load(Relaxed).saturating_add(n), Relaxed);
        }
    }

    /// Sets one exact cell's count as if `count` packets had just been counted
    /// into it, so tests can reach the 32-bit fold without billions of packets.
    #[cfg(test)]
    pub(super) fn preload_for_test(&mut self, map: MapId, key: u16, count: u32) {
        self.flush();
        if let Some(slot) = self.shard.slot(map) {
            self.shard.slots[slot][usize::from(key)].store(0, Relaxed);
            self.shard.low[slot][usize::from(key)].store(count, Relaxed);
            self.unfolded = self.unfolded.max(u64::from(count));
        }
    }

    /// Counts one packet that landed in no map, by reason.
    #[inline]
    pub fn skip(&mut self, ts: u64, reason: SkipReason) {
        bump(&self.shard.packets);
        bump(&self.shard.skipped[reason.index()]);
        self.observe(ts);
    }

    /// Publishes a packet's time as the shard's clock when it extends it.
    #[inline(always)]
    fn observe(&mut self, ts: u64) {
        if ts > self.last_ts {
            self.last_ts = ts;
            self.shard.last_ts.store(ts, Relaxed);
        }
        if ts < self.first_ts {
            self.first_ts = ts;
            self.shard.first_ts.store(ts, Relaxed);
        }
    }

    /// Moves the shard's clock: publishes the timestamp and recomputes the weight,
    /// rebasing the cells first when the weight would grow too large or a new
    /// half-life was asked for.
    #[inline]
    fn advance_clock(&mut self, ts: u64) {
        self.weight_ts = ts;
        self.observe(ts);
        if self.shard.mode == DecayMode::None {
            return;
        }
        if !self.started {
            self.started = true;
            let epoch = self.shard.decay(self.half_life_ns).epoch_for(ts);
            self.shard.epoch.store(epoch, Relaxed);
        }
        let requested = self.shard.requested_half_life_ns.load(Relaxed);
        let exponent = self
            .shard
            .decay(self.half_life_ns)
            .exponent(ts, self.shard.epoch.load(Relaxed));
        if requested != self.half_life_ns || exponent > RENORM_EXPONENT {
            // Buffered packets carry weights of the old epoch: apply them first.
            self.flush();
            rebase(&self.shard, self.half_life_ns, ts, requested);
            self.half_life_ns = requested;
        }
        let shard = &*self.shard;
        self.weight = self
            .weights
            .weight(shard.decay(self.half_life_ns), ts, shard.epoch.load(Relaxed));
        let Some(b) = &shard.baseline else { return };
        if !self.baseline_started {
            self.baseline_started = true;
            b.epoch.store(b.decay.epoch_for(ts), Relaxed);
        }
        if b.decay.exponent(ts, b.epoch.load(Relaxed)) > RENORM_EXPONENT {
            self.flush();
            if let Some(b) = &self.shard.baseline {
                rebase_baseline(&self.shard, b, ts);
            }
        }
        if let Some(b) = &self.shard.baseline {
            self.baseline_weight = self.baseline_weights.weight(b.decay, ts, b.epoch.load(Relaxed));
        }
    }
}

impl Drop for ShardWriter {
    fn drop(&mut self) {
        // No increment is lost when a source ends.
        self.flush();
    }
}

/// Adds `weight` to the cell each map's plan picks (the baseline's loop;
/// packets a map does not count go to its spare cell, as in the main loop).
#[inline]
fn add_weight(plans: &[(u8, usize)], slots: &[Box<Slot>], facts: &PacketFacts, keys: &[u16; 4], weight: f64) {
    for (&(need, key), slot) in plans.iter().zip(slots.iter()) {
        let counted = facts.flags & need == need;
        let cell = &slot[if counted {
            usize::from(keys[key & 3])
        } else {
            CELLS
        }];
        cell.store((f64::from_bits(cell.load(Relaxed)) + weight).to_bits(), Relaxed);
    }
}

/// Adds every 32-bit cell into its 64-bit total and clears it, under the
/// sequence counter (readers of exact counts read again). About a millisecond,
/// once per 2^32 packets.
fn fold(shard: &Shard) {
    shard.sequence.write(|| {
        for (high, low) in shard.slots.iter().zip(shard.low.iter()) {
            for (h, l) in high.iter().zip(low.iter()) {
                h.store(
                    h.load(Relaxed).saturating_add(u64::from(l.load(Relaxed))),
                    Relaxed,
                );
                l.store(0, Relaxed);
            }
        }
    });
}

/// Moves the baseline's epoch forward to `ts`, rescaling its cells, under the
/// shard's sequence counter (readers of either set of cells read again).
fn rebase_baseline(shard: &Shard, b: &Baseline, ts: u64) {
    let old_epoch = b.epoch.load(Relaxed);
    let new_epoch = b.decay.epoch_for(ts.max(old_epoch));
    let shift = b.decay.exponent(new_epoch, old_epoch);
    rescale(shard, &b.slots, shift, || b.epoch.store(new_epoch, Relaxed));
}

/// Rescales every cell of `shard` to a new epoch near `ts`, decaying by the old
/// half-life up to it, and switches to `new_half_life_ns`. Readers see the
/// sequence counter odd meanwhile and read again.
fn rebase(shard: &Shard, old_half_life_ns: u64, ts: u64, new_half_life_ns: u64) {
    let old = shard.decay(old_half_life_ns);
    let old_epoch = shard.epoch.load(Relaxed);
    let new_epoch = shard.decay(new_half_life_ns).epoch_for(ts.max(old_epoch));
    let shift = old.exponent(new_epoch, old_epoch);
    rescale(shard, &shard.slots, shift, || {
        shard.epoch.store(new_epoch, Relaxed);
        shard.half_life_ns.store(new_half_life_ns, Relaxed);
    });
}

/// Multiplies every cell of `slots` by `2^-shift` and applies `new_scale` (the
/// new epoch and half-life), with the shard's sequence counter odd meanwhile so
/// readers never mix old and new scales.
fn rescale(shard: &Shard, slots: &[Box<Slot>], shift: f64, new_scale: impl FnOnce()) {
    let factor = if shift > FORGET_EXPONENT {
        0.0
    } else {
        (-shift).exp2()
    };
    shard.sequence.write(|| {
        for cell in slots.iter().flat_map(|s| s.iter()) {
            let v = f64::from_bits(cell.load(Relaxed)) * factor;
            cell.store(v.to_bits(), Relaxed);
        }
        new_scale();
    });
}

/// [`bump`] of a 32-bit exact cell.
#[inline(always)]
fn bump32(cell: &AtomicU32) {
    cell.store(cell.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Single-writer increment: a plain load and store, never lost because only the
/// owning writer stores.
#[inline(always)]
fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Adding counts read from several shards: exact counts stop at 2^64 - 1
/// rather than wrap (merged remote counts may be that large); `f32` sums as usual.
trait SaturatingSum {
    fn saturating_sum(self, other: Self) -> Self;
}

impl SaturatingSum for u64 {
    fn saturating_sum(self, other: Self) -> Self {
        self.saturating_add(other)
    }
}

impl SaturatingSum for f32 {
    fn saturating_sum(self, other: Self) -> Self {
        self + other
    }
}
