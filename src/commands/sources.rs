//! The command line's source options ([`SourceArgs`]) turned into open
//! sources, the same way for the wall, `snapshot`, `count`, `sensor` and
//! `soak`: one translation to a [`SourceSpec`], one opener
//! ([`crate::source::open`]), then root dropped once, after every source is
//! open and before any packet is parsed.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;

use crate::cli::SourceArgs;
use crate::counting::Counters;
use crate::events::Overflow;
use crate::parse::LocalNets;
use crate::sensor::SensorKey;
use crate::source::Speed;
use crate::source::demo::{DEMO_LOCAL, DemoConfig};
use crate::source::libpcap::LiveOptions;
use crate::source::open::{OpenOptions, OpenSource, SourceSpec, open};

/// Which command the sources are for: each has its own defaults.
#[derive(Clone, Copy, Debug)]
pub enum Run {
    /// The wall (and `sensor`): the demo paced in real time from now, replays at
    /// `--speed`, listeners until stopped.
    Live,
    /// `snapshot`: the demo `seconds` long from a fixed start, everything as
    /// fast as possible, listeners for `seconds` of wall clock.
    Headless {
        /// `--seconds`.
        seconds: f64,
    },
    /// `count`: exact totals, as fast as possible; listeners until `--duration`
    /// or their connection budget.
    Count {
        /// `--duration`.
        duration: Option<Duration>,
        /// `--streams`: stream connections to serve.
        streams: Option<usize>,
        /// `--sensors`: sensor connections to serve.
        sensors: Option<usize>,
        /// `--threads`: readers of a classic pcap file.
        threads: usize,
    },
}

/// The sources a command line asks for, not yet open.
#[derive(Clone, Debug)]
pub struct SourcePlan {
    /// What to open: one source, or several listeners together.
    pub specs: Vec<SourceSpec>,
    /// How its packets count.
    pub options: OpenOptions,
    /// The user to become once the sources are open, when started as root
    /// (`--user`; `None` means [`crate::privilege::DEFAULT_USER`]).
    pub user: Option<String>,
    /// `count -i`: one status per interface (it reports each one's losses).
    split_interfaces: bool,
}

impl SourcePlan {
    /// What the event samplers do when the detector falls behind: a file,
    /// standard input or the demo waits for it (the same events at any
    /// speed); a network source must never be held back, and drops.
    pub fn event_overflow(&self) -> Overflow {
        if self.specs.iter().all(|s| s.can_wait()) {
            Overflow::Wait
        } else {
            Overflow::Drop
        }
    }

    /// Whether the sources capture live (`-i`).
    pub fn is_capture(&self) -> bool {
        self.specs.iter().any(SourceSpec::is_capture)
    }

    /// Whether the source ends by itself (a file or standard input).
    pub fn ends(&self) -> bool {
        self.specs.iter().all(SourceSpec::ends)
    }

    /// The capture file read, when the source is one.
    pub fn replay_file(&self) -> Option<&std::path::PathBuf> {
        self.specs.iter().find_map(|s| match s {
            SourceSpec::File(p) => Some(p),
            _ => None,
        })
    }
}

/// The listening sources asked for (`--listen`, `--sflow`, `--netflow`,
/// `--sensors-listen`),
/// each with its stop conditions, appended to `specs`.
fn listeners(
    source: &SourceArgs,
    run: Run,
    headless_for: Option<Duration>,
    specs: &mut Vec<SourceSpec>,
) -> anyhow::Result<()> {
    let counting = matches!(run, Run::Count { .. });
    if let Some(addr) = source.listen {
        let streams = match run {
            Run::Count { streams, .. } => streams,
            _ => None,
        };
        if counting && streams.is_none() && headless_for.is_none() {
            return Err(anyhow!(
                "count --listen needs --streams N or --duration TIME to know when to stop"
            ));
        }
        specs.push(SourceSpec::Listen {
            addr,
            idle_timeout: source.stream_idle_timeout,
            streams,
            run_for: headless_for,
        });
    }
    if let Some(addr) = source.sflow {
        if counting && headless_for.is_none() {
            return Err(anyhow!(
                "count --sflow needs --duration TIME, e.g. --duration 10s"
            ));
        }
        specs.push(SourceSpec::Sflow {
            addr,
            run_for: headless_for,
        });
    }
    if let Some(addr) = source.netflow {
        if counting && headless_for.is_none() {
            return Err(anyhow!(
                "count --netflow needs --duration TIME, e.g. --duration 10s"
            ));
        }
        if source.filter.filter_expression().is_some() {
            return Err(anyhow!(
                "a BPF filter cannot apply to --netflow: flow records carry no packet bytes"
            ));
        }
        specs.push(SourceSpec::Netflow {
            addr,
            run_for: headless_for,
        });
    }
    if let Some(addr) = source.sensors_listen {
        let connections = match run {
            Run::Count { sensors, .. } => sensors,
            _ => None,
        };
        if counting && connections.is_none() && headless_for.is_none() {
            return Err(anyhow!(
                "count --sensors-listen needs --sensors N or --duration TIME to know when to stop"
            ));
        }
        // Alone, --local and a filter would apply to nothing: refused, not ignored.
        let alone = specs.is_empty();
        specs.push(SourceSpec::Sensors {
            addr,
            key: wall_key(source, alone)?,
            connections,
            run_for: headless_for,
        });
    }
    Ok(())
}

impl SourcePlan {
    /// Reads the source options of `source` for `run`.
    pub fn from_args(source: &SourceArgs, run: Run) -> anyhow::Result<SourcePlan> {
        let mut locals = LocalNets::from_nets(&source.local);
        let filter = source.filter.filter_expression();
        let headless_for = match run {
            Run::Live => None,
            Run::Headless { seconds } => {
                Some(Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX))
            }
            Run::Count { duration, .. } => duration,
        };
        let counting = matches!(run, Run::Count { .. });
        if counting && (source.speed.is_some() || source.repeat) {
            return Err(anyhow!(
                "count reads as fast as it can and once: --speed and --loop are for the wall"
            ));
        }
        if source.capture_threads > 1 && source.interface.is_empty() {
            return Err(anyhow!(
                "--capture-threads splits a live interface between threads: give it with -i IFACE, or leave it out"
            ));
        }
        let mut specs = Vec::new();
        if let Some(path) = &source.read {
            specs.push(if path.as_os_str() == "-" {
                SourceSpec::Stdin
            } else {
                SourceSpec::File(path.clone())
            });
        } else if !source.interface.is_empty() {
            if counting && headless_for.is_none() {
                return Err(anyhow!("count -i needs --duration TIME, e.g. --duration 10s"));
            }
            specs.push(SourceSpec::Interfaces(
                source
                    .interface
                    .iter()
                    .map(|i| LiveOptions {
                        interface: i.clone(),
                        snaplen: source.snaplen,
                        buffer_mb: source.buffer_mb,
                        promiscuous: !source.no_promisc,
                        filter: filter.clone(),
                        threads: source.capture_threads,
                    })
                    .collect(),
            ));
        } else {
            // The listeners may run together: each adds to the same maps.
            listeners(source, run, headless_for, &mut specs)?;
        }
        if specs.is_empty() {
            if counting {
                return Err(anyhow!(
                    "count needs -r FILE, -i IFACE, --listen ADDR, --sflow ADDR, --netflow ADDR or --sensors-listen ADDR (for demo traffic: scanwall generate -o demo.pcap, then count -r demo.pcap)"
                ));
            }
            if source.local.is_empty() {
                locals = LocalNets::parse(&[DEMO_LOCAL])?;
            }
            let (start_ns, duration_ns) = match run {
                Run::Headless { seconds } => {
                    (DemoConfig::FIXED_START_NS, Some((seconds.max(0.0) * 1e9) as u64))
                }
                _ => (now_ns(), None),
            };
            specs.push(SourceSpec::Demo(DemoConfig {
                seed: source.seed,
                rate_pps: source.demo_rate,
                start_ns,
                duration_ns,
            }));
        }
        let speed = match (specs.first(), run) {
            (Some(SourceSpec::Demo(_)), Run::Live) => Speed::Times(1.0),
            (_, Run::Live) => source.speed.unwrap_or(Speed::Times(1.0)),
            _ => Speed::Max,
        };
        let reader_threads = match run {
            Run::Count { threads, .. } => threads.max(1),
            _ => 1,
        };
        Ok(SourcePlan {
            split_interfaces: counting,
            specs,
            options: OpenOptions {
                locals,
                filter,
                speed,
                repeat: source.repeat && matches!(run, Run::Live),
                reader_threads,
            },
            user: source.user.clone(),
        })
    }

    /// Opens every source, counting into `counters`, then drops root (when
    /// started as root) before any of them runs.
    pub fn open(&self, counters: &Arc<Counters>) -> anyhow::Result<Vec<OpenSource>> {
        let specs: Vec<SourceSpec> = self
            .specs
            .iter()
            .flat_map(|spec| match spec {
                SourceSpec::Interfaces(list) if self.split_interfaces => list
                    .iter()
                    .map(|one| SourceSpec::Interfaces(vec![one.clone()]))
                    .collect(),
                spec => vec![spec.clone()],
            })
            .collect();
        let mut sources = Vec::with_capacity(specs.len());
        for spec in &specs {
            sources.push(open(spec, counters, &self.options)?);
        }
        // Live captures keep what they need to reopen a lost interface.
        let capture = sources.iter().any(|s| s.capture);
        crate::privilege::drop_root_and_report(self.user.as_deref(), capture)?;
        Ok(sources)
    }
}

/// The wall's sensor key: `--key-file`, checked. With no other source
/// (`alone`), `--local` and BPF filters are refused: they apply where packets
/// are captured, so here they would apply to nothing.
fn wall_key(source: &SourceArgs, alone: bool) -> anyhow::Result<Arc<SensorKey>> {
    if alone && (!source.local.is_empty() || source.filter.filter_expression().is_some()) {
        return Err(anyhow!(
            "--sensors-listen: --local and BPF filters apply where packets are captured; give them to `scanwall sensor`"
        ));
    }
    let path = source.key_file.as_deref().ok_or_else(|| {
        anyhow!(
            "--sensors-listen needs --key-file FILE, the secret its sensors share; create one with: head -c 32 /dev/urandom | base64 > FILE && chmod 600 FILE"
        )
    })?;
    Ok(Arc::new(SensorKey::load(path)?))
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
