//! Running the detector beside the sources: draining the samplers, closing
//! ticks as the packet clock passes them, and telling the screen
//! ([`EventBoard`]), the metrics and the events log ([`EventLog`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::detect::{Change, Detector, DetectorConfig};
use super::event::{Event, EventKind};
use super::sample::{Sample, SampleHub, Watermark};
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

impl EventBoard {
    /// A copy of what is known now.
    pub fn snapshot(&self) -> BoardState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
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
        }
    }

    /// What the watch found, for the screen and the metrics.
    pub fn board(&self) -> Arc<EventBoard> {
        self.board.clone()
    }

    /// Drains the samplers and closes the ticks every busy source has passed.
    pub fn step(&mut self) -> Watermark {
        let mark = self.hub.drain(&mut self.buffer);
        self.detector.feed(self.buffer.drain(..));
        self.detector.advance(mark.at);
        self.publish(mark.at);
        mark
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
