//! The window's frame feed: a running session read once per frame, with the
//! scale numbers and the status line the renderer needs. It never waits on
//! capture.

use std::sync::Arc;

use super::events::overlay;
use super::hover::pin_lines;
use super::scales::{FrameScales, scaled_tiles};
use super::status::status_info;
use crate::counting::{DecayMode, FrameReader, HalfLife};
use crate::events::{EventBoard, PinQuery};
use crate::metrics::FrameStats;
use crate::render::ScaleMode;
use crate::session::Session;
use crate::ui::{FeedFrame, FrameFeed, FrameNeeds, PinRequest};

/// Feeds the window from a running session: reads the counters once per frame
/// and never waits on capture.
pub struct SessionFeed {
    session: Session,
    frames: Arc<FrameStats>,
    reader: FrameReader,
    scales: FrameScales,
    has_frame: bool,
    /// The scale mode the numbers in `scales` were computed for.
    scale: ScaleMode,
    /// Frames since the baselines were last read.
    frames_since_baselines: u32,
    /// What the scan event detector has found, when it runs.
    events: Option<Arc<EventBoard>>,
}

/// Baselines are read again after this many frames while shown (see
/// [`crate::counting::MapFrame::baselines_read`]).
const BASELINE_EVERY_FRAMES: u32 = 15;

impl SessionFeed {
    /// A feed of `session`'s shown maps; the window's frame times go to `frames`.
    pub fn new(session: Session, frames: Arc<FrameStats>) -> Self {
        let reader = session.frame_reader();
        SessionFeed {
            session,
            frames,
            reader,
            scales: FrameScales::default(),
            has_frame: false,
            scale: ScaleMode::default(),
            frames_since_baselines: u32::MAX,
            events: None,
        }
    }

    /// Outlines the events `board` holds on the maps (and lists them on E).
    pub fn with_events(mut self, board: Arc<EventBoard>) -> Self {
        self.events = Some(board);
        self
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
        let tiles = scaled_tiles(frame, &self.scales);
        let (events, pinned) = self.events.as_ref().map_or_else(Default::default, |board| {
            board.read(|b| {
                let events = overlay(b, &tiles, b.clock, needs.events_list);
                let pinned = b
                    .answer
                    .as_ref()
                    .filter(|a| Some(a.query) == b.query)
                    .map(pin_lines)
                    .unwrap_or_default();
                (events, pinned)
            })
        });
        FeedFrame {
            tiles,
            status: status_info(&self.session, frame, 0.0),
            rate_per_value,
            events,
            pinned,
        }
    }

    fn pin(&mut self, request: Option<PinRequest>) {
        let Some(board) = &self.events else { return };
        let query = request.and_then(|r| {
            Some(PinQuery {
                map: crate::maps::by_name(r.map)?,
                rows: r.rows,
                columns: r.columns,
            })
        });
        board.ask(query);
    }

    fn frame_drawn(&mut self, cpu: std::time::Duration) {
        self.frames.record(cpu);
    }

    fn scale_half_life(&mut self, factor: f64) {
        let counters = self.session.counters();
        let now = counters.half_life().duration().as_secs_f64();
        if factor.is_finite() && factor > 0.0 {
            counters.set_half_life(HalfLife::new(std::time::Duration::from_secs_f64(now * factor)));
        }
    }
}
