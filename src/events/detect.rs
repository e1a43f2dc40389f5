//! Finding lines and blocks on the maps, on the packet clock.
//!
//! The detector keeps, per map, three grids of the 65,536 cells built from
//! the samples ([`super::Sample`]): this tick's packets, a *recent* sum that
//! decays with the wall's half-life (what the wall shows), and each cell's
//! *own level*: its packets per tick averaged over minutes (half-life
//! [`BASELINE_HALF_LIVES`] times the wall's, at least five minutes), from
//! which its expected recent sum follows. Every tick of packet time
//! ([`DetectorConfig::tick_ns`]) it sums each row of the recent grid, each
//! cell clipped to a few times its own level (so one busy server is never a
//! line), and calls a row hot when
//!
//! - at least [`MIN_CELLS`] of its cells are above their own level,
//! - its sum stands out from the map's other rows (its first quartile) and
//! - from the row's own level,
//!
//! each by a margin of several standard deviations of a count of that size
//! (samples standing for many packets widen it) and by a ratio. Steady
//! noise, however dense, is level with the other rows and with itself:
//! nothing fires. A sweep at 1.5 times a saturated background stands out by
//! tens of deviations over 256 cells. Adjacent hot rows make one block. Then
//! the same for columns, leaving out the hot rows' cells. A live event needs
//! only a lower margin to go on (hysteresis) and ends after [`END_AFTER`]
//! ticks not found or *fallen back*: its cells bring no more packets than
//! their level (their own, or a typical stretch of the map's this tick),
//! though the map, which fades with the half-life, may show the line a while
//! longer. A line still fading is not taken for a new event.
//!
//! Everything is a function of the samples and their packet times, so a
//! replay at any speed finds the same events at the same packet times.

use std::collections::VecDeque;
use std::net::IpAddr;

use super::event::{Axis, Event};
use super::sample::Sample;
use crate::maps::{CELLS, Key, MAPS, MapId, SIDE};

/// The detector's clock and horizons.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorConfig {
    /// Half-life of the recent grid: the wall's.
    pub half_life_ns: u64,
    /// How often it looks: a tenth of the half-life, between 100 ms and 1 s.
    pub tick_ns: u64,
    /// Half-life of each cell's own level.
    pub baseline_half_life_ns: u64,
}

/// The own level's half-life in half-lives of the wall (at least 5 minutes).
pub const BASELINE_HALF_LIVES: u64 = 30;

impl DetectorConfig {
    /// The detector for a wall decaying with `half_life_ns`.
    pub fn for_half_life(half_life_ns: u64) -> DetectorConfig {
        let half_life_ns = half_life_ns.max(1_000_000);
        DetectorConfig {
            half_life_ns,
            tick_ns: (half_life_ns / 10).clamp(100_000_000, 1_000_000_000),
            baseline_half_life_ns: half_life_ns
                .saturating_mul(BASELINE_HALF_LIVES)
                .max(300_000_000_000),
        }
    }
}

/// Cells of a row (or column) that must be above their own level.
pub const MIN_CELLS: u32 = 16;
/// Ticks not found, or found with no more packets than its cells' own
/// level, before an event ends.
pub const END_AFTER: u32 = 3;
/// A new event's first tick brings at least this times its cells' level
/// (and four deviations more): a line still fading on the map is not one.
const START_OVER_LEVEL: f64 = 1.25;

/// The standard deviation of a count of `count` packets whose samples
/// stand for `weight` packets each (Poisson in samples, widened by the
/// weight, and never below one sample).
fn deviation(count: f64, weight: f64) -> f64 {
    (weight * count + weight * weight).sqrt()
}

/// The packets per tick (smoothed over about two ticks) at or below which
/// an event has fallen back: its cells' `level` plus a quarter of what it
/// brought above it at its height, or chance (one and a half deviations of
/// a count of that size), whichever is more.
fn quiet_below(level: f64, peak: f64, weight: f64) -> f64 {
    let chance = 1.5 * deviation(level / 2.0, weight);
    level + (0.25 * (peak - level)).max(chance)
}
/// A cell counts at most its own level times this plus [`CLIP_PACKETS`].
const CLIP_LEVELS: f32 = 4.0;
/// ... plus this many packets (samples of weight one).
const CLIP_PACKETS: f32 = 8.0;
/// A line's excess must remain at least half without its this many
/// largest cells: one busy server, or a few, are not a line.
const SPREAD_WITHOUT: usize = 7;
/// Ticks of samples kept to attribute the start of an event found late.
const HISTORY_TICKS: usize = 15;

/// Margins a row must clear, for a new event and to go on with one.
#[derive(Clone, Copy)]
struct Margins {
    deviations: f64,
    over_rows: f64,
    over_own: f64,
    cells: u32,
}
const START: Margins = Margins {
    deviations: 7.0,
    over_rows: 1.25,
    over_own: 1.2,
    cells: MIN_CELLS,
};
const GO_ON: Margins = Margins {
    deviations: 3.0,
    over_rows: 1.1,
    over_own: 1.05,
    cells: MIN_CELLS / 2,
};

/// One map's grids.
struct Grid {
    map: MapId,
    need: u8,
    key: usize,
    tick: Box<[f32]>,
    touched: Vec<u16>,
    recent: Box<[f32]>,
    base: Box<[f32]>,
    /// Packets a sample stands for, weighted by packets (Σw² / Σw), smoothed.
    weight: f32,
    sum_w: f64,
    sum_w2: f64,
    /// Whether any recent or level cell may be non-zero.
    live: bool,
    /// This tick's packets of a typical row and column (the median):
    /// what any stretch of the map brings without a scan.
    typical_row: f64,
    typical_column: f64,
}

/// A line or block found in one tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Found {
    axis: Axis,
    rows: (u8, u8),
    columns: (u8, u8),
}

/// What happened in a tick, for the wall, the metrics and the log.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new event (as first found).
    Started(Event),
    /// An event fell back (as it ended).
    Ended(Event),
}

/// Finds events in a stream of samples (see the module comment).
pub struct Detector {
    config: DetectorConfig,
    grids: Vec<Grid>,
    /// Start of the open tick; `None` before the first sample.
    tick_start: Option<u64>,
    current: Vec<Sample>,
    /// Samples of later ticks, fed before the open tick closed.
    future: Vec<Sample>,
    history: VecDeque<Vec<Sample>>,
    active: Vec<Event>,
    changes: Vec<Change>,
    next_id: u64,
    recent_keep: f32,
    base_keep: f32,
    /// Ticks closed so far: events change only when one closes.
    closed: u64,
}

impl Detector {
    /// A detector of `maps`; the length map is left out (its lines are
    /// packet sizes, such as segmentation offload's, not scans).
    pub fn new(maps: &[MapId], config: DetectorConfig) -> Detector {
        let maps: Vec<MapId> = maps
            .iter()
            .copied()
            .filter(|&m| MAPS[m].key != Key::Length)
            .collect();
        let zeros = || vec![0.0f32; CELLS].into_boxed_slice();
        let keep = |half: u64| (-(config.tick_ns as f64) / half as f64).exp2() as f32;
        Detector {
            grids: maps
                .iter()
                .map(|&map| Grid {
                    map,
                    need: MAPS[map].filter.required_flags(),
                    key: MAPS[map].key.index(),
                    tick: zeros(),
                    touched: Vec::new(),
                    recent: zeros(),
                    base: zeros(),
                    weight: 1.0,
                    sum_w: 0.0,
                    sum_w2: 0.0,
                    live: false,
                    typical_row: 0.0,
                    typical_column: 0.0,
                })
                .collect(),
            tick_start: None,
            current: Vec::new(),
            future: Vec::new(),
            history: VecDeque::new(),
            active: Vec::new(),
            changes: Vec::new(),
            next_id: 1,
            closed: 0,
            recent_keep: keep(config.half_life_ns),
            base_keep: keep(config.baseline_half_life_ns),
            config,
        }
    }

    /// The detector's clock and horizons.
    pub fn config(&self) -> DetectorConfig {
        self.config
    }

    /// Takes samples, in any order; a sample of a tick already closed
    /// counts in the open one.
    pub fn feed(&mut self, samples: impl IntoIterator<Item = Sample>) {
        for s in samples {
            let start = *self.tick_start.get_or_insert(s.ts - s.ts % self.config.tick_ns);
            if s.ts < start.saturating_add(self.config.tick_ns) {
                self.current.push(s);
            } else {
                self.future.push(s);
            }
        }
    }

    /// Closes every tick that ends at or before `watermark` (packet time every
    /// source has passed), finding events in each.
    pub fn advance(&mut self, watermark: u64) {
        let tick = self.config.tick_ns;
        while let Some(start) = self.tick_start {
            let end = start.saturating_add(tick);
            if end > watermark {
                return;
            }
            self.close_tick(end, tick);
            // A long silence: skip empty ticks in one step.
            let next_sample = self.future.iter().map(|s| s.ts).min().unwrap_or(watermark);
            let empty = next_sample.saturating_sub(end) / tick;
            let skip = if empty > (HISTORY_TICKS as u64) {
                empty - 1
            } else {
                0
            };
            if skip > 0 {
                self.fast_forward(skip, end);
            }
            let start = end + skip * tick;
            self.tick_start = Some(start);
            let open_end = start.saturating_add(tick);
            let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.future)
                .into_iter()
                .partition(|s| s.ts < open_end);
            self.current = now;
            self.future = later;
        }
    }

    /// The samples of the last ticks (what a pinned readout tallies).
    pub fn recent_samples(&self) -> impl Iterator<Item = &Sample> {
        self.history.iter().flatten().chain(&self.current)
    }

    /// The recent samples inside rows x columns of `map`, tallied as an
    /// event's are (packets, sources, ports, destinations, latest packet),
    /// with the first packet time among them: what a pinned readout shows.
    pub fn tally(&self, map: MapId, rows: (u8, u8), columns: (u8, u8)) -> (Event, Option<u64>) {
        let mut cells = [Event::new(0, map, Axis::Rows, rows, columns, 0)];
        attribute(&mut cells, self.recent_samples());
        let mut first: Option<u64> = None;
        for_each_hit(&cells, self.recent_samples(), |_, s| {
            first = Some(first.map_or(s.ts, |f| f.min(s.ts)));
        });
        let [tallied] = cells;
        (tallied, first)
    }

    /// Packet time the kept samples reach back to: ticks of history.
    pub fn history_ns(&self) -> u64 {
        self.config.tick_ns * HISTORY_TICKS as u64
    }

    /// Ticks closed so far (events change only when one closes).
    pub fn ticks_closed(&self) -> u64 {
        self.closed
    }

    /// Events live now.
    pub fn active(&self) -> &[Event] {
        &self.active
    }

    /// What happened since the last call.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Closes the open tick even if not over (the input ended) and returns
    /// the events still live. Only a tick that holds samples is closed, and
    /// its rates are taken over the time its samples span: an empty tick
    /// closed after the last packet would give every live event a rate of
    /// zero, and a part of a tick counted as a whole one too low a rate.
    pub fn finish(&mut self) -> Vec<Event> {
        let last = self.current.iter().chain(&self.future).map(|s| s.ts).max();
        if let (Some(_), Some(last)) = (self.tick_start, last) {
            // The full ticks before the last sample, as a watermark there would.
            self.advance(last);
            if let Some(start) = self.tick_start {
                let spanned = last.saturating_sub(start).saturating_add(1);
                self.close_tick(start.saturating_add(self.config.tick_ns), spanned);
                self.tick_start = None;
            }
        }
        self.active.clone()
    }

    /// Decays every grid over `ticks` empty ticks at once, ending every
    /// live event.
    fn fast_forward(&mut self, ticks: u64, at: u64) {
        let n = ticks as f32;
        let (rk, bk) = (self.recent_keep.powf(n), self.base_keep.powf(n));
        for g in &mut self.grids {
            if g.live {
                g.recent.iter_mut().for_each(|v| *v *= rk);
                g.base.iter_mut().for_each(|v| *v *= bk);
            }
        }
        self.history.clear();
        for mut e in std::mem::take(&mut self.active) {
            e.end = Some(e.found_until.min(at));
            self.changes.push(Change::Ended(e));
        }
    }

    /// Closes the tick that ends at `end`, whose samples span `spanned`
    /// nanoseconds of packet time (a whole tick but at the end of the input).
    fn close_tick(&mut self, end: u64, spanned: u64) {
        self.closed += 1;
        let samples = std::mem::take(&mut self.current);
        for g in &mut self.grids {
            for s in &samples {
                if s.flags & g.need == g.need {
                    let cell = usize::from(s.keys[g.key & 3]);
                    if g.tick[cell] == 0.0 {
                        g.touched.push(cell as u16);
                    }
                    let w = f64::from(s.weight);
                    g.tick[cell] += w as f32;
                    g.sum_w += w;
                    g.sum_w2 += w * w;
                }
            }
        }
        // Each live event's packets per tick at its cells' own levels, before
        // this tick teaches the levels: what "fallen back" is measured against.
        let level: Vec<f64> = self
            .active
            .iter()
            .map(|e| {
                self.grids
                    .iter()
                    .find(|g| g.map == e.map)
                    .map_or(0.0, |g| g.level_of(e))
            })
            .collect();
        let mut found_by_map = Vec::with_capacity(self.grids.len());
        for g in &mut self.grids {
            let live_here: Vec<Found> = self
                .active
                .iter()
                .filter(|e| e.map == g.map)
                .map(|e| Found {
                    axis: e.axis,
                    rows: e.rows,
                    columns: e.columns,
                })
                .collect();
            found_by_map.push(g.close(self.recent_keep, self.base_keep, &live_here));
        }
        self.track(end, spanned, &samples, found_by_map, &level);
        self.history.push_back(samples);
        while self.history.len() > HISTORY_TICKS {
            self.history.pop_front();
        }
    }

    /// Continues, starts and ends events from what each map found.
    fn track(
        &mut self,
        end: u64,
        spanned: u64,
        samples: &[Sample],
        found_by_map: Vec<(MapId, Vec<Found>)>,
        level: &[f64],
    ) {
        let mut seen = vec![false; self.active.len()];
        let mut started = Vec::new();
        for (map, found) in found_by_map {
            for f in found {
                let near = |a: (u8, u8), b: (u8, u8)| {
                    u16::from(a.0) <= u16::from(b.1) + 1 && u16::from(b.0) <= u16::from(a.1) + 1
                };
                let hit = self.active.iter().position(|e| {
                    e.map == map && e.axis == f.axis && near(e.rows, f.rows) && near(e.columns, f.columns)
                });
                match hit {
                    Some(i) => {
                        let e = &mut self.active[i];
                        e.rows = (e.rows.0.min(f.rows.0), e.rows.1.max(f.rows.1));
                        e.columns = (e.columns.0.min(f.columns.0), e.columns.1.max(f.columns.1));
                        e.reshape();
                        seen[i] = true;
                    }
                    None => started.push(Event::new(0, map, f.axis, f.rows, f.columns, end)),
                }
            }
        }
        // Go on with the events found again, and count this tick's packets.
        // A rate is taken over at least half a tick: the last, partial tick
        // of an input may hold a few samples in a millisecond. Over less, a
        // live event keeps the rate of its last whole tick.
        let tick = self.config.tick_ns;
        let whole_enough = spanned.saturating_mul(2) >= tick;
        let secs = spanned.clamp(tick / 2, tick) as f64 / 1e9;
        let mut active = std::mem::take(&mut self.active);
        let added = attribute(&mut active, samples.iter());
        let mut kept = Vec::with_capacity(active.len());
        let weight = |map: MapId| {
            self.grids
                .iter()
                .find(|g| g.map == map)
                .map_or(1.0, |g| f64::from(g.weight))
        };
        for (((mut e, seen), packets), level) in active.into_iter().zip(seen).zip(added).zip(level) {
            if whole_enough {
                e.pps = packets as f64 / secs;
                e.peak_pps = e.peak_pps.max(e.pps);
            }
            // Still drawn on the map (which fades with the half-life) but no
            // longer above its cells' level: the scan has stopped.
            e.smooth = 0.5 * e.smooth + 0.5 * packets as f64;
            e.peak_smooth = e.peak_smooth.max(e.smooth);
            let quiet = e.smooth <= quiet_below(*level, e.peak_smooth, weight(e.map));
            if seen && !quiet {
                e.misses = 0;
                e.found_until = end;
            } else {
                e.misses += 1;
            }
            if e.misses >= END_AFTER {
                e.end = Some(e.found_until);
                self.changes.push(Change::Ended(e));
            } else {
                kept.push(e);
            }
        }
        // New events take the samples of the last few ticks too: their start
        // is their first packet, not the tick that noticed them.
        attribute(&mut started, self.history.iter().flatten());
        let added = attribute(&mut started, samples.iter());
        // Its start is the first packet of the sources that drew it (those
        // with a tenth of its packets or more): the cells' other packets
        // (noise) were there before.
        let drew: Vec<Vec<IpAddr>> = started
            .iter()
            .map(|e| {
                let share = e.sources.total() / 10;
                let ranked = e.sources.top(3);
                ranked
                    .iter()
                    .enumerate()
                    .filter(|(i, (_, n))| *i == 0 || *n >= share)
                    .map(|(_, (a, _))| *a)
                    .collect()
            })
            .collect();
        let mut first = vec![u64::MAX; started.len()];
        for_each_hit(&started, self.history.iter().flatten().chain(samples), |i, s| {
            if drew[i].contains(&s.src) {
                first[i] = first[i].min(s.ts);
            }
        });
        for ((mut e, packets), first) in started.into_iter().zip(added).zip(first) {
            // A line still fading on the map after its event ended is not a
            // new event: one starts only with packets above the cells' level.
            let level = self
                .grids
                .iter()
                .find(|g| g.map == e.map)
                .map_or(0.0, |g| g.level_of(&e));
            let w = weight(e.map);
            let p = packets as f64;
            if p < START_OVER_LEVEL * level || p - level < 4.0 * deviation(level, w) {
                continue;
            }
            e.smooth = p;
            e.peak_smooth = p;
            e.id = self.next_id;
            self.next_id += 1;
            e.start = if first == u64::MAX {
                end.saturating_sub(self.config.tick_ns)
            } else {
                first
            };
            e.pps = packets as f64 / secs;
            e.peak_pps = e.pps;
            self.changes.push(Change::Started(e.clone()));
            kept.push(e);
        }
        self.active = kept;
    }
}

/// Calls `hit(i, sample)` for every sample that falls inside `events[i]`,
/// finding the events of a sample's cell through an index of their rows
/// (a tick holds tens of thousands of samples and a map tens of events).
fn for_each_hit<'a>(
    events: &[Event],
    samples: impl Iterator<Item = &'a Sample>,
    mut hit: impl FnMut(usize, &Sample),
) {
    if events.is_empty() {
        return;
    }
    // Per map with events: its filter, key and, per row, the events on it.
    let mut maps: Vec<(MapId, u8, usize, Vec<Vec<usize>>)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at = match maps.iter().position(|m| m.0 == e.map) {
            Some(at) => at,
            None => {
                let def = &MAPS[e.map];
                maps.push((
                    e.map,
                    def.filter.required_flags(),
                    def.key.index(),
                    vec![Vec::new(); SIDE],
                ));
                maps.len() - 1
            }
        };
        for row in e.rows.0..=e.rows.1 {
            maps[at].3[usize::from(row)].push(i);
        }
    }
    for s in samples {
        for (_, need, key, rows) in &maps {
            if s.flags & need != *need {
                continue;
            }
            let cell = s.keys[key & 3];
            for &i in &rows[usize::from(cell >> 8)] {
                if events[i].covers(cell) {
                    hit(i, s);
                }
            }
        }
    }
}

/// Adds the samples that fall inside each event to its packets and
/// tallies and moves its last seen; returns the packets added to each.
fn attribute<'a>(events: &mut [Event], samples: impl Iterator<Item = &'a Sample>) -> Vec<u64> {
    let mut added = vec![0u64; events.len()];
    let mut hits: Vec<(usize, Sample)> = Vec::new();
    for_each_hit(events, samples, |i, s| hits.push((i, *s)));
    for (i, s) in hits {
        let e = &mut events[i];
        let w = u64::from(s.weight);
        added[i] += w;
        e.sources.add(s.src, w);
        e.destinations.add(s.dst, w);
        if let Some(p) = s.port() {
            e.ports.add(p, w);
        }
        e.last_seen = e.last_seen.max(s.ts);
    }
    for (e, n) in events.iter_mut().zip(&added) {
        e.packets = e.packets.saturating_add(*n);
    }
    added
}

/// Sums of one row or column for the tests.
#[derive(Clone, Copy, Default)]
struct LineSums {
    /// Recent packets, each cell clipped to a few times its own level.
    clipped: f64,
    /// The line's own level: its expected recent sum.
    own: f64,
    /// Cells above their own level.
    cells: u32,
    /// First and last such cell along the line.
    first: u8,
    last: u8,
}

impl LineSums {
    fn add(&mut self, at: u8, recent: f32, level: f32, weight: f32) {
        let clip = CLIP_LEVELS * level + CLIP_PACKETS * weight;
        self.clipped += f64::from(recent.min(clip));
        self.own += f64::from(level);
        if recent >= level + 0.5 * weight {
            if self.cells == 0 {
                self.first = at;
            }
            self.cells += 1;
            self.last = at;
        }
    }

    /// Whether the line stands out from the others (`others`: the first
    /// quartile of their sums) and from its own level by `m`.
    fn hot(&self, others: f64, weight: f64, m: Margins) -> bool {
        self.cells >= m.cells
            && self.clipped - others >= m.deviations * deviation(others, weight)
            && self.clipped >= m.over_rows * others
            && self.clipped - self.own >= m.deviations * deviation(self.own, weight)
            && self.clipped >= m.over_own * self.own
    }
}

/// Whether a line's excess over its cells' own levels (each cell as
/// (recent, level, weight), clipped as [`LineSums::add`] does) is spread:
/// at least half of it remains without its [`SPREAD_WITHOUT`] largest cells.
fn spread(cells: impl Iterator<Item = (f32, f32, f32)>) -> bool {
    let mut excess: Vec<f32> = cells
        .map(|(recent, level, w)| (recent.min(CLIP_LEVELS * level + CLIP_PACKETS * w) - level).max(0.0))
        .collect();
    let total: f32 = excess.iter().sum();
    if excess.len() <= SPREAD_WITHOUT || total <= 0.0 {
        return false;
    }
    excess.select_nth_unstable_by(SPREAD_WITHOUT, |a, b| b.total_cmp(a));
    let largest: f32 = excess[..SPREAD_WITHOUT].iter().sum();
    total - largest >= 0.5 * total
}

/// The first quartile of the lines' sums: "the other lines" a hot one must
/// stand out from, robust to up to three quarters of them being hot.
fn first_quartile(lines: &[LineSums]) -> f64 {
    let mut sums: Vec<f64> = lines.iter().map(|l| l.clipped).collect();
    let q = sums.len() / 4;
    sums.select_nth_unstable_by(q, f64::total_cmp);
    sums[q]
}

/// Runs of adjacent hot lines (one cold line may split a run).
fn runs(hot: &[bool]) -> Vec<(u8, u8)> {
    let mut out: Vec<(u8, u8)> = Vec::new();
    for (i, _) in hot.iter().enumerate().filter(|(_, h)| **h) {
        let i = i as u8;
        match out.last_mut() {
            Some(run) if u16::from(i) <= u16::from(run.1) + 2 => run.1 = i,
            _ => out.push((i, i)),
        }
    }
    out
}

impl Grid {
    /// The packets per tick `e`'s cells bring without a scan: the larger of
    /// their own levels and what a typical stretch of the map of that size
    /// brought this tick (own levels are learnt over minutes; a map's
    /// steady noise is known at once).
    fn level_of(&self, e: &Event) -> f64 {
        let cols = usize::from(e.columns.0)..=usize::from(e.columns.1);
        let own: f64 = (usize::from(e.rows.0)..=usize::from(e.rows.1))
            .map(|r| {
                self.base[r * SIDE..(r + 1) * SIDE][cols.clone()]
                    .iter()
                    .map(|&b| f64::from(b))
                    .sum::<f64>()
            })
            .sum();
        let rows = f64::from(e.rows.1 - e.rows.0) + 1.0;
        let columns = f64::from(e.columns.1 - e.columns.0) + 1.0;
        let typical = match e.axis {
            Axis::Rows => self.typical_row * rows * columns / SIDE as f64,
            Axis::Columns => self.typical_column * columns * rows / SIDE as f64,
        };
        own.max(typical)
    }

    /// Sets the typical row's and column's packets of this tick.
    fn measure_typical(&mut self) {
        let mut rows = vec![0f64; SIDE];
        let mut cols = vec![0f64; SIDE];
        for &c in &self.touched {
            let v = f64::from(self.tick[usize::from(c)]);
            rows[usize::from(c >> 8)] += v;
            cols[usize::from(c & 0xff)] += v;
        }
        let median = |v: &mut Vec<f64>| {
            let q = v.len() / 2;
            v.select_nth_unstable_by(q, f64::total_cmp);
            v[q]
        };
        self.typical_row = median(&mut rows);
        self.typical_column = median(&mut cols);
    }

    /// Ends the tick: updates the recent grid, finds lines, learns the
    /// levels, clears the tick. `live`: this map's live events (lower margins).
    fn close(&mut self, recent_keep: f32, base_keep: f32, live: &[Found]) -> (MapId, Vec<Found>) {
        if !self.live && self.touched.is_empty() {
            return (self.map, Vec::new());
        }
        if self.sum_w > 0.0 {
            // The larger of the new and the smoothed weight: a sampler that
            // starts taking one packet in N widens the margins at once.
            let w = ((self.sum_w2 / self.sum_w) as f32).max(1.0);
            self.weight = w.max(0.8 * self.weight + 0.2 * w);
        }
        let mut peak = 0f32;
        for (r, t) in self.recent.iter_mut().zip(self.tick.iter()) {
            *r = *r * recent_keep + t;
            peak = peak.max(*r);
        }
        let found = self.find(recent_keep, live);
        self.measure_typical();
        let learn = 1.0 - base_keep;
        for (b, t) in self.base.iter_mut().zip(self.tick.iter()) {
            *b = *b * base_keep + t * learn;
        }
        for &c in &self.touched {
            self.tick[usize::from(c)] = 0.0;
        }
        self.touched.clear();
        self.sum_w = 0.0;
        self.sum_w2 = 0.0;
        self.live = peak > 1e-3 || self.base.iter().any(|&b| b > 1e-6);
        (self.map, found)
    }

    fn find(&self, recent_keep: f32, live: &[Found]) -> Vec<Found> {
        // A steady rate of b per tick sums to b / (1 - keep) in the recent grid.
        let level = 1.0 / (1.0 - recent_keep).max(1e-6);
        let w = self.weight;
        let mut rows = [LineSums::default(); SIDE];
        for (r, line) in rows.iter_mut().enumerate() {
            for c in 0..SIDE {
                let i = r * SIDE + c;
                line.add(c as u8, self.recent[i], self.base[i] * level, w);
            }
        }
        let cell = |r: usize, c: usize| (self.recent[r * SIDE + c], self.base[r * SIDE + c] * level, w);
        let margins = |axis: Axis, at: u8| {
            let within = live.iter().any(|f| {
                let span = if axis == Axis::Rows { f.rows } else { f.columns };
                f.axis == axis && span.0 <= at && at <= span.1
            });
            if within { GO_ON } else { START }
        };
        let others = first_quartile(&rows);
        let hot_rows: Vec<bool> = rows
            .iter()
            .enumerate()
            .map(|(r, l)| {
                l.hot(others, f64::from(w), margins(Axis::Rows, r as u8))
                    && spread((0..SIDE).map(|c| cell(r, c)))
            })
            .collect();
        let mut found: Vec<Found> = runs(&hot_rows)
            .into_iter()
            .map(|(r0, r1)| {
                let span = rows[usize::from(r0)..=usize::from(r1)]
                    .iter()
                    .filter(|l| l.cells > 0);
                let first = span.clone().map(|l| l.first).min().unwrap_or(0);
                let last = span.map(|l| l.last).max().unwrap_or(255);
                Found {
                    axis: Axis::Rows,
                    rows: (r0, r1),
                    columns: (first, last),
                }
            })
            .collect();
        // Columns, without the hot rows' cells.
        let mut cols = [LineSums::default(); SIDE];
        let cool = || hot_rows.iter().enumerate().filter(|(_, h)| !**h).map(|(r, _)| r);
        for r in cool() {
            for (c, line) in cols.iter_mut().enumerate() {
                let i = r * SIDE + c;
                line.add(r as u8, self.recent[i], self.base[i] * level, w);
            }
        }
        let others = first_quartile(&cols);
        let hot_cols: Vec<bool> = cols
            .iter()
            .enumerate()
            .map(|(c, l)| {
                l.hot(others, f64::from(w), margins(Axis::Columns, c as u8))
                    && spread(cool().map(|r| cell(r, c)))
            })
            .collect();
        found.extend(runs(&hot_cols).into_iter().map(|(c0, c1)| {
            let span = cols[usize::from(c0)..=usize::from(c1)]
                .iter()
                .filter(|l| l.cells > 0);
            let first = span.clone().map(|l| l.first).min().unwrap_or(0);
            let last = span.map(|l| l.last).max().unwrap_or(255);
            Found {
                axis: Axis::Columns,
                rows: (first, last),
                columns: (c0, c1),
            }
        }));
        found
    }
}

#[cfg(test)]
mod tests;
