//! `scanwall count`: exact, undecayed totals of a whole capture, the ground
//! truth that tests compare against.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::setup;
use crate::cli::{CountArgs, CountFormat};
use crate::counting::{Counters, Decay, PacketSink, Totals};
use crate::maps::{MAPS, MapId};
use crate::parse::{Classifier, SkipReason};
use crate::source::file::CaptureFile;
use crate::source::pcap_format::StreamReader;
use crate::source::{Pacer, PassSummary, Pump, RecordFilter, RecordSource, SourceError, Speed, pump};

/// Exact totals of one run of `count`.
pub struct CountReport {
    /// Maps counted, with the non-zero cells of each (key, count), by map id.
    pub maps: Vec<(MapId, Vec<(u16, u64)>)>,
    /// Packet and skip totals.
    pub totals: Totals,
}

/// Runs `count`; the report is printed even when the input ends in a damaged
/// record, and that error is returned afterwards (non-zero exit).
pub fn run(args: &CountArgs) -> anyhow::Result<()> {
    let locals = setup::locals(&args.local)?;
    let maps = setup::maps(args.maps.as_deref(), (0..MAPS.len()).collect())?;
    let counters = Counters::new(maps, Decay::NONE);
    let stop = AtomicBool::new(false);
    let filter = args.filter.filter_expression();

    let count_all = |source: &mut dyn RecordSource| -> Result<(), SourceError> {
        let classifier = Classifier::new(source.link(), locals.clone());
        let compiled = filter
            .as_deref()
            .map(|f| RecordFilter::compile(f, source.link()))
            .transpose()?;
        let mut sink = PacketSink::new(classifier, counters.writer());
        let mut p = Pump {
            pacer: Pacer::new(Speed::Max),
            filter: compiled.as_ref(),
            stop: &stop,
            ts_offset: 0,
        };
        let (_summary, result): (PassSummary, _) = pump(source, &mut sink, &mut p);
        result
    };
    let result = if args.read.as_os_str() == "-" {
        let stdin = std::io::stdin().lock();
        StreamReader::new(stdin, "standard input").and_then(|mut r| count_all(&mut r))
    } else {
        CaptureFile::open(&args.read).and_then(|mut f| count_all(&mut f))
    };
    if let Err(e) = &result {
        if !e.kept_earlier_records() {
            return Err(anyhow::anyhow!("{e}"));
        }
    }
    let report = report(&counters);
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
pub fn to_csv(report: &CountReport) -> String {
    let mut s = String::from("map,key,count\n");
    for (m, cells) in by_name(report) {
        for (key, count) in cells {
            let _ = writeln!(s, "{},{key},{count}", MAPS[*m].name);
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
    let doc = serde_json::json!({
        "maps": maps,
        "packets": report.totals.packets,
        "skipped": skipped,
    });
    format!("{doc}\n")
}
