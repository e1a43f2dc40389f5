//! `scanwall snapshot`: what the wall would show at one packet time, rendered
//! offscreen through the same shaders, with no window and no display.

use anyhow::{Context, anyhow};

use super::sources::{Run, SourcePlan};
use crate::cli::{At, Size, SnapshotArgs, ViewArgs};
use crate::display::events::overlay_at;
use crate::display::scales::{FrameScales, scaled_tiles};
use crate::display::status::status_info;
use crate::events::EventWatch;
use crate::maps::{self, MapId};
use crate::render::{FrameInput, ViewState, render_offscreen};
use crate::session::Session;

/// The index into `shown` of the `--focus` map (a name or a 1-based position).
pub fn focus_index(focus: Option<&str>, shown: &[MapId]) -> anyhow::Result<usize> {
    let Some(f) = focus else { return Ok(0) };
    if let Ok(n) = f.parse::<usize>() {
        if (1..=shown.len()).contains(&n) {
            return Ok(n - 1);
        }
        return Err(anyhow!("bad --focus `{f}`: there are {} maps shown", shown.len()));
    }
    let id = maps::by_name(f).ok_or_else(|| anyhow!("bad --focus: unknown map `{f}`"))?;
    shown
        .iter()
        .position(|&m| m == id)
        .ok_or_else(|| anyhow!("bad --focus: `{f}` is not among the shown maps"))
}

/// The view the command line asks for.
pub fn view_state(view: &ViewArgs, shown: &[MapId]) -> anyhow::Result<ViewState> {
    Ok(ViewState {
        layout: view.layout,
        wall: view.wall_grid,
        focus: focus_index(view.focus.as_deref(), shown)?,
        presenter: view.presenter,
        scale: view.scale,
        map_view: view.map_view,
        order: view.order,
        colours: view.colours,
        text_scale: view.text_scale,
        ..ViewState::default()
    })
}

/// Runs `snapshot`.
pub fn run(args: &SnapshotArgs) -> anyhow::Result<()> {
    let Size { width, height } = args.size;
    let plan = SourcePlan::from_args(
        &args.source,
        Run::Headless {
            seconds: args.seconds,
        },
    )?;
    let counters = super::counters(&args.counting);
    let view = ViewState {
        local: crate::display::labels::local_prefix(&plan.options.locals),
        ..view_state(&args.view, counters.maps())?
    };
    if args.counting.baseline.0.is_none() && view.map_view == crate::render::MapView::Change {
        return Err(anyhow!("--view change needs a baseline: drop `--baseline off`"));
    }
    // Started as root: created before root is dropped, so a folder only root
    // may write to still receives the picture. Otherwise written whole at the
    // end (never half a file).
    let early_output = if crate::privilege::will_drop(plan.user.as_deref()) {
        Some(
            std::fs::File::create(&args.output)
                .with_context(|| format!("cannot write {}", args.output.display()))?,
        )
    } else {
        None
    };
    let half_life = counters.half_life().as_nanos();
    let watch = args
        .events
        .then(|| EventWatch::start(&counters, half_life, plan.event_overflow(), None))
        .transpose()?;
    let sources = plan.open(&counters)?;
    let mut session = Session::start(counters, sources)?;
    let result = session.wait();
    let events = watch.map(|w| w.finish()).transpose()?;
    let first_ts = session.counters().first_packet_time();
    let at_ns = match (args.at, first_ts) {
        (At::After(offset), Some(first)) => Some(first.saturating_add(offset.as_nanos() as u64)),
        _ => None,
    };
    let mut reader = session.frame_reader();
    let frame = reader.read(at_ns);
    let counters = session.counters();
    let mut scales = FrameScales::default();
    scales.update(frame, counters.half_life(), counters.baseline(), view.scale);
    let tiles = scaled_tiles(frame, &scales);
    let mut view = view;
    if let Some(events) = &events {
        view.events = overlay_at(events, &tiles, frame.at_ns.unwrap_or(0));
        if !args.events_list {
            view.events.list = None;
        }
    }
    let input = FrameInput {
        tiles,
        // A snapshot shows packet time --at, not the moment the file ended.
        status: crate::render::StatusInfo {
            ended_secs: None,
            ..status_info(&session, frame, 0.0)
        },
        view,
    };
    let image = render_offscreen(&input, width, height)?;
    match early_output {
        Some(file) => image.write_png_to(std::io::BufWriter::new(file)),
        None => image.write_png(&args.output),
    }
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    result.map_err(|e| anyhow!("{e}"))
}
