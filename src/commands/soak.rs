//! `scanwall soak`: the wall's whole path under the heaviest load this
//! machine can make, for a bounded time, with the checks a week on a wall
//! depends on: every generated packet accounted for, resident memory flat
//! after warm-up, no frame slower than a bound.
//!
//! Capture threads pump the demo traffic flat out (no pacing) into the same
//! sharded counters the wall uses; the main thread reads frames, computes the
//! scales and draws them with the headless renderer, as the window does.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::anyhow;

use crate::cli::{Size, SoakArgs};
use crate::counting::{Counters, Decay, DecayMode, FrameReader, HalfLife};
use crate::display::scales::{FrameScales, scaled_tiles};
use crate::maps;
use crate::parse::LocalNets;
use crate::render::{AdapterChoice, FrameInput, Gpu, ScaleMode, StatusInfo, ViewState, WallRenderer};
use crate::session::Session;
use crate::source::demo::{DEMO_LOCAL, DemoConfig};
use crate::source::open::{OpenOptions, SourceSpec, open};

/// What one soak run saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SoakReport {
    /// Seconds the load ran.
    pub seconds: f64,
    /// Packets the demo generators produced.
    pub generated: u64,
    /// Packets the counters account for (counted in maps or skipped by reason).
    pub accounted: u64,
    /// Of those, packets counted into at least the `all` path (not skipped).
    pub counted: u64,
    /// Packets skipped by the classifier (not inbound, not IP...).
    pub skipped: u64,
    /// Packets shed by scanwall (the capture path has no queue: always 0 here).
    pub shed: u64,
    /// Frames drawn.
    pub frames: u64,
    /// Slowest frame (read + scale + draw + read back), milliseconds.
    pub worst_frame_ms: f64,
    /// Median frame, milliseconds.
    pub median_frame_ms: f64,
    /// Resident memory when warm-up ended, MiB.
    pub rss_after_warmup_mib: f64,
    /// Highest resident memory seen, MiB.
    pub peak_rss_mib: f64,
    /// Peak after warm-up minus the value at warm-up, MiB.
    pub rss_growth_mib: f64,
}

impl SoakReport {
    /// Packets per second over the run.
    pub fn packets_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.generated as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The checks, as one line per failure (empty when all hold).
    pub fn failures(&self, max_growth_mib: f64, max_frame_ms: f64) -> Vec<String> {
        let mut out = Vec::new();
        if self.accounted + self.shed != self.generated {
            out.push(format!(
                "{} packets generated but {} accounted for and {} shed",
                self.generated, self.accounted, self.shed
            ));
        }
        if self.rss_growth_mib > max_growth_mib {
            out.push(format!(
                "resident memory grew {:.1} MiB after warm-up (bound {max_growth_mib} MiB)",
                self.rss_growth_mib
            ));
        }
        if self.worst_frame_ms > max_frame_ms {
            out.push(format!(
                "worst frame took {:.1} ms (bound {max_frame_ms} ms)",
                self.worst_frame_ms
            ));
        }
        if self.frames == 0 {
            out.push("no frame was drawn".into());
        }
        out
    }

    /// The report as one JSON object (for scripts and the README's figures).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "seconds": self.seconds,
            "generated": self.generated,
            "accounted": self.accounted,
            "counted": self.counted,
            "skipped": self.skipped,
            "shed": self.shed,
            "packets_per_sec": self.packets_per_sec(),
            "frames": self.frames,
            "worst_frame_ms": self.worst_frame_ms,
            "median_frame_ms": self.median_frame_ms,
            "rss_after_warmup_mib": self.rss_after_warmup_mib,
            "peak_rss_mib": self.peak_rss_mib,
            "rss_growth_mib": self.rss_growth_mib,
        })
        .to_string()
    }
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // x86-64 and aarch64 Linux as deployed use 4 KiB pages.
    Some(pages * 4096)
}

const MIB: f64 = 1024.0 * 1024.0;

/// Runs `soak`: prints the report (JSON) and fails when a check fails.
pub fn run(args: &SoakArgs) -> anyhow::Result<()> {
    if args.warmup >= args.duration {
        return Err(anyhow!("--warmup must be shorter than --duration"));
    }
    let Size { width, height } = args.size;
    let report = soak(args.threads.max(1), args.duration, args.warmup, width, height)?;
    println!("{}", report.to_json());
    let failures = report.failures(args.max_rss_growth_mb, args.max_frame_ms);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("soak failed: {}", failures.join("; ")))
    }
}

/// The soak itself: `threads` demo generators flat out for `duration`,
/// frames drawn at `width` x `height` throughout.
pub fn soak(
    threads: usize,
    duration: Duration,
    warmup: Duration,
    width: u32,
    height: u32,
) -> anyhow::Result<SoakReport> {
    let shown = maps::default_shown();
    let decay = Decay {
        mode: DecayMode::Exponential,
        half_life: HalfLife::new(Duration::from_secs(10)),
    };
    let counters = Counters::with_baseline(
        shown.clone(),
        decay,
        Some(HalfLife::new(Duration::from_secs(600))),
    );
    let gpu = Gpu::headless(AdapterChoice::from_env())?;
    let mut renderer = WallRenderer::new(&gpu, wgpu::TextureFormat::Rgba8Unorm);
    let options = OpenOptions {
        locals: LocalNets::parse(&[DEMO_LOCAL])?,
        ..OpenOptions::default()
    };
    let mut sources = Vec::new();
    for i in 0..threads {
        let demo = SourceSpec::Demo(DemoConfig {
            seed: 1 + i as u64,
            rate_pps: DemoConfig::DEFAULT_RATE,
            start_ns: DemoConfig::FIXED_START_NS,
            duration_ns: None,
        });
        sources.push(open(&demo, &counters, &options)?);
    }
    let mut session = Session::start(counters.clone(), sources)?;
    let mut reader = FrameReader::new(counters.clone(), shown);
    let mut scales = FrameScales::default();
    let mut frame_ms = Vec::new();
    let started = Instant::now();
    let mut next_sample = started;
    let (mut rss_at_warmup, mut peak, mut peak_after) = (None::<u64>, 0u64, 0u64);
    let mut draw_error = None;
    while started.elapsed() < duration {
        let t0 = Instant::now();
        let frame = reader.read(counters.packet_clock());
        scales.update(
            frame,
            counters.half_life(),
            counters.baseline(),
            ScaleMode::default(),
        );
        let input = FrameInput {
            tiles: scaled_tiles(frame, &scales),
            status: StatusInfo {
                source: "soak".into(),
                demo: true,
                packets_per_sec: frame.packets_per_sec,
                half_life: counters.half_life().to_string(),
                ..StatusInfo::default()
            },
            view: ViewState::default(),
        };
        if let Err(e) = renderer.render_to_image(&gpu, &input, width, height) {
            draw_error = Some(e);
            break;
        }
        frame_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        if Instant::now() >= next_sample {
            next_sample += Duration::from_millis(500);
            let rss = resident_bytes().unwrap_or(0);
            peak = peak.max(rss);
            if started.elapsed() >= warmup {
                rss_at_warmup.get_or_insert(rss);
                peak_after = peak_after.max(rss);
            }
        }
    }
    session.stop();
    let seconds = started.elapsed().as_secs_f64();
    session.wait()?;
    let generated = session.statuses().iter().map(|s| s.records.load(Relaxed)).sum();
    if let Some(e) = draw_error {
        return Err(e.into());
    }
    let totals = counters.totals();
    let skipped: u64 = totals.skipped.iter().sum();
    frame_ms.sort_by(f64::total_cmp);
    let at_warmup = rss_at_warmup.unwrap_or(peak);
    Ok(SoakReport {
        seconds,
        generated,
        accounted: totals.packets,
        counted: totals.packets - skipped.min(totals.packets),
        skipped,
        shed: 0,
        frames: frame_ms.len() as u64,
        worst_frame_ms: frame_ms.last().copied().unwrap_or(0.0),
        median_frame_ms: frame_ms.get(frame_ms.len() / 2).copied().unwrap_or(0.0),
        rss_after_warmup_mib: at_warmup as f64 / MIB,
        peak_rss_mib: peak as f64 / MIB,
        rss_growth_mib: peak_after.saturating_sub(at_warmup) as f64 / MIB,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_can_fail() {
        let good = SoakReport {
            seconds: 2.0,
            generated: 100,
            accounted: 100,
            frames: 10,
            worst_frame_ms: 50.0,
            rss_growth_mib: 1.0,
            ..SoakReport::default()
        };
        assert!(good.failures(8.0, 100.0).is_empty());
        assert_eq!(good.packets_per_sec(), 50.0);
        let lost = SoakReport {
            accounted: 99,
            ..good.clone()
        };
        assert!(lost.failures(8.0, 100.0)[0].contains("100 packets generated but 99"));
        let grew = SoakReport {
            rss_growth_mib: 9.0,
            ..good.clone()
        };
        assert!(grew.failures(8.0, 100.0)[0].contains("grew 9.0 MiB"));
        let slow = SoakReport {
            worst_frame_ms: 101.0,
            ..good.clone()
        };
        assert!(slow.failures(8.0, 100.0)[0].contains("worst frame"));
        let none = SoakReport { frames: 0, ..good };
        assert!(none.failures(8.0, 100.0)[0].contains("no frame"));
    }

    #[test]
    fn resident_memory_is_read() {
        assert!(resident_bytes().is_some_and(|b| b > 1 << 20));
    }
}
