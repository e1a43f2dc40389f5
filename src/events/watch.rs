//! Running the detector beside the sources: draining the samplers, closing
//! ticks as the packet clock passes them, and telling the screen
//! ([`EventBoard`]), the metrics and the events log ([`EventLog`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::detect::{Change, Detector, DetectorConfig};
use super::event::{Event, EventKind, REPORTED_SOURCES};
use super::sample::{DEFAULT_BUDGET, Overflow, Sample, SampleHub, Watermark};
use crate::counting::Counters;
use crate::maps::MapId;

/// Ended events the board keeps for the list on screen.
const ENDED_KEPT: usize = 64;

/// What the detector has found so far, shared with the screen and metrics.
#[derive(Clone, Debug, Default)]
pub struct BoardState {
    /// Live events, oldest first.
    pub active: Vec<Event>,
    /// The latest ended events, latest first.
    pub ended: VecDeque<Event>,
    /// Events started per map and kind since the run began.
    pub started: Vec<(MapId, EventKind, u64)>,
    /// Packet time of the latest tick closed.
    pub clock: u64,
    /// Samples dropped because the detector fell behind a live source.
    pub dropped_samples: u64,
    /// The pinned readout's question, and its latest answer.
    pub query: Option<PinQuery>,
    /// The answer to `query`, once the watch has seen it.
    pub answer: Option<PinAnswer>,
}

impl BoardState {
    /// Events started on `map` of `kind`.
    pub fn started(&self, map: MapId, kind: EventKind) -> u64 {
        self.started
            .iter()
            .find(|(m, k, _)| *m == map && *k == kind)
            .map_or(0, |(_, _, n)| *n)
    }

    fn count_start(&mut self, map: MapId, kind: EventKind) {
        match self.started.iter_mut().find(|(m, k, _)| *m == map && *k == kind) {
            Some(entry) => entry.2 += 1,
            None => self.started.push((map, kind, 1)),
        }
    }
}

/// The detector's findings, for whoever draws or serves them.
#[derive(Debug, Default)]
pub struct EventBoard {
    state: Mutex<BoardState>,
}

/// A pinned readout's question: who sent the recent packets of these cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinQuery {
    /// The map.
    pub map: MapId,
    /// First and last row (row order).
    pub rows: (u8, u8),
    /// First and last column.
    pub columns: (u8, u8),
}

/// The answer, from the samples of the last ticks.
#[derive(Clone, Debug)]
pub struct PinAnswer {
    /// What was asked.
    pub query: PinQuery,
    /// How far back the samples reach (ns of packet time).
    pub window_ns: u64,
    /// Packets the samples stand for.
    pub packets: u64,
    /// First and last packet time seen in the cells.
    pub first: Option<u64>,
    /// Latest packet time seen.
    pub last: Option<u64>,
    /// Top sources, ports and destinations, most first.
    pub sources: Vec<(IpAddr, u64)>,
    /// Top destination ports.
    pub ports: Vec<(u16, u64)>,
    /// Top destination addresses.
    pub destinations: Vec<(IpAddr, u64)>,
}

impl EventBoard {
    /// A board holding `state` (tests of what reads it).
    #[cfg(test)]
    pub(crate) fn with_state(state: BoardState) -> EventBoard {
        EventBoard {
            state: Mutex::new(state),
        }
    }

    /// Reads what is known now without copying it (the wall's frames).
    pub fn read<R>(&self, f: impl FnOnce(&BoardState) -> R) -> R {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A copy of what is known now.
    pub fn snapshot(&self) -> BoardState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Asks the watch who sent the recent packets of `query`'s cells (a
    /// pinned readout), or stops asking with `None`. Answered within a
    /// step of the watch, then kept up to date while asked.
    pub fn ask(&self, query: Option<PinQuery>) {
        self.update(|b| {
            if b.query != query {
                b.query = query;
                b.answer = None;
            }
        });
    }

    /// The pinned question, and whether it has an answer yet.
    fn snapshot_query(&self) -> Option<(PinQuery, bool)> {
        let b = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        b.query.map(|q| (q, b.answer.is_some()))
    }

    fn update(&self, f: impl FnOnce(&mut BoardState)) {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// `--events-log FILE`: one JSON object per line per event start and end,
/// appended; the file is opened again on SIGHUP (after logrotate moved it).
pub struct EventLog {
    path: PathBuf,
    file: File,
    reopen: Arc<AtomicBool>,
}

impl EventLog {
    /// Opens `path` for appending (created 0640 if missing) and asks for
    /// SIGHUP to reopen it.
    pub fn open(path: &Path) -> anyhow::Result<EventLog> {
        let file = open_append(path)?;
        let reopen = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGHUP, reopen.clone())
            .map_err(|e| anyhow::anyhow!("cannot install the SIGHUP handler for --events-log: {e}"))?;
        Ok(EventLog {
            path: path.to_path_buf(),
            file,
            reopen,
        })
    }

    /// Appends one line for `change`, worded as of its own packet time (its
    /// latest packet, or its end), not of whenever the detector got to it; a
    /// failed write is logged and the wall goes on.
    fn write(&mut self, change: &Change) {
        if self.reopen.swap(false, Relaxed) {
            match open_append(&self.path) {
                Ok(f) => self.file = f,
                Err(e) => log::warn!("{e:#}"),
            }
        }
        let (what, e, now) = match change {
            Change::Started(e) => ("start", e, e.last_seen),
            Change::Ended(e) => ("end", e, e.end.unwrap_or(e.last_seen)),
        };
        let mut json = e.to_json(now);
        if let Some(obj) = json.as_object_mut() {
            obj.insert("event".into(), what.into());
        }
        if let Err(err) = writeln!(self.file, "{json}") {
            log::warn!("cannot write the events log {}: {err}", self.path.display());
        }
    }
}

fn open_append(path: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open the events log {}: {e} (give a file in a writable directory)",
                path.display()
            )
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        anyhow::bail!(
            "the events log {} is not a regular file (give a file path)",
            path.display()
        );
    }
    Ok(file)
}

/// A pinned readout is tallied again every this many steps (half a second).
const ANSWER_EVERY_STEPS: u64 = 10;

/// How often the watch thread drains the samplers.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// The detector with its inputs and outputs.
pub struct EventWatch {
    hub: Arc<SampleHub>,
    detector: Detector,
    board: Arc<EventBoard>,
    log: Option<EventLog>,
    /// Every event of the run, ended ones as they end (the `events` command).
    all: Vec<Event>,
    buffer: Vec<Sample>,
    steps: u64,
}

impl EventWatch {
    /// Watches `maps` decaying with `half_life_ns`, fed by `hub`.
    pub fn new(maps: &[MapId], half_life_ns: u64, hub: Arc<SampleHub>, log: Option<EventLog>) -> EventWatch {
        EventWatch {
            hub,
            detector: Detector::new(maps, DetectorConfig::for_half_life(half_life_ns)),
            board: Arc::new(EventBoard::default()),
            log,
            all: Vec::new(),
            buffer: Vec::new(),
            steps: 0,
        }
    }

    /// What the watch found, for the screen and the metrics.
    pub fn board(&self) -> Arc<EventBoard> {
        self.board.clone()
    }

    /// Drains the samplers and closes the ticks every busy source has passed;
    /// answers a pinned readout's question every few steps.
    pub fn step(&mut self) -> Watermark {
        let mark = self.hub.drain(&mut self.buffer);
        self.detector.feed(self.buffer.drain(..));
        let before = self.detector.ticks_closed();
        self.detector.advance(mark.at);
        // Events change only when a tick closes: the board (a copy of every
        // live event) is renewed then, not every step.
        if self.detector.ticks_closed() != before || self.steps == 0 {
            self.publish(mark.at);
        }
        self.steps = self.steps.wrapping_add(1);
        let query = self.board.snapshot_query();
        if let Some((q, answered)) = query
            && (!answered || self.steps.is_multiple_of(ANSWER_EVERY_STEPS))
        {
            let answer = self.answer(q);
            self.board.update(|b| {
                if b.query == Some(q) {
                    b.answer = Some(answer);
                }
            });
        }
        mark
    }

    /// Tallies the recent samples inside `q`'s cells.
    fn answer(&self, q: PinQuery) -> PinAnswer {
        let (cells, first) = self.detector.tally(q.map, q.rows, q.columns);
        PinAnswer {
            query: q,
            window_ns: self.detector.history_ns(),
            packets: cells.packets,
            first,
            last: first.map(|_| cells.last_seen),
            sources: cells.sources.top(REPORTED_SOURCES),
            ports: cells.ports.top(REPORTED_SOURCES),
            destinations: cells.destinations.top(REPORTED_SOURCES),
        }
    }

    fn publish(&mut self, now: u64) {
        let changes = self.detector.take_changes();
        for c in &changes {
            if let Some(log) = &mut self.log {
                log.write(c);
            }
            match c {
                Change::Started(e) => log::debug!("event {} started: {}", e.id, e.label(e.last_seen)),
                Change::Ended(e) => {
                    log::debug!("event {} ended: {}", e.id, e.label(e.last_seen));
                    self.all.push(e.clone());
                }
            }
        }
        let active = self.detector.active().to_vec();
        let dropped = self.hub.dropped();
        self.board.update(|b| {
            for c in changes {
                match c {
                    Change::Started(e) => b.count_start(e.map, e.kind),
                    Change::Ended(e) => {
                        b.ended.push_front(e);
                        b.ended.truncate(ENDED_KEPT);
                    }
                }
            }
            b.active = active;
            b.clock = b.clock.max(now);
            b.dropped_samples = dropped;
        });
    }

    /// Closes the last tick (the input ended) and returns every event of the
    /// run in order of start, those still live with no end.
    pub fn finish(mut self) -> Vec<Event> {
        self.step();
        let live = self.detector.finish();
        let now = live.iter().map(|e| e.last_seen).max().unwrap_or(0);
        self.publish(now);
        let mut all = std::mem::take(&mut self.all);
        all.extend(live);
        all.sort_by_key(|e| e.id);
        all
    }

    /// Samples every writer `counters` makes from now on into a new hub
    /// (see [`Overflow`] for what a full queue does) and runs a watch of
    /// its maps, decaying with `half_life_ns`, on its own thread: what the
    /// wall, `snapshot --events` and `events` each start before their sources.
    pub fn start(
        counters: &Counters,
        half_life_ns: u64,
        overflow: Overflow,
        log: Option<EventLog>,
    ) -> anyhow::Result<RunningWatch> {
        let hub = SampleHub::new(DEFAULT_BUDGET, overflow);
        counters.sample_into(hub.clone());
        let watch = EventWatch::new(counters.maps(), half_life_ns, hub.clone(), log);
        let board = watch.board();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = watch
            .spawn(stop.clone())
            .map_err(|e| anyhow::anyhow!("cannot start the events thread: {e}"))?;
        Ok(RunningWatch {
            board,
            hub,
            stop,
            thread,
        })
    }

    /// Runs the watch on its own thread until `stop`, then finishes it: the
    /// thread's result is every event of the run.
    pub fn spawn(mut self, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<Vec<Event>>> {
        std::thread::Builder::new().name("events".into()).spawn(move || {
            while !stop.load(Relaxed) {
                self.step();
                std::thread::sleep(WATCH_EVERY);
            }
            self.finish()
        })
    }
}

/// A watch running on its own thread ([`EventWatch::start`]).
pub struct RunningWatch {
    /// What it has found, for the screen and the metrics.
    pub board: Arc<EventBoard>,
    hub: Arc<SampleHub>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Event>>,
}

impl RunningWatch {
    /// Stops the watch once the sources have ended (a source waiting for it
    /// must have been let go first) and returns every event of the run.
    pub fn finish(self) -> anyhow::Result<Vec<Event>> {
        self.stop.store(true, Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the events thread failed (a bug: please report it)"))
    }

    /// Samples dropped because the detector fell behind a live source.
    pub fn dropped(&self) -> u64 {
        self.hub.dropped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::MAPS;
    use crate::parse::PacketFacts;
    use std::net::Ipv4Addr;

    fn syn_map() -> MapId {
        MAPS.iter().position(|m| m.name == "syn").unwrap_or(0)
    }

    /// The events log appends one line per change and, after SIGHUP, writes
    /// to a new file of its name (logrotate moved the old one away).
    #[test]
    fn the_events_log_is_opened_again_on_sighup() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("events.jsonl");
        let mut log = EventLog::open(&path).expect("opened");
        let e = Event::new(
            7,
            syn_map(),
            crate::events::Axis::Rows,
            (3, 3),
            (0, 255),
            1_700_000_000_000_000_000,
        );
        log.write(&Change::Started(e.clone()));
        let moved = dir.path().join("events.jsonl.1");
        std::fs::rename(&path, &moved).expect("rotated");
        signal_hook::low_level::raise(signal_hook::consts::SIGHUP).expect("SIGHUP");
        let mut ended = e;
        ended.end = Some(ended.start + 5_000_000_000);
        log.write(&Change::Ended(ended));
        let old = std::fs::read_to_string(&moved).expect("the rotated file");
        let new = std::fs::read_to_string(&path).expect("a new file");
        assert!(
            old.contains("\"event\":\"start\"") && old.lines().count() == 1,
            "{old}"
        );
        assert!(
            new.contains("\"event\":\"end\"") && new.contains("\"id\":7"),
            "{new}"
        );
        assert!(EventLog::open(dir.path()).is_err(), "a folder is refused");
    }

    /// A pinned cell's readout names who sent it packets lately, and a
    /// changed question is answered afresh.
    #[test]
    fn a_pinned_cell_is_told_who_sent_it_packets() {
        let hub = SampleHub::new(1000, Overflow::Wait);
        let mut sampler = hub.sampler();
        let mut watch = EventWatch::new(&[syn_map()], 10_000_000_000, hub.clone(), None);
        let board = watch.board();
        let start = 1_700_000_000_000_000_000u64;
        let scanner = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77));
        let other = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9));
        for i in 0..300u64 {
            let ts = start + i * 10_000_000;
            let (src, cell) = if i % 3 == 0 {
                (other, 0x0505)
            } else {
                (scanner, 0x1122)
            };
            let facts = PacketFacts {
                dst_low16: cell,
                length: 60,
                port: 22,
                flags: PacketFacts::TCP | PacketFacts::L4_PRESENT | PacketFacts::SYN_ONLY,
            };
            if sampler.due(ts) {
                sampler.take(
                    ts,
                    &facts,
                    Some((src, IpAddr::V4(Ipv4Addr::new(10, 0, 0x11, 0x22)))),
                    1,
                );
            }
        }
        sampler.publish(start + 3_000_000_000);
        watch.step();
        let query = PinQuery {
            map: syn_map(),
            rows: (0x11, 0x11),
            columns: (0x22, 0x22),
        };
        board.ask(Some(query));
        watch.step();
        let answer = board.snapshot().answer.expect("answered within a step");
        assert_eq!(answer.query, query);
        assert_eq!(answer.packets, 200);
        assert_eq!(answer.sources, vec![(scanner, 200)]);
        assert_eq!(answer.ports, vec![(22, 200)]);
        // The row of the other cell: only the other sender.
        board.ask(Some(PinQuery {
            rows: (5, 5),
            columns: (0, 255),
            ..query
        }));
        assert!(
            board.snapshot().answer.is_none(),
            "a new question drops the old answer"
        );
        watch.step();
        let answer = board.snapshot().answer.expect("answered");
        assert_eq!(answer.sources, vec![(other, 100)]);
        board.ask(None);
        watch.step();
        assert!(board.snapshot().answer.is_none());
    }
}
