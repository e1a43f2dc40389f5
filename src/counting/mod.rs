//! Sharded counting with decay on the packet clock, and the one small read API.
//!
//! Capture threads each own a [`ShardWriter`]; nothing on the packet path takes a
//! lock. The frame side (renderer, `snapshot`, `count`) reads through
//! [`Counters`] and [`FrameReader`] and never blocks a writer: the shard list's
//! mutex is taken only when a source starts and when a frame is read.

pub mod decay;
mod frame;
mod seqcount;
mod shard;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use decay::{Decay, DecayMode, HalfLife};
pub use frame::{FrameReader, MapFrame, peak};
pub use shard::ShardWriter;

use crate::events::SampleHub;
use crate::maps::{CELLS, MapId};
use crate::parse::{Classifier, SkipReason};
use shard::{OpenSums, Shard, ShardRead};

/// All shards of one run, and the maps and decay they share.
pub struct Counters {
    maps: Vec<MapId>,
    decay: Decay,
    /// Half-life of the slow baseline, when the shards keep one.
    baseline: Option<HalfLife>,
    shards: Mutex<Vec<Arc<Shard>>>,
    /// Writers of finished sources (closed stream senders), reused by the next
    /// source so reconnecting senders do not grow memory.
    idle_writers: Mutex<Vec<ShardWriter>>,
    requested_half_life_ns: Arc<AtomicU64>,
    /// Event attribution's samplers, when events are detected.
    sampling: OnceLock<Arc<SampleHub>>,
}

/// Exact totals across shards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Every packet handed to counting (counted or skipped).
    pub packets: u64,
    /// Skipped packets per [`SkipReason`] (indexed by `SkipReason::index`).
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Packets counted per enabled map, aligned with [`Counters::maps`].
    pub per_map: Vec<u64>,
    /// Latest packet timestamp seen by any shard (ns since the Unix epoch).
    pub last_ts: Option<u64>,
    /// Earliest packet timestamp seen by any shard.
    pub first_ts: Option<u64>,
}

impl Counters {
    /// Counters for `maps` (ids into [`crate::maps::MAPS`]) with `decay`.
    pub fn new(maps: Vec<MapId>, decay: Decay) -> Arc<Self> {
        Self::with_baseline(maps, decay, None)
    }

    /// Counters that also keep, per map, a slow baseline with half-life
    /// `baseline` (the change view's reference). Ignored with
    /// [`DecayMode::None`], whose cells stay exact integer counts.
    pub fn with_baseline(maps: Vec<MapId>, decay: Decay, baseline: Option<HalfLife>) -> Arc<Self> {
        let baseline = baseline.filter(|_| decay.mode != DecayMode::None);
        Arc::new(Counters {
            maps,
            decay,
            baseline,
            shards: Mutex::new(Vec::new()),
            idle_writers: Mutex::new(Vec::new()),
            requested_half_life_ns: Arc::new(AtomicU64::new(decay.half_life.as_nanos())),
            sampling: OnceLock::new(),
        })
    }

    /// Gives every writer made from now on a sampler of `hub` (scan events
    /// are detected). Call before the sources start; a second call is ignored.
    pub fn sample_into(&self, hub: Arc<SampleHub>) {
        let _ = self.sampling.set(hub);
    }

    /// A shard's only writer, for one capture thread: an idle one handed back
    /// by a finished source, or a new shard.
    pub fn writer(&self) -> ShardWriter {
        if let Some(mut w) = self
            .idle_writers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            if let Some(s) = w.sampler() {
                s.reopen();
            }
            return w;
        }
        let shard = Arc::new(Shard::new(
            &self.maps,
            self.decay,
            self.baseline,
            self.requested_half_life_ns.clone(),
        ));
        self.lock().push(shard.clone());
        let mut writer = ShardWriter::new(shard);
        if let Some(hub) = self.sampling.get() {
            writer.set_sampler(hub.sampler());
        }
        writer
    }

    /// Hands back the writer of a source that ended; its counts stay and keep
    /// decaying, and the next source to start continues in the same shard.
    pub fn release(&self, mut writer: ShardWriter) {
        writer.flush();
        if let Some(s) = writer.sampler() {
            s.close();
        }
        self.idle_writers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(writer);
    }

    /// Empty counters of the same maps and decay, to count into apart and
    /// then [`Counters::adopt`] or drop (`count` reads a file's parts so).
    pub fn empty_like(&self) -> Arc<Counters> {
        Counters::with_baseline(self.maps.clone(), self.decay, self.baseline)
    }

    /// Takes over every shard of `other`, made by [`Counters::empty_like`]
    /// from these: its counts become part of these, as they are.
    pub fn adopt(&self, other: &Counters) {
        debug_assert!(other.maps == self.maps && other.decay.mode == self.decay.mode);
        let shards = std::mem::take(&mut *other.lock());
        self.lock().extend(shards);
    }

    /// The maps being counted.
    pub fn maps(&self) -> &[MapId] {
        &self.maps
    }

    /// The decay rule (half-life as asked at start; see [`Counters::half_life`]).
    pub fn decay(&self) -> Decay {
        self.decay
    }

    /// The baseline's half-life, when a baseline is kept.
    pub fn baseline(&self) -> Option<HalfLife> {
        self.baseline
    }

    /// The half-life now asked for (writers adopt it at their next packet).
    pub fn half_life(&self) -> HalfLife {
        HalfLife::new(std::time::Duration::from_nanos(
            self.requested_half_life_ns.load(Relaxed),
        ))
    }

    /// Asks every writer to switch to `half_life`; values decayed so far are kept.
    pub fn set_half_life(&self, half_life: HalfLife) {
        self.requested_half_life_ns.store(half_life.as_nanos(), Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Shard>>> {
        self.shards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current value of every cell of `map` at packet time `at`, summed over
    /// shards into `out` (65,536 cells), and the largest of them ([`peak`]).
    /// `None` (and zeros) when `map` is not counted.
    pub fn read_map(&self, map: MapId, at: u64, out: &mut [f32]) -> Option<f32> {
        if !self.maps.contains(&map) || out.len() != CELLS {
            out.fill(0.0);
            return None;
        }
        if self.decay.mode == DecayMode::None {
            self.sum_shards(out, |shard, out, add| shard.read_exact_counts(map, out, add));
            Some(peak(out))
        } else {
            Some(self.sum_decayed(out, |shard| shard.open_sums(map, false, at)))
        }
    }

    /// The baseline of every cell of `map` at packet time `at`, summed over
    /// shards into `out`, like [`Counters::read_map`]. Returns false (and
    /// leaves zeros) without a baseline or when `map` is not counted.
    pub fn read_baseline(&self, map: MapId, at: u64, out: &mut [f32]) -> bool {
        if self.baseline.is_none() || !self.maps.contains(&map) || out.len() != CELLS {
            out.fill(0.0);
            return false;
        }
        self.sum_decayed(out, |shard| shard.open_sums(map, true, at));
        true
    }

    /// Sums the weighted sums that `open` opens in each shard into `out`,
    /// two shards a pass ([`shard::read_sums`]): the first pass writes each
    /// cell, the others add to it. A pass that a rescale overlapped (hours
    /// apart) starts the whole sum again. Zeros when no shard has the sums.
    /// Returns the largest value: every pass writes every cell, so the last
    /// pass's peak is the sum's.
    fn sum_decayed(&self, out: &mut [f32], open: impl for<'s> Fn(&'s Shard) -> Option<OpenSums<'s>>) -> f32 {
        let shards = self.lock();
        'again: loop {
            let mut written = false;
            let mut highest = 0.0;
            let mut opened = shards.iter().filter_map(|s| open(s));
            while let Some(first) = opened.next() {
                let second = opened.next();
                let Some(pass_peak) = shard::read_sums(out, written, &first, second.as_ref()) else {
                    continue 'again;
                };
                highest = pass_peak;
                written = true;
            }
            if !written {
                out.fill(0.0);
            }
            return highest;
        }
    }

    /// Sums `read` of every shard into `out` (exact counts: a frame's cells
    /// without decay, or `count`'s totals): the first shard that counts the
    /// map writes it, the others add to it, so no cell is also zeroed or
    /// staged. An add that overlapped a fold starts the whole sum again.
    /// Zeros when no shard counts the map.
    fn sum_shards<T: Copy + Default>(
        &self,
        out: &mut [T],
        read: impl Fn(&Shard, &mut [T], bool) -> ShardRead,
    ) {
        let shards = self.lock();
        'again: loop {
            let mut written = false;
            for shard in shards.iter() {
                match read(shard, out, written) {
                    ShardRead::Done => written = true,
                    ShardRead::NotCounted => {}
                    ShardRead::Overlapped => continue 'again,
                }
            }
            if !written {
                out.fill(T::default());
            }
            return;
        }
    }

    /// Exact undecayed totals of every cell of `map` (for `count`); `None` when
    /// the map is not counted.
    pub fn exact_counts(&self, map: MapId) -> Option<Vec<u64>> {
        if !self.maps.contains(&map) {
            return None;
        }
        let mut out = vec![0u64; CELLS];
        self.sum_shards(&mut out, |shard, out, add| shard.read_totals(map, out, add));
        Some(out)
    }

    /// Exact packet totals across shards.
    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            per_map: vec![0; self.maps.len()],
            ..Totals::default()
        };
        for shard in self.lock().iter() {
            // Saturating: merged remote totals are not trusted to stay small.
            t.packets = t.packets.saturating_add(shard.packets());
            for r in SkipReason::ALL {
                let n = &mut t.skipped[r.index()];
                *n = n.saturating_add(shard.skipped(r));
            }
            for (slot, &m) in self.maps.iter().enumerate() {
                t.per_map[slot] = t.per_map[slot].saturating_add(shard.map_packets(m));
            }
            t.last_ts = t.last_ts.max(shard.last_ts());
            t.first_ts = match (t.first_ts, shard.first_ts()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        t
    }

    /// The earliest packet time any shard has seen (what `--at` counts from).
    pub fn first_packet_time(&self) -> Option<u64> {
        self.totals().first_ts
    }

    /// The packet clock: the latest timestamp any shard has seen.
    pub fn packet_clock(&self) -> Option<u64> {
        self.lock().iter().filter_map(|s| s.last_ts()).max()
    }
}

/// A capture thread's path from frame bytes to counters: classify, then count.
pub struct PacketSink {
    classifier: Classifier,
    writer: ShardWriter,
}

impl PacketSink {
    /// Counts frames read by `classifier` into `writer`'s shard.
    pub fn new(classifier: Classifier, writer: ShardWriter) -> Self {
        PacketSink { classifier, writer }
    }

    /// Classifies and counts one captured frame.
    #[inline(always)]
    pub fn packet(&mut self, ts_ns: u64, wire_len: u32, data: &[u8]) {
        match self.classifier.classify(data, wire_len) {
            Ok(facts) => {
                self.writer.add(ts_ns, &facts);
                if let Some(s) = self.writer.sampler()
                    && s.due(ts_ns)
                {
                    s.take(ts_ns, &facts, self.classifier.addresses(data), 1);
                }
            }
            Err(reason) => self.writer.skip(ts_ns, reason),
        }
    }

    /// Updates the cells of buffered packets (see [`ShardWriter::flush`]).
    #[inline]
    pub fn flush(&mut self) {
        self.writer.flush();
    }

    /// Counts a frame that scanwall itself dropped (BPF on files, overload shedding).
    pub fn filtered(&mut self, ts_ns: u64) {
        self.writer.skip(ts_ns, SkipReason::Filtered);
    }

    /// The classifier, for sources that need the link type.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Gives the shard writer back (see [`Counters::release`]).
    pub fn into_writer(self) -> ShardWriter {
        self.writer
    }
}

#[cfg(test)]
mod tests;
