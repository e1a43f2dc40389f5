//! `scanwall generate`: the demo traffic as a classic pcap file, so benchmarks,
//! replays and live-capture tests have realistic input without any download.

use std::io::{BufWriter, Write};

use anyhow::Context;

use crate::cli::GenerateArgs;
use crate::source::RecordSource;
use crate::source::demo::{DemoConfig, DemoTraffic};
use crate::source::pcap_format::PcapWriter;

/// Writes `packets` demo records to `out`.
pub fn write_demo(out: impl Write, packets: u64, rate_pps: f64, seed: u64) -> std::io::Result<()> {
    let mut demo = DemoTraffic::new(DemoConfig {
        seed,
        rate_pps,
        start_ns: DemoConfig::FIXED_START_NS,
        duration_ns: None,
    });
    let mut w = PcapWriter::new(out, demo.link(), 65535)?;
    for _ in 0..packets {
        match demo.next_record() {
            Ok(Some(r)) => w.write(r.ts_ns, r.wire_len, r.data)?,
            Ok(None) | Err(_) => break,
        }
    }
    w.finish()?;
    Ok(())
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs) -> anyhow::Result<()> {
    if args.output.as_os_str() == "-" {
        let out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        write_demo(out, args.packets, args.rate, args.seed).context("cannot write to standard output")
    } else {
        let file = std::fs::File::create(&args.output)
            .with_context(|| format!("cannot create {}", args.output.display()))?;
        write_demo(
            BufWriter::with_capacity(1 << 20, file),
            args.packets,
            args.rate,
            args.seed,
        )
        .with_context(|| format!("cannot write {}", args.output.display()))
    }
}
