//! The wall: a session's counters drawn live in a window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use anyhow::{Context, anyhow};

use super::snapshot::focus_index;
use super::sources::{Run, SourcePlan};
use crate::cli::WallArgs;
use crate::display::feed::SessionFeed;
use crate::events::{EventLog, EventWatch};
use crate::metrics::{FrameStats, MetricsListener, MetricsSources};
use crate::session::Session;
use crate::ui::{WallOptions, run_wall};

/// Runs the wall until the window closes.
pub fn run(args: &WallArgs) -> anyhow::Result<()> {
    let plan = SourcePlan::from_args(&args.source, Run::Live)?;
    let counters = super::counters(&args.counting);
    if args.counting.baseline.0.is_none() && args.view.map_view == crate::render::MapView::Change {
        return Err(anyhow!("--view change needs a baseline: drop `--baseline off`"));
    }
    let options = WallOptions {
        layout: args.view.layout,
        focus: focus_index(args.view.focus.as_deref(), counters.maps())?,
        wall: args.view.wall_grid,
        fullscreen: args.fullscreen,
        monitor: args.monitor,
        presenter: args.view.presenter,
        present_interval: args.present_interval,
        fps: args.fps,
        screenshot_dir: args.screenshot_dir.clone(),
        scale: args.view.scale,
        map_view: args.view.map_view,
        order: args.view.order,
        colours: args.view.colours,
        text_scale: args.view.text_scale,
        local: crate::display::labels::local_prefix(&plan.options.locals),
        ..WallOptions::default()
    };
    // Bound before root is dropped (low ports work), served once the counters run.
    let metrics = args.metrics.map(MetricsListener::bind).transpose()?;
    // Scan events: sampled beside the counting, found on the packet clock.
    let log = args.events_log.as_deref().map(EventLog::open).transpose()?;
    let half_life = counters.half_life().as_nanos();
    let watch = EventWatch::start(&counters, half_life, plan.event_overflow(), log)?;
    let board = watch.board.clone();
    let sources = plan.open(&counters)?;
    let session = Session::start(counters, sources)?;
    let frames = Arc::new(FrameStats::default());
    let stop_metrics = Arc::new(AtomicBool::new(false));
    if let Some(m) = metrics {
        let sources = MetricsSources {
            counters: session.counters().clone(),
            statuses: session.statuses().to_vec(),
            frames: frames.clone(),
            events: Some(board.clone()),
        };
        m.serve(sources, stop_metrics.clone())
            .context("cannot start the metrics thread")?;
    }
    let feed = SessionFeed::new(session, frames).with_events(board);
    let result = run_wall(Box::new(feed), options);
    stop_metrics.store(true, Relaxed);
    // The sources have stopped with the feed: the last ticks, then the log's end.
    let _ = watch.finish();
    result
}
