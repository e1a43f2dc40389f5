//! A running session: counters plus the source threads that fill them, and
//! the frame-side view (maps, rates, status line) that the wall and `snapshot`
//! draw from. The model half of the program: no window, no GPU.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};

use crate::cli::{CountingArgs, SourceArgs};
use crate::commands::setup;
use crate::counting::HalfLife;
use crate::counting::{Counters, Decay, FrameReader, MapFrame, PacketSink};
use crate::duration::parse as parse_duration;
use crate::maps::{self, MAPS, MapId};
use crate::parse::{Classifier, LocalNets};
use crate::render::scale::{self, AutoGain, MapScale, MapStats, ScaleMode};
use crate::render::{StatusInfo, TileInput};
use crate::source::demo::{DemoConfig, DemoTraffic};
use crate::source::file::CaptureFile;
use crate::source::libpcap::{LiveCapture, LiveOptions};
use crate::source::listen::{StreamListener, parse_listen_addr};
use crate::source::pacing::ReplayClock;
use crate::source::pcap_format::StreamReader;
use crate::source::sflow::{SflowCollector, parse_sflow_addr};
use crate::source::{Pacer, Pump, RecordFilter, RecordSource, SourceError, SourceStatus, Speed, pump};

/// A source thread's body, built while the source is opened and run once
/// privileges are dropped.
type SourceBody = Box<dyn FnOnce() -> Result<(), SourceError> + Send>;

/// Which source a session reads.
#[derive(Clone, Debug)]
pub enum SourceSpec {
    /// A capture file.
    File(PathBuf),
    /// A pcap stream on standard input (`-r -`).
    Stdin,
    /// Live interfaces, a capture thread each.
    Interfaces(Vec<LiveOptions>),
    /// pcap streams from TCP senders.
    Listen {
        /// Where to accept them.
        addr: SocketAddr,
        /// How long a silent sender keeps its slot (`--stream-idle-timeout`).
        idle_timeout: std::time::Duration,
    },
    /// sFlow datagrams from switches and routers (UDP).
    Sflow {
        /// Where to receive them.
        addr: SocketAddr,
        /// Stop after this much wall clock (`snapshot --seconds`); `None`: until stopped.
        run_for: Option<std::time::Duration>,
    },
    /// Counter deltas from `scanwall sensor`s (TCP, authenticated).
    Sensors {
        /// Where to accept them.
        addr: SocketAddr,
        /// The secret the sensors must prove they hold.
        key: Arc<crate::sensor::SensorKey>,
        /// Stop after this much wall clock (`snapshot --seconds`); `None`: until stopped.
        run_for: Option<std::time::Duration>,
    },
    /// The built-in synthetic traffic.
    Demo(DemoConfig),
}

/// Everything needed to start a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Where packets come from.
    pub source: SourceSpec,
    /// The inbound rule.
    pub locals: LocalNets,
    /// Maps counted (and shown, in this order).
    pub maps: Vec<MapId>,
    /// How counts fade.
    pub decay: Decay,
    /// Half-life of the slow baseline the change view compares against;
    /// `None` keeps no baseline (half the counter memory).
    pub baseline: Option<HalfLife>,
    /// Replay speed of files and the demo.
    pub speed: Speed,
    /// Replay the file again and again.
    pub repeat: bool,
    /// BPF expression.
    pub filter: Option<String>,
    /// The user to become once the sources are open, when started as root
    /// (`--user`; `None` means [`crate::privilege::DEFAULT_USER`]).
    pub user: Option<String>,
}

impl SessionConfig {
    /// Builds a configuration from the command line. `live_wall` selects the
    /// wall's defaults (demo paced in real time from now) over the headless
    /// ones (demo from a fixed start, `demo_seconds` long, as fast as possible).
    pub fn from_args(
        source: &SourceArgs,
        counting: &CountingArgs,
        live_wall: bool,
        demo_seconds: Option<f64>,
    ) -> anyhow::Result<Self> {
        let mut locals_text = source.local.clone();
        let speed = Speed::parse(&source.speed).map_err(|e| anyhow!(e))?;
        let spec = if let Some(path) = &source.read {
            if path.as_os_str() == "-" {
                SourceSpec::Stdin
            } else {
                SourceSpec::File(path.clone())
            }
        } else if !source.interface.is_empty() {
            let opts = source
                .interface
                .iter()
                .map(|i| LiveOptions {
                    interface: i.clone(),
                    snaplen: source.snaplen,
                    buffer_mb: source.buffer_mb,
                    promiscuous: !source.no_promisc,
                    filter: source.filter.filter_expression(),
                })
                .collect();
            SourceSpec::Interfaces(opts)
        } else if let Some(addr) = &source.listen {
            SourceSpec::Listen {
                addr: parse_listen_addr(addr).map_err(|e| anyhow!(e))?,
                idle_timeout: parse_duration("--stream-idle-timeout", &source.stream_idle_timeout)
                    .map_err(|e| anyhow!(e))?,
            }
        } else if let Some(addr) = &source.sflow {
            let seconds = demo_seconds.filter(|_| !live_wall).map(|s| s.max(0.0));
            SourceSpec::Sflow {
                addr: parse_sflow_addr(addr).map_err(|e| anyhow!(e))?,
                run_for: seconds
                    .map(|s| std::time::Duration::try_from_secs_f64(s).unwrap_or(std::time::Duration::MAX)),
            }
        } else if let Some(addr) = &source.sensors_listen {
            let seconds = demo_seconds.filter(|_| !live_wall).map(|s| s.max(0.0));
            SourceSpec::Sensors {
                addr: crate::source::listen::parse_bind_addr("--sensors-listen", addr, "0.0.0.0:7311")
                    .map_err(|e| anyhow!(e))?,
                key: crate::sensor::wall_key(source)?,
                run_for: seconds
                    .map(|s| std::time::Duration::try_from_secs_f64(s).unwrap_or(std::time::Duration::MAX)),
            }
        } else {
            if locals_text.is_empty() {
                locals_text.push(crate::source::demo::DEMO_LOCAL.to_string());
            }
            let start_ns = if live_wall {
                now_ns()
            } else {
                DemoConfig::FIXED_START_NS
            };
            let duration_ns = demo_seconds.map(|s| (s.max(0.0) * 1e9) as u64);
            SourceSpec::Demo(DemoConfig {
                seed: source.seed,
                rate_pps: source.demo_rate,
                start_ns,
                duration_ns,
            })
        };
        let speed = match (&spec, live_wall) {
            (SourceSpec::Demo(_), true) => Speed::Times(1.0),
            (_, true) => speed,
            (_, false) => Speed::Max,
        };
        Ok(SessionConfig {
            source: spec,
            locals: setup::locals(&locals_text)?,
            maps: setup::maps(counting.maps.as_deref(), maps::default_shown())?,
            decay: setup::decay(counting)?,
            baseline: setup::baseline(counting)?,
            speed,
            repeat: source.repeat && live_wall,
            filter: source.filter.filter_expression(),
            user: source.user.clone(),
        })
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Counters being filled by source threads.
pub struct Session {
    counters: Arc<Counters>,
    status: Arc<SourceStatus>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<(), SourceError>>>,
    maps: Vec<MapId>,
    clock: SessionClock,
    frames: Arc<crate::metrics::FrameStats>,
}

/// What "now" is on the packet clock, for the frame side.
#[derive(Clone, Debug)]
enum SessionClock {
    /// The latest packet's time (flat-out replays, streams from other hosts).
    LastPacket,
    /// The system clock: live interfaces time-stamp packets with it, so a
    /// quiet network still fades.
    System,
    /// A paced replay's own clock, running between packets.
    Replay(ReplayClock),
}

impl Session {
    /// Opens the source (errors surface here, before any window opens) and
    /// starts its threads.
    pub fn start(config: SessionConfig) -> anyhow::Result<Session> {
        let counters = Counters::with_baseline(config.maps.clone(), config.decay, config.baseline);
        Self::start_with_counters(config, counters)
    }

    /// [`Session::start`] counting into `counters` made by the caller for
    /// `config` (a sensor's uplinks hold them before a replay starts).
    pub fn start_with_counters(config: SessionConfig, counters: Arc<Counters>) -> anyhow::Result<Session> {
        let stop = Arc::new(AtomicBool::new(false));
        let (description, demo) = match &config.source {
            SourceSpec::File(p) => (p.display().to_string(), false),
            SourceSpec::Stdin => ("stdin".to_string(), false),
            SourceSpec::Interfaces(o) => (
                o.iter()
                    .map(|o| o.interface.as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
                false,
            ),
            SourceSpec::Listen { addr, .. } => (format!("stream {addr}"), false),
            SourceSpec::Sflow { addr, .. } => (format!("sflow {addr}"), false),
            SourceSpec::Sensors { addr, .. } => (format!("sensors {addr}"), false),
            SourceSpec::Demo(_) => ("demo".to_string(), true),
        };
        let status = Arc::new(SourceStatus::new(description, demo));
        let clock = match (&config.source, config.speed) {
            (SourceSpec::Interfaces(_), _) => SessionClock::System,
            // Samples are stamped on arrival: a quiet network still fades.
            (SourceSpec::Sflow { .. }, _) => SessionClock::System,
            // Deltas are stamped with the sensors' clocks, as live capture is.
            (SourceSpec::Sensors { .. }, _) => SessionClock::System,
            (SourceSpec::File(_) | SourceSpec::Stdin | SourceSpec::Demo(_), Speed::Times(f)) => {
                SessionClock::Replay(ReplayClock::new(f))
            }
            _ => SessionClock::LastPacket,
        };
        // Every source is opened first; its thread starts only once root has
        // been dropped, so no packet is ever parsed with privileges.
        let mut bodies: Vec<(String, SourceBody)> = Vec::new();
        let mut spawn = |name: &str, f: SourceBody| -> anyhow::Result<()> {
            bodies.push((name.to_string(), f));
            Ok(())
        };
        match config.source.clone() {
            SourceSpec::File(path) => {
                let file = CaptureFile::open(&path)?;
                let ctx = ReplayContext::new(&config, &counters, &status, &stop, file.link(), &clock)?;
                spawn("replay", Box::new(move || ctx.replay(file, Some(path))))?;
            }
            SourceSpec::Stdin => {
                let reader = StreamReader::new(std::io::stdin(), "standard input")?;
                let ctx = ReplayContext::new(&config, &counters, &status, &stop, reader.link(), &clock)?;
                let ended = status.clone();
                spawn(
                    "stdin",
                    Box::new(move || {
                        let result = ctx.replay(reader, None);
                        // A stream that ends is a lost feed, not a finished
                        // file: the picture keeps fading and says so.
                        ended.stalled.store(true, Relaxed);
                        result
                    }),
                )?;
            }
            SourceSpec::Demo(demo) => {
                let traffic = DemoTraffic::new(demo);
                let ctx = ReplayContext::new(&config, &counters, &status, &stop, traffic.link(), &clock)?;
                spawn("demo", Box::new(move || ctx.replay(traffic, None)))?;
            }
            SourceSpec::Interfaces(list) => {
                for options in list {
                    let capture = LiveCapture::open(&options)?;
                    let classifier = Classifier::new(capture.link(), config.locals.clone());
                    let mut sink = PacketSink::new(classifier, counters.writer());
                    let (status, stop) = (status.clone(), stop.clone());
                    let name = format!("capture {}", options.interface);
                    spawn(
                        &name,
                        Box::new(move || {
                            capture.run(&mut sink, &status, &stop);
                            Ok(())
                        }),
                    )?;
                }
            }
            SourceSpec::Listen { addr, idle_timeout } => {
                let listener = StreamListener::bind(addr, counters.clone(), config.locals.clone())?
                    .idle_timeout(idle_timeout)
                    .filter(config.filter.clone());
                status.stalled.store(true, Relaxed);
                let (status, stop) = (status.clone(), stop.clone());
                spawn(
                    "listen",
                    Box::new(move || {
                        listener.serve(status, stop);
                        Ok(())
                    }),
                )?;
            }
            SourceSpec::Sflow { addr, run_for } => {
                let collector = SflowCollector::bind(addr, counters.clone(), config.locals.clone())?
                    .filter(config.filter.as_deref())?
                    .stop_after(run_for);
                let (status, stop) = (status.clone(), stop.clone());
                spawn(
                    "sflow",
                    Box::new(move || {
                        collector.serve(status, stop);
                        Ok(())
                    }),
                )?;
            }
            SourceSpec::Sensors { addr, key, run_for } => {
                let listener = crate::sensor::listen::SensorListener::bind(addr, counters.clone(), key)?
                    .run_for(run_for);
                let (status, stop) = (status.clone(), stop.clone());
                spawn(
                    "sensors",
                    Box::new(move || {
                        listener.serve(status, stop);
                        Ok(())
                    }),
                )?;
            }
        }
        // Live captures keep what they need to reopen a lost interface.
        let capture = matches!(config.source, SourceSpec::Interfaces(_));
        crate::privilege::drop_root_and_report(config.user.as_deref(), capture)?;
        let mut threads = Vec::new();
        for (name, body) in bodies {
            let thread = std::thread::Builder::new()
                .name(name)
                .spawn(body)
                .context("cannot start a capture thread");
            match thread {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stop.store(true, Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(Session {
            counters,
            status,
            stop,
            clock,
            threads,
            maps: config.maps,
            frames: Arc::default(),
        })
    }

    /// The counters this session fills.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Live facts about the source.
    pub fn status(&self) -> &Arc<SourceStatus> {
        &self.status
    }

    /// The maps shown, in order.
    pub fn maps(&self) -> &[MapId] {
        &self.maps
    }

    /// "Now" on the packet clock, for the frame side: the system clock for live
    /// interfaces, a paced replay's running clock until it ends, otherwise the
    /// latest packet's time. `None` before anything can be said.
    pub fn now(&self) -> Option<u64> {
        let last = self.counters.packet_clock();
        let running = match &self.clock {
            SessionClock::LastPacket => None,
            SessionClock::System => Some(now_ns()),
            SessionClock::Replay(_) if self.status.finished.load(Relaxed) => None,
            SessionClock::Replay(c) => c.now(),
        };
        match (running, last) {
            (Some(r), Some(l)) => Some(r.max(l)),
            // Before the first packet there is nothing to decay.
            (_, None) => None,
            (None, l) => l,
        }
    }

    /// What `--metrics` reads: counters, source status and frame timing.
    pub fn metrics_sources(&self) -> crate::metrics::MetricsSources {
        crate::metrics::MetricsSources {
            counters: self.counters.clone(),
            status: self.status.clone(),
            frames: self.frames.clone(),
        }
    }

    /// Frame timing, reported by the window.
    pub fn frame_stats(&self) -> &Arc<crate::metrics::FrameStats> {
        &self.frames
    }

    /// A frame reader of this session's maps.
    pub fn frame_reader(&self) -> FrameReader {
        FrameReader::new(self.counters.clone(), self.maps.clone())
    }

    /// Asks the source threads to stop.
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Waits for every source thread; the first error is returned.
    pub fn wait(&mut self) -> Result<(), SourceError> {
        let mut first = Ok(());
        for t in self.threads.drain(..) {
            let r = t.join().unwrap_or(Ok(()));
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// The status line for `frame`, drawn at `frames_per_sec`.
    pub fn status_info(&self, frame: &MapFrame, frames_per_sec: f64) -> StatusInfo {
        let s = &self.status;
        let peers = s.peers.summaries();
        StatusInfo {
            source: match s.error() {
                Some(e) => format!("{} ({e})", s.description),
                None => s.description.clone(),
            },
            demo: s.demo,
            packets_per_sec: frame.packets_per_sec,
            kernel_drops: s.kernel_drops.load(Relaxed),
            interface_drops: s.interface_drops.load(Relaxed),
            drop_percent: s.drop_percent(),
            half_life: match self.counters.decay().mode {
                crate::counting::DecayMode::None => "none (totals)".to_string(),
                crate::counting::DecayMode::Step => format!("{} (step)", self.counters.half_life()),
                crate::counting::DecayMode::Exponential => self.counters.half_life().to_string(),
            },
            packet_clock: frame
                .at_ns
                .map(format_packet_time)
                .unwrap_or_else(|| "no packets yet".into()),
            frames_per_sec,
            // Remote feeders: stalled while none of them is live.
            stalled: s.stalled.load(Relaxed) || (!peers.is_empty() && !peers.iter().any(|p| p.live)),
            shed: s.shed.load(Relaxed),
            peers,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The tiles of `frame`, in order, for the renderer (with baselines, without
/// scale numbers: enough for the paper scale; see [`scaled_tiles`]).
pub fn tiles(frame: &MapFrame) -> Vec<TileInput<'_>> {
    frame
        .maps
        .iter()
        .zip(&frame.values)
        .zip(&frame.rates_pps)
        .enumerate()
        .map(|(i, ((&m, values), &rate_pps))| TileInput {
            def: &MAPS[m],
            values,
            rate_pps,
            baseline: frame
                .baselines
                .get(i)
                .filter(|_| frame.baselines_read)
                .map(Vec::as_slice),
            scale: None,
        })
        .collect()
}

/// The tiles of `frame` with the scale numbers `scales` computed for it, so
/// every scale mode and the change view can be drawn.
pub fn scaled_tiles<'a>(frame: &'a MapFrame, scales: &'a FrameScales) -> Vec<TileInput<'a>> {
    let mut t = tiles(frame);
    for (tile, scale) in t.iter_mut().zip(&scales.scales) {
        tile.scale = Some(scale);
    }
    t
}

/// The frame side's scale state: per shown map, this frame's scale numbers
/// and the auto gain's smoothing. Updated once per frame read. The rank
/// table (a log2 histogram of every cell, most of a frame's CPU time) is
/// built only while a mode that uses it is shown (auto, rank); the auto gain
/// starts again from its target when such a mode is switched on, so the
/// first frame is as settled as any.
#[derive(Debug, Default)]
pub struct FrameScales {
    scales: Vec<MapScale>,
    gains: Vec<AutoGain>,
}

impl FrameScales {
    /// Computes the numbers `mode` needs for `frame`, whose short-term decay
    /// has `half_life` and whose baseline (if any) has `baseline`.
    pub fn update(
        &mut self,
        frame: &MapFrame,
        half_life: HalfLife,
        baseline: Option<HalfLife>,
        mode: ScaleMode,
    ) {
        let n = frame.values.len();
        self.scales.resize_with(n, MapScale::default);
        self.gains.resize(n, AutoGain::default());
        let at = frame.at_ns.unwrap_or(0);
        let since = frame.totals.first_ts.map_or(0, |first| at.saturating_sub(first));
        let short_rate = scale::rate_per_value(half_life.as_nanos(), since);
        let baseline_rate = baseline.map_or(0.0, |b| scale::rate_per_value(b.as_nanos(), since));
        let ranked = matches!(mode, ScaleMode::Auto | ScaleMode::Rank);
        // Peaks found by the read, when the frame has them for every map.
        let peaks = Some(&frame.peaks).filter(|p| p.len() == n);
        for (i, ((values, s), gain)) in frame
            .values
            .iter()
            .zip(&mut self.scales)
            .zip(&mut self.gains)
            .enumerate()
        {
            if ranked {
                s.fill_ranks(values, &MapStats::of(values));
                s.gain = match frame.at_ns {
                    Some(at) => gain.update(s.auto_gain_target(), at),
                    None => 1.0,
                };
            } else {
                s.max = peaks.map_or_else(|| crate::counting::peak(values), |p| p[i]);
                s.gain = 1.0;
                *gain = AutoGain::default();
            }
            s.short_rate = short_rate;
            s.baseline_rate = baseline_rate;
        }
    }

    /// The numbers of each shown map, in tile order.
    pub fn scales(&self) -> &[MapScale] {
        &self.scales
    }
}

/// Packet time as UTC `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_packet_time(ns: u64) -> String {
    let t = crate::utc::Utc::from_unix_secs(ns / 1_000_000_000);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// What a replay thread needs: the sink, pacing, filter and stop flag.
struct ReplayContext {
    sink: PacketSink,
    filter: Option<RecordFilter>,
    speed: Speed,
    repeat: bool,
    status: Arc<SourceStatus>,
    stop: Arc<AtomicBool>,
    clock: Option<ReplayClock>,
}

impl ReplayContext {
    fn new(
        config: &SessionConfig,
        counters: &Counters,
        status: &Arc<SourceStatus>,
        stop: &Arc<AtomicBool>,
        link: crate::parse::LinkType,
        clock: &SessionClock,
    ) -> Result<Self, SourceError> {
        let filter = config
            .filter
            .as_deref()
            .map(|f| RecordFilter::compile(f, link))
            .transpose()?;
        Ok(ReplayContext {
            sink: PacketSink::new(Classifier::new(link, config.locals.clone()), counters.writer()),
            filter,
            speed: config.speed,
            repeat: config.repeat,
            status: status.clone(),
            stop: stop.clone(),
            clock: match clock {
                SessionClock::Replay(c) => Some(c.clone()),
                _ => None,
            },
        })
    }

    /// Reads `source` to its end; with `--loop` and a file, again and again
    /// with timestamps shifted so the packet clock keeps rising.
    fn replay<S: Rewind>(mut self, mut source: S, path: Option<PathBuf>) -> Result<(), SourceError> {
        let mut offset = 0u64;
        let mut pacer = match self.clock.take() {
            Some(clock) => Pacer::with_clock(self.speed, clock),
            None => Pacer::new(self.speed),
        };
        loop {
            let mut p = Pump {
                pacer,
                filter: self.filter.as_ref(),
                stop: &self.stop,
                ts_offset: offset,
            };
            let (summary, result) = pump(&mut source, &mut self.sink, &mut p);
            pacer = p.pacer;
            if let Err(e) = result {
                self.status.set_error(Some(e.to_string()));
                self.status.stalled.store(true, Relaxed);
                return Err(e);
            }
            let (Some(first), Some(last), true, Some(path)) =
                (summary.first_ts, summary.last_ts, self.repeat, &path)
            else {
                break;
            };
            if self.stop.load(Relaxed) {
                break;
            }
            // The next pass starts one millisecond after this one ended.
            offset += last.saturating_sub(first) + 1_000_000;
            source.rewind_to_start(path)?;
        }
        self.status.finished.store(true, Relaxed);
        Ok(())
    }
}

/// Sources a `--loop` replay can start again.
trait Rewind: RecordSource {
    fn rewind_to_start(&mut self, path: &std::path::Path) -> Result<(), SourceError>;
}

impl Rewind for CaptureFile {
    fn rewind_to_start(&mut self, path: &std::path::Path) -> Result<(), SourceError> {
        self.rewind(path)
    }
}

impl<R: std::io::Read> Rewind for StreamReader<R> {
    fn rewind_to_start(&mut self, _: &std::path::Path) -> Result<(), SourceError> {
        Ok(())
    }
}

impl Rewind for DemoTraffic {
    fn rewind_to_start(&mut self, _: &std::path::Path) -> Result<(), SourceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_tables_are_built_only_for_the_modes_that_use_them() {
        use crate::counting::{Counters, Decay, FrameReader, HalfLife};
        use crate::render::scale::AUTO_MEDIAN_AT;
        let syn = crate::maps::by_name("syn").expect("syn");
        let counters = Counters::new(vec![syn], Decay::NONE);
        let mut w = counters.writer();
        let facts = crate::parse::PacketFacts {
            flags: crate::parse::PacketFacts::TCP
                | crate::parse::PacketFacts::L4_PRESENT
                | crate::parse::PacketFacts::SYN_ONLY,
            ..Default::default()
        };
        for key in 0..100u16 {
            for _ in 0..=key {
                w.add(
                    1_000_000_000,
                    &crate::parse::PacketFacts {
                        dst_low16: key,
                        ..facts
                    },
                );
            }
        }
        w.flush();
        let mut reader = FrameReader::new(counters.clone(), vec![syn]);
        let frame = reader.read(None);
        let mut scales = FrameScales::default();
        let h = HalfLife::parse("10s").expect("half-life");
        scales.update(frame, h, None, ScaleMode::Paper);
        let paper = scales.scales()[0].clone();
        assert_eq!(paper.max, 100.0);
        assert_eq!((paper.rank_lo, paper.rank_hi, paper.gain), (0.0, 0.0, 1.0));
        scales.update(frame, h, None, ScaleMode::Auto);
        let auto = scales.scales()[0].clone();
        assert_eq!((auto.rank_lo, auto.rank_hi), (0.0, 100f32.log2()));
        // The first auto frame takes its target as is: the median (about 50)
        // goes to the middle stop.
        assert!(
            (auto.gain - AUTO_MEDIAN_AT / auto.value_at_rank(0.5)).abs() < 1e-3,
            "{}",
            auto.gain
        );
        scales.update(frame, h, None, ScaleMode::Rank);
        assert_eq!(scales.scales()[0].rank_cdf, auto.rank_cdf);
    }

    #[test]
    fn packet_time_is_utc() {
        assert_eq!(
            format_packet_time(DemoConfig::FIXED_START_NS),
            "2021-06-01 00:00:00 UTC"
        );
        assert_eq!(format_packet_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_packet_time(951_782_400 * 1_000_000_000 + 3_723_000_000_000),
            "2000-02-29 01:02:03 UTC"
        );
    }
}
