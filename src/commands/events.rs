//! `scanwall events`: every scan event of a capture or a live run, as JSON
//! or CSV, found exactly as the wall finds them (the same detector on the
//! same packet clock).

use std::io::Write;

use anyhow::Context;

use super::sources::{Run, SourcePlan};
use crate::cli::{EventsArgs, EventsFormat};
use crate::counting::{Counters, Decay};
use crate::events::{Event, EventLog, EventWatch};
use crate::maps::MAPS;
use crate::session::Session;

/// Runs `events`; the events found are printed even when the input ends
/// in a damaged record, and that error is returned afterwards (exit 1).
pub fn run(args: &EventsArgs) -> anyhow::Result<()> {
    let run = Run::Count {
        duration: args.duration,
        streams: args.streams,
        sensors: args.sensors,
        // One reader: a file read in parts would reach the detector out of
        // packet order, and the events must not depend on the machine.
        threads: 1,
    };
    let plan = SourcePlan::from_args(&args.source, run)?;
    let maps = args
        .maps
        .as_ref()
        .map_or_else(|| (0..MAPS.len()).collect(), |m| m.0.clone());
    let log = args.events_log.as_deref().map(EventLog::open).transpose()?;
    let counters = Counters::new(maps.clone(), Decay::NONE);
    let watch = EventWatch::start(&counters, args.half_life.as_nanos(), plan.event_overflow(), log)?;
    let sources = plan.open(&counters)?;
    let live = plan.is_capture();
    let mut session = Session::start(counters.clone(), sources)?;
    if live {
        std::thread::sleep(args.duration.unwrap_or_default());
        session.stop();
    }
    let result = session.wait();
    let dropped = watch.dropped();
    let events = watch.finish()?;
    if let Err(e) = &result
        && !e.kept_earlier_records()
    {
        return Err(anyhow::anyhow!("{e}"));
    }
    if dropped > 0 {
        log::warn!("{dropped} sampled packets were dropped: the detector fell behind the live source");
    }
    let now = events.iter().map(|e| e.last_seen).max().unwrap_or(0);
    let text = match args.format {
        EventsFormat::Json => to_json(&events, now),
        EventsFormat::Csv => to_csv(&events, now),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .context("cannot write the output")?;
    out.flush().context("cannot write the output")?;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

/// `{"events": [...]}`, in order of start.
pub fn to_json(events: &[Event], now: u64) -> String {
    let list: Vec<_> = events.iter().map(|e| e.to_json(now)).collect();
    format!("{}\n", serde_json::json!({ "events": list }))
}

/// A header and one line per event.
pub fn to_csv(events: &[Event], now: u64) -> String {
    let mut s = String::from(Event::CSV_HEADER);
    s.push('\n');
    for e in events {
        s.push_str(&e.to_csv(now));
        s.push('\n');
    }
    s
}
