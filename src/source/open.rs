//! The one source opener: a [`SourceSpec`] (plain data, from the command line
//! or a test) becomes an [`OpenSource`]: its files opened, its sockets bound,
//! its interfaces open, and the bodies of its threads built but not started.
//!
//! Why two steps: every source must be open before root is dropped (a capture
//! handle, a port below 1024, a file only root may read), and no packet may be
//! parsed before it is. The command opens every source here, drops privileges
//! once, then hands the open sources to [`crate::session::Session::start`],
//! which runs them. A test can hand the session sources of its own
//! ([`OpenSource::from_body`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use super::demo::{DemoConfig, DemoTraffic};
use super::file::CaptureFile;
use super::libpcap::{LiveCapture, LiveOptions};
use super::listen::StreamListener;
use super::netflow::{NetflowCollector, NetflowStats};
use super::pacing::ReplayClock;
use super::parallel::ReadJob;
use super::pcap_format::StreamReader;
use super::sflow::{SflowCollector, SflowStats};
use super::{Pacer, Pump, RecordFilter, RecordSource, SourceError, SourceStatus, Speed, pump};
use crate::counting::{Counters, PacketSink};
use crate::parse::{Classifier, LinkType, LocalNets};
use crate::sensor::SensorKey;
use crate::sensor::listen::{ListenerStats, SensorListener};

/// Which source to read.
#[derive(Clone, Debug)]
pub enum SourceSpec {
    /// A capture file.
    File(PathBuf),
    /// A pcap stream on standard input (`-r -`).
    Stdin,
    /// Live interfaces, a capture thread each (or `threads` each, see
    /// [`LiveOptions::threads`]).
    Interfaces(Vec<LiveOptions>),
    /// pcap streams from TCP senders.
    Listen {
        /// Where to accept them.
        addr: SocketAddr,
        /// How long a silent sender keeps its slot (`--stream-idle-timeout`).
        idle_timeout: Duration,
        /// Stop once this many connections have closed (`count --streams`).
        streams: Option<usize>,
        /// Stop after this much wall clock; `None`: until stopped.
        run_for: Option<Duration>,
    },
    /// sFlow datagrams from switches and routers (UDP).
    Sflow {
        /// Where to receive them.
        addr: SocketAddr,
        /// Stop after this much wall clock; `None`: until stopped.
        run_for: Option<Duration>,
    },
    /// NetFlow v5/v9 and IPFIX datagrams from routers and switches (UDP, one socket).
    Netflow {
        /// Where to receive them.
        addr: SocketAddr,
        /// Stop after this much wall clock; `None`: until stopped.
        run_for: Option<Duration>,
    },
    /// Counter deltas from `scanwall sensor`s (TCP, authenticated).
    Sensors {
        /// Where to accept them.
        addr: SocketAddr,
        /// The secret the sensors must prove they hold.
        key: Arc<SensorKey>,
        /// Stop once this many sensor connections have closed (`count --sensors`).
        connections: Option<usize>,
        /// Stop after this much wall clock; `None`: until stopped.
        run_for: Option<Duration>,
    },
    /// The built-in synthetic traffic.
    Demo(DemoConfig),
}

impl SourceSpec {
    /// What the status line calls the source.
    pub fn description(&self) -> String {
        match self {
            SourceSpec::File(p) => p.display().to_string(),
            SourceSpec::Stdin => "stdin".to_string(),
            SourceSpec::Interfaces(o) => o
                .iter()
                .map(|o| o.interface.as_str())
                .collect::<Vec<_>>()
                .join("+"),
            SourceSpec::Listen { addr, .. } => format!("stream {addr}"),
            SourceSpec::Sflow { addr, .. } => format!("sflow {addr}"),
            SourceSpec::Netflow { addr, .. } => format!("netflow {addr}"),
            SourceSpec::Sensors { addr, .. } => format!("sensors {addr}"),
            SourceSpec::Demo(_) => "demo".to_string(),
        }
    }

    /// Whether the source is a live capture, which keeps what it needs to
    /// reopen a lost interface across the privilege drop.
    pub fn is_capture(&self) -> bool {
        matches!(self, SourceSpec::Interfaces(_))
    }

    /// Whether the source is read at the reader's own pace (a file, standard
    /// input, the demo), so that the event detector may hold it back rather
    /// than lose samples; a network source must never be held back.
    pub fn can_wait(&self) -> bool {
        matches!(
            self,
            SourceSpec::File(_) | SourceSpec::Stdin | SourceSpec::Demo(_)
        )
    }

    /// Whether the source ends by itself (a file or standard input).
    pub fn ends(&self) -> bool {
        matches!(self, SourceSpec::File(_) | SourceSpec::Stdin)
    }
}

/// How the packets of a source count: the same for every kind of source.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The inbound rule.
    pub locals: LocalNets,
    /// BPF expression.
    pub filter: Option<String>,
    /// Replay speed of files and the demo.
    pub speed: Speed,
    /// Replay a file again and again.
    pub repeat: bool,
    /// Threads that read a classic pcap file in parts (`count --threads`);
    /// 1 reads it in order, as a replay must.
    pub reader_threads: usize,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            locals: LocalNets::default(),
            filter: None,
            speed: Speed::Max,
            repeat: false,
            reader_threads: 1,
        }
    }
}

/// What "now" is on the packet clock for a source, for the frame side.
#[derive(Clone, Debug)]
pub enum SourceClock {
    /// The latest packet's time (flat-out replays, streams from other hosts).
    LastPacket,
    /// The system clock: live interfaces time-stamp packets with it, so a
    /// quiet network still fades.
    System,
    /// A paced replay's own clock, running between packets.
    Replay(ReplayClock),
}

/// A source thread's body, run once privileges are dropped.
pub type SourceBody = Box<dyn FnOnce(Arc<AtomicBool>) -> Result<(), SourceError> + Send>;

/// Figures a source keeps beyond its [`SourceStatus`], for `count`'s report.
#[derive(Clone, Debug)]
pub enum SourceReport {
    /// The sFlow collector's datagrams, drops and agents.
    Sflow(Arc<SflowStats>),
    /// The NetFlow/IPFIX collector's datagrams, templates and exporters.
    Netflow(Arc<NetflowStats>),
    /// The sensor listener's sensors and refusals.
    Sensors(Arc<ListenerStats>),
}

/// An open source: its status, its clock, and its threads' bodies.
pub struct OpenSource {
    /// Live facts about the source (status line, metrics).
    pub status: Arc<SourceStatus>,
    /// What "now" is on its packet clock.
    pub clock: SourceClock,
    /// Whether it captures live (keeps the capture capabilities across the drop).
    pub capture: bool,
    /// Extra figures, for the sources that keep some.
    pub report: Option<SourceReport>,
    /// Each open capture as tcpdump's "listening on" names it:
    /// `eth1 (Ethernet, 256 MiB kernel buffer)`, or with `--capture-threads`
    /// `eth1 (Ethernet, 2 capture threads, 256 MiB kernel buffer each)`.
    pub ready: Vec<String>,
    bodies: Vec<(String, SourceBody)>,
}

impl OpenSource {
    /// A source made of one thread body, for sources the opener does not
    /// know (tests hand the session fakes this way).
    pub fn from_body(status: SourceStatus, name: &str, body: SourceBody) -> OpenSource {
        OpenSource {
            status: Arc::new(status),
            clock: SourceClock::LastPacket,
            capture: false,
            report: None,
            ready: Vec::new(),
            bodies: vec![(name.to_string(), body)],
        }
    }

    /// The thread bodies, with their thread names.
    pub fn into_bodies(self) -> Vec<(String, SourceBody)> {
        self.bodies
    }
}

/// Opens `spec`, counting into `counters` by `options`; nothing runs yet.
pub fn open(
    spec: &SourceSpec,
    counters: &Arc<Counters>,
    options: &OpenOptions,
) -> Result<OpenSource, SourceError> {
    let status = Arc::new(SourceStatus::new(
        spec.description(),
        matches!(spec, SourceSpec::Demo(_)),
    ));
    let clock = match (spec, options.speed) {
        // Live captures and samples are stamped on arrival: a quiet network still fades.
        (SourceSpec::Interfaces(_) | SourceSpec::Sflow { .. } | SourceSpec::Netflow { .. }, _) => {
            SourceClock::System
        }
        // Deltas are stamped with the sensors' clocks, as live capture is.
        (SourceSpec::Sensors { .. }, _) => SourceClock::System,
        (SourceSpec::File(_) | SourceSpec::Stdin | SourceSpec::Demo(_), Speed::Times(f)) => {
            SourceClock::Replay(ReplayClock::new(f))
        }
        _ => SourceClock::LastPacket,
    };
    let mut open = OpenSource {
        status: status.clone(),
        clock: clock.clone(),
        capture: spec.is_capture(),
        report: None,
        ready: Vec::new(),
        bodies: Vec::new(),
    };
    let replay_clock = match &clock {
        SourceClock::Replay(c) => Some(c.clone()),
        _ => None,
    };
    match spec.clone() {
        SourceSpec::File(path) => {
            let file = CaptureFile::open(&path)?;
            match file {
                CaptureFile::Classic(file)
                    if options.reader_threads > 1 && options.speed == Speed::Max && !options.repeat =>
                {
                    let job = ReadJob {
                        counters: counters.clone(),
                        locals: options.locals.clone(),
                        filter: options.filter.clone(),
                    };
                    let threads = options.reader_threads;
                    let ended = status.clone();
                    open.bodies.push((
                        "read".into(),
                        Box::new(move |_stop| {
                            let result = job.count_parallel(file, threads);
                            ended.mark_finished();
                            result
                        }),
                    ));
                }
                file => {
                    let replay = Replay::new(options, counters, &status, file.link(), replay_clock)?;
                    open.bodies.push((
                        "replay".into(),
                        Box::new(move |stop| replay.run(file, Some(path), &stop)),
                    ));
                }
            }
        }
        SourceSpec::Stdin => {
            let reader = StreamReader::new(std::io::stdin(), "standard input")?;
            let replay = Replay::new(options, counters, &status, reader.link(), replay_clock)?;
            let ended = status.clone();
            open.bodies.push((
                "stdin".into(),
                Box::new(move |stop| {
                    let result = replay.run(reader, None, &stop);
                    // A stream that ends is a lost feed, not a finished
                    // file: the picture keeps fading and says so.
                    ended.stalled.store(true, Relaxed);
                    result
                }),
            ));
        }
        SourceSpec::Demo(demo) => {
            let traffic = DemoTraffic::new(demo);
            let replay = Replay::new(options, counters, &status, traffic.link(), replay_clock)?;
            open.bodies.push((
                "demo".into(),
                Box::new(move |stop| replay.run(traffic, None, &stop)),
            ));
        }
        SourceSpec::Interfaces(list) => {
            for live in list {
                // One handle, or with --capture-threads N as many in a fanout
                // group: a thread and a shard each, adding to the one status
                // of the interface (drops are summed over the handles).
                let captures = LiveCapture::open_all(&live)?;
                let Some(first) = captures.first() else { continue };
                let (link, buffer_mb) = (first.link(), first.buffer_mb());
                open.ready.push(match captures.len() {
                    1 => format!("{} ({link:?}, {buffer_mb} MiB kernel buffer)", live.interface),
                    n => format!(
                        "{} ({link:?}, {n} capture threads, {buffer_mb} MiB kernel buffer each)",
                        live.interface
                    ),
                });
                let several = captures.len() > 1;
                for (i, capture) in captures.into_iter().enumerate() {
                    let classifier = Classifier::new(link, options.locals.clone());
                    let mut sink = PacketSink::new(classifier, counters.writer());
                    let status = status.clone();
                    let name = if several {
                        format!("capture {} {}", live.interface, i + 1)
                    } else {
                        format!("capture {}", live.interface)
                    };
                    open.bodies.push((
                        name,
                        Box::new(move |stop| {
                            capture.run(&mut sink, &status, &stop);
                            Ok(())
                        }),
                    ));
                }
            }
        }
        SourceSpec::Listen {
            addr,
            idle_timeout,
            streams,
            run_for,
        } => {
            let listener = StreamListener::bind(addr, counters.clone(), options.locals.clone())?
                .idle_timeout(idle_timeout)
                .filter(options.filter.clone())
                .stop_after_streams(streams);
            status.stalled.store(true, Relaxed);
            let status = status.clone();
            open.bodies.push((
                "listen".into(),
                Box::new(move |stop| {
                    stop_after(run_for, &stop);
                    listener.serve(status, stop);
                    Ok(())
                }),
            ));
        }
        SourceSpec::Sflow { addr, run_for } => {
            let collector = SflowCollector::bind(addr, counters.clone(), options.locals.clone())?
                .filter(options.filter.as_deref())?
                .stop_after(run_for);
            open.report = Some(SourceReport::Sflow(collector.stats()));
            let status = status.clone();
            open.bodies.push((
                "sflow".into(),
                Box::new(move |stop| {
                    collector.serve(status, stop);
                    Ok(())
                }),
            ));
        }
        SourceSpec::Netflow { addr, run_for } => {
            let collector =
                NetflowCollector::bind(addr, counters.clone(), options.locals.clone())?.stop_after(run_for);
            open.report = Some(SourceReport::Netflow(collector.stats()));
            let status = status.clone();
            open.bodies.push((
                "netflow".into(),
                Box::new(move |stop| {
                    collector.serve(status, stop);
                    Ok(())
                }),
            ));
        }
        SourceSpec::Sensors {
            addr,
            key,
            connections,
            run_for,
        } => {
            let listener = SensorListener::bind(addr, counters.clone(), key)?
                .stop_after(connections)
                .run_for(run_for);
            open.report = Some(SourceReport::Sensors(listener.stats()));
            let status = status.clone();
            open.bodies.push((
                "sensors".into(),
                Box::new(move |stop| {
                    listener.serve(status, stop);
                    Ok(())
                }),
            ));
        }
    }
    Ok(open)
}

/// Sets `stop` after `run_for` of wall clock (the only wall-clock timer of a
/// source: it ends the run, it synchronises nothing).
fn stop_after(run_for: Option<Duration>, stop: &Arc<AtomicBool>) {
    let Some(d) = run_for else { return };
    let flag = stop.clone();
    let timer = std::thread::Builder::new().name("run-for".into()).spawn(move || {
        std::thread::sleep(d);
        flag.store(true, Relaxed);
    });
    if timer.is_err() {
        // No thread for the timer: stop at once rather than run for ever.
        stop.store(true, Relaxed);
    }
}

/// What a replay thread needs: the sink, pacing, filter and status.
struct Replay {
    sink: PacketSink,
    filter: Option<RecordFilter>,
    speed: Speed,
    repeat: bool,
    status: Arc<SourceStatus>,
    clock: Option<ReplayClock>,
}

impl Replay {
    fn new(
        options: &OpenOptions,
        counters: &Counters,
        status: &Arc<SourceStatus>,
        link: LinkType,
        clock: Option<ReplayClock>,
    ) -> Result<Self, SourceError> {
        let filter = options
            .filter
            .as_deref()
            .map(|f| RecordFilter::compile(f, link))
            .transpose()?;
        Ok(Replay {
            sink: PacketSink::new(Classifier::new(link, options.locals.clone()), counters.writer()),
            filter,
            speed: options.speed,
            repeat: options.repeat,
            status: status.clone(),
            clock,
        })
    }

    /// Reads `source` to its end; with `--loop` and a file, again and again
    /// with timestamps shifted so the packet clock keeps rising.
    fn run<S: Rewind>(
        mut self,
        mut source: S,
        path: Option<PathBuf>,
        stop: &AtomicBool,
    ) -> Result<(), SourceError> {
        let mut offset = 0u64;
        let mut pacer = match self.clock.take() {
            Some(clock) => Pacer::with_clock(self.speed, clock),
            None => Pacer::new(self.speed),
        };
        loop {
            let mut p = Pump {
                pacer,
                filter: self.filter.as_ref(),
                stop,
                ts_offset: offset,
            };
            let (summary, result) = pump(&mut source, &mut self.sink, &mut p);
            pacer = p.pacer;
            self.status.records.fetch_add(summary.records, Relaxed);
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
            if stop.load(Relaxed) {
                break;
            }
            // The next pass starts one millisecond after this one ended.
            offset += last.saturating_sub(first) + 1_000_000;
            source.rewind_to_start(path)?;
        }
        self.status.mark_finished();
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
