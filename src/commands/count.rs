//! `scanwall count`: exact, undecayed totals of a whole capture, the ground
//! truth that tests compare against.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::sources::{Run, SourcePlan};
use crate::cli::{CountArgs, CountFormat};
use crate::counting::{Counters, Decay, Totals};
use crate::maps::{MAPS, MapId};
use crate::parse::SkipReason;
use crate::session::Session;
use crate::source::SourceStatus;
use crate::source::netflow::NetflowReport;
use crate::source::open::SourceReport;
use crate::source::sflow::SflowReport;

/// Exact totals of one run of `count`.
pub struct CountReport {
    /// Maps counted, with the non-zero cells of each (key, count), by map id.
    pub maps: Vec<(MapId, Vec<(u16, u64)>)>,
    /// Packet and skip totals.
    pub totals: Totals,
    /// Live capture only: what the kernel saw and dropped.
    pub capture: Option<CaptureTotals>,
    /// `--sflow` only: datagrams, drops and agents.
    pub sflow: Option<SflowReport>,
    /// `--netflow` only: datagrams, templates and exporters.
    pub netflow: Option<NetflowReport>,
    /// `--sensors-listen` only: each sensor and every refused connection.
    pub sensors: Option<serde_json::Value>,
}

/// Packets a live capture's kernel side received and dropped (libpcap stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Packets that passed the filter in the kernel.
    pub received: u64,
    /// Dropped for lack of buffer space.
    pub kernel_drops: u64,
    /// Dropped by the interface or driver.
    pub interface_drops: u64,
}

/// Runs `count`; the report is printed even when the input ends in a damaged
/// record, and that error is returned afterwards (non-zero exit).
pub fn run(args: &CountArgs) -> anyhow::Result<()> {
    let run = Run::Count {
        duration: args.duration,
        streams: args.streams,
        sensors: args.sensors,
        threads: threads(args.threads),
    };
    let plan = SourcePlan::from_args(&args.source, run)?;
    let maps = args
        .maps
        .as_ref()
        .map_or_else(|| (0..MAPS.len()).collect(), |m| m.0.clone());
    let counters = Counters::new(maps, Decay::NONE);
    let sources = plan.open(&counters)?;
    let live = plan.is_capture();
    if live {
        // As tcpdump's "listening on": the kernel now keeps every packet for
        // the count (scripts wait for this line before they send).
        for part in sources.iter().flat_map(|s| &s.ready) {
            let time = crate::duration::format(args.duration.unwrap_or_default());
            log::info!("capturing on {part} for {time}");
        }
    }
    let mut session = Session::start(counters.clone(), sources)?;
    if live {
        watch_captures(session.statuses(), args.duration.unwrap_or_default());
        session.stop();
    }
    let result = session.wait();
    if let Err(e) = &result
        && !e.kept_earlier_records()
    {
        return Err(anyhow::anyhow!("{e}"));
    }
    let mut report = report(&counters);
    if live {
        let mut totals = CaptureTotals::default();
        for s in session.statuses() {
            totals.received += s.received.load(Relaxed);
            totals.kernel_drops += s.kernel_drops.load(Relaxed);
            totals.interface_drops += s.interface_drops.load(Relaxed);
        }
        report.capture = Some(totals);
    }
    for (extra, status) in session.reports().iter().zip(session.statuses()) {
        let Some(extra) = extra else { continue };
        match extra {
            SourceReport::Sflow(stats) => report.sflow = Some(SflowReport::new(stats, status)),
            SourceReport::Netflow(stats) => report.netflow = Some(NetflowReport::new(stats)),
            SourceReport::Sensors(stats) => report.sensors = Some(stats.to_json(&status.peers.summaries())),
        }
    }
    let text = match args.format {
        CountFormat::Csv => to_csv(&report),
        CountFormat::Json => to_json(&report),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("cannot write the output")?;
    out.flush().context("cannot write the output")?;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// Waits out `duration` (the only wall-clock timer: it ends the run, it
/// synchronises nothing), saying on standard error when a capture is lost and
/// when it is capturing again, as the wall's status line does: a count whose
/// interface went away says so where the user (or a script) is looking.
fn watch_captures(statuses: &[Arc<SourceStatus>], duration: Duration) {
    let deadline = Instant::now() + duration;
    let mut stalled = vec![false; statuses.len()];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(WATCH_EVERY));
        for (status, was) in statuses.iter().zip(&mut stalled) {
            let now = status.stalled.load(Relaxed);
            if now == *was {
                continue;
            }
            *was = now;
            if now {
                let why = status
                    .error()
                    .unwrap_or_else(|| format!("{}: capture lost; retrying", status.description));
                log::warn!("{why} (once a second)");
            } else {
                log::info!("capturing on {} again", status.description);
            }
        }
    }
}

/// How often `count -i` looks for captures that stalled or came back: a lost
/// capture is retried once a second, and the main thread of a count whose
/// CPU is limited should wake as seldom as it can.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// `--threads`, or one per core (at most 8) when not given.
fn threads(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1)
}

/// Collects the exact totals of every counted map.
pub fn report(counters: &Counters) -> CountReport {
    let maps = counters
        .maps()
        .iter()
        .map(|&m| {
            let cells = counters.exact_counts(m).unwrap_or_default();
            let nonzero = cells
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(k, c)| (k as u16, *c))
                .collect();
            (m, nonzero)
        })
        .collect();
    CountReport {
        capture: None,
        sflow: None,
        netflow: None,
        sensors: None,
        maps,
        totals: counters.totals(),
    }
}

fn by_name(report: &CountReport) -> Vec<&(MapId, Vec<(u16, u64)>)> {
    let mut maps: Vec<_> = report.maps.iter().collect();
    maps.sort_by_key(|(m, _)| MAPS[*m].name);
    maps
}

/// `map,key,count`, one line per non-zero cell, sorted by map name then key.
/// Formatted with `itoa`: a full port map is hundreds of thousands of lines, and
/// `fmt` machinery would cost as much as counting the capture.
pub fn to_csv(report: &CountReport) -> String {
    let lines: usize = report.maps.iter().map(|(_, cells)| cells.len()).sum();
    let mut s = String::with_capacity(16 + lines * 24);
    s.push_str("map,key,count\n");
    let mut digits = itoa::Buffer::new();
    for (m, cells) in by_name(report) {
        for (key, count) in cells {
            s.push_str(MAPS[*m].name);
            s.push(',');
            s.push_str(digits.format(*key));
            s.push(',');
            s.push_str(digits.format(*count));
            s.push('\n');
        }
    }
    s
}

/// `{"maps": {name: {key: count}}, "packets": N, "skipped": {reason: N}}`.
pub fn to_json(report: &CountReport) -> String {
    let mut maps = serde_json::Map::new();
    for (m, cells) in by_name(report) {
        let cells: serde_json::Map<String, serde_json::Value> = cells
            .iter()
            .map(|(k, c)| (k.to_string(), serde_json::Value::from(*c)))
            .collect();
        maps.insert(MAPS[*m].name.to_string(), serde_json::Value::Object(cells));
    }
    let skipped: serde_json::Map<String, serde_json::Value> = SkipReason::ALL
        .iter()
        .map(|r| {
            (
                r.name().to_string(),
                serde_json::Value::from(report.totals.skipped[r.index()]),
            )
        })
        .collect();
    let mut doc = serde_json::json!({
        "maps": maps,
        "packets": report.totals.packets,
        "skipped": skipped,
    });
    if let (Some(s), Some(obj)) = (&report.sflow, doc.as_object_mut()) {
        obj.insert("sflow".into(), s.to_json());
    }
    if let (Some(n), Some(obj)) = (&report.netflow, doc.as_object_mut()) {
        obj.insert("netflow".into(), n.to_json());
    }
    if let (Some(s), Some(obj)) = (&report.sensors, doc.as_object_mut()) {
        obj.insert("sensors".into(), s.clone());
    }
    if let (Some(c), Some(obj)) = (report.capture, doc.as_object_mut()) {
        obj.insert(
            "capture".into(),
            serde_json::json!({
                "received": c.received,
                "kernel_drops": c.kernel_drops,
                "interface_drops": c.interface_drops,
            }),
        );
    }
    format!("{doc}\n")
}
