//! The wall: a session's counters drawn live in a window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use anyhow::{Context, anyhow};

use super::snapshot::focus_index;
use crate::cli::WallArgs;
use crate::counting::{DecayMode, FrameReader, HalfLife};
use crate::metrics::{MetricsListener, parse_metrics_addr};
use crate::render::ScaleMode;
use crate::session::{FrameScales, Session, SessionConfig, scaled_tiles};
use crate::ui::{FeedFrame, FrameFeed, FrameNeeds, WallOptions, run_wall};

/// Feeds the window from a running session: reads the counters once per frame
/// and never waits on capture.
pub struct SessionFeed {
    session: Session,
    reader: FrameReader,
    scales: FrameScales,
    has_frame: bool,
    /// The scale mode the numbers in `scales` were computed for.
    scale: ScaleMode,
    /// Frames since the baselines were last read.
    frames_since_baselines: u32,
}

/// Baselines are read again after this many frames while shown (see
/// [`crate::counting::MapFrame::baselines_read`]).
const BASELINE_EVERY_FRAMES: u32 = 15;

impl SessionFeed {
    /// A feed of `session`'s shown maps.
    pub fn new(session: Session) -> Self {
        let reader = session.frame_reader();
        SessionFeed {
            session,
            reader,
            scales: FrameScales::default(),
            has_frame: false,
            scale: ScaleMode::default(),
            frames_since_baselines: u32::MAX,
        }
    }
}

impl FrameFeed for SessionFeed {
    fn frame(&mut self, frozen: bool, needs: FrameNeeds) -> FeedFrame<'_> {
        let counters = self.session.counters();
        self.frames_since_baselines = self.frames_since_baselines.saturating_add(1);
        let stale = self.frames_since_baselines > BASELINE_EVERY_FRAMES;
        let missing_baselines = needs.baselines && !self.reader.frame().baselines_read;
        if !frozen || !self.has_frame || missing_baselines || needs.scale != self.scale {
            let frame = if !frozen || !self.has_frame {
                let baselines = needs.baselines && (stale || missing_baselines);
                if baselines {
                    self.frames_since_baselines = 0;
                }
                self.reader.read_with(self.session.now(), baselines)
            } else if missing_baselines {
                // Baselines asked for on a frozen picture: read again at its
                // own packet time.
                let at = self.reader.frame().at_ns;
                self.reader.read_with(at, true)
            } else {
                // A new mode on a frozen picture: the same values, new numbers.
                self.reader.frame()
            };
            self.scales
                .update(frame, counters.half_life(), counters.baseline(), needs.scale);
            self.has_frame = true;
            self.scale = needs.scale;
        }
        let frame = self.reader.frame();
        let rate_per_value = match counters.decay().mode {
            DecayMode::Exponential => std::f64::consts::LN_2 / counters.half_life().duration().as_secs_f64(),
            DecayMode::Step | DecayMode::None => 0.0,
        };
        FeedFrame {
            tiles: scaled_tiles(frame, &self.scales),
            status: self.session.status_info(frame, 0.0),
            rate_per_value,
        }
    }

    fn frame_drawn(&mut self, cpu: std::time::Duration) {
        self.session.frame_stats().record(cpu);
    }

    fn scale_half_life(&mut self, factor: f64) {
        let counters = self.session.counters();
        let now = counters.half_life().duration().as_secs_f64();
        if factor.is_finite() && factor > 0.0 {
            counters.set_half_life(HalfLife::new(std::time::Duration::from_secs_f64(now * factor)));
        }
    }
}

/// Runs the wall until the window closes.
pub fn run(args: &WallArgs) -> anyhow::Result<()> {
    let config = SessionConfig::from_args(&args.source, &args.counting, true, None)?;
    if config.baseline.is_none() && args.view.map_view == crate::render::MapView::Change {
        return Err(anyhow!("--view change needs a baseline: drop `--baseline off`"));
    }
    let shown = config.maps.clone();
    let present_interval = match &args.present_interval {
        Some(t) => Some(crate::duration::parse("--present-interval", t).map_err(|e| anyhow!(e))?),
        None => None,
    };
    if !(args.fps.is_finite() && args.fps >= 1.0 && args.fps <= 240.0) {
        return Err(anyhow!("bad --fps {}: expected 1 to 240", args.fps));
    }
    let options = WallOptions {
        layout: args.view.layout,
        focus: focus_index(args.view.focus.as_deref(), &shown)?,
        wall: args.view.wall_grid,
        fullscreen: args.fullscreen,
        monitor: args.monitor,
        presenter: args.view.presenter,
        present_interval,
        fps: args.fps,
        screenshot_dir: args.screenshot_dir.clone(),
        scale: args.view.scale,
        map_view: args.view.map_view,
        order: args.view.order,
        colours: args.view.colours,
        ..WallOptions::default()
    };
    // Bound before the session drops root, served once its counters exist.
    let metrics = match &args.metrics {
        Some(text) => Some(MetricsListener::bind(
            parse_metrics_addr(text).map_err(|e| anyhow!(e))?,
        )?),
        None => None,
    };
    let session = Session::start(config)?;
    let stop_metrics = Arc::new(AtomicBool::new(false));
    if let Some(m) = metrics {
        m.serve(session.metrics_sources(), stop_metrics.clone())
            .context("cannot start the metrics thread")?;
    }
    let result = run_wall(Box::new(SessionFeed::new(session)), options);
    stop_metrics.store(true, Relaxed);
    result
}
