//! The wall window: a winit event loop drawing the maps with the shared
//! renderer, keys from one table, presenter mode, and a surface kept alive
//! through resizes, minimising, monitor changes and lost devices.
//!
//! The window knows nothing of packets: it pulls each frame from a
//! [`FrameFeed`], which the counting side implements. A frame never waits on
//! capture (the feed hands over what it has); capture never waits on a frame.

mod app;
pub mod keys;
pub mod scheduler;
pub mod state;

use std::path::PathBuf;
use std::time::Duration;

pub use app::run_wall;

use crate::render::{
    AdapterChoice, CellOrder, ColourMap, EventOverlay, LayoutKind, MapView, ScaleMode, StatusInfo, TileInput,
    WallGrid,
};

/// One frame's worth of data from the counting side.
#[derive(Clone, Debug)]
pub struct FeedFrame<'a> {
    /// The maps to show, in order (number keys and focus index this).
    pub tiles: Vec<TileInput<'a>>,
    /// The status line; `frames_per_sec` is overwritten by the window's own count.
    pub status: StatusInfo,
    /// Packets per second that one unit of cell value stands for (with an
    /// exponential decay of half-life h, ln 2 / h seconds): lets the hover
    /// readout show a cell's rate as well as its value.
    pub rate_per_value: f64,
    /// Scan events to outline, and the whole list (the window shows it on E).
    pub events: EventOverlay,
    /// The pinned readout's further lines (who sent the pinned cells' recent
    /// packets), once the counting side has the answer; empty otherwise.
    pub pinned: Vec<String>,
}

/// Which cells a click pins: the cell, or with Shift its row (a /24 on an
/// address map), or with Ctrl its column (one host number in every /24).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinSpan {
    /// The cell clicked.
    Cell,
    /// Its row (Shift-click).
    Row,
    /// Its column (Ctrl-click).
    Column,
}

/// A pinned readout's question to the feed: these cells of this map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinRequest {
    /// The map's name (as in [`crate::maps::MAPS`]).
    pub map: &'static str,
    /// First and last row, in the map's own row order.
    pub rows: (u8, u8),
    /// First and last column.
    pub columns: (u8, u8),
}

/// Where the window gets its data. Implemented by the counting side for the
/// product and by tests with synthetic values.
/// What the window will show of a frame, so the feed reads and computes no
/// more than that (reading baselines and building rank tables are most of a
/// frame's CPU time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameNeeds {
    /// The scale mode drawn (auto and rank need the rank tables).
    pub scale: ScaleMode,
    /// Whether baselines are shown: the change view, or the pointer's readout.
    pub baselines: bool,
    /// Whether the scan events list is shown (key E): only then are its
    /// lines worded.
    pub events_list: bool,
}

pub trait FrameFeed {
    /// The values to draw now, with what `needs` asks for. When `frozen`,
    /// return the same values as the last unfrozen call (the picture stands
    /// still) but a current status (counting goes on). Must not block on
    /// capture.
    fn frame(&mut self, frozen: bool, needs: FrameNeeds) -> FeedFrame<'_>;

    /// Multiplies the decay half-life by `factor` (`+` doubles, `-` halves).
    fn scale_half_life(&mut self, factor: f64);

    /// A readout was pinned on these cells (or unpinned with `None`): later
    /// frames carry who sent them in [`FeedFrame::pinned`]. Feeds that know
    /// no sources ignore it.
    fn pin(&mut self, _request: Option<PinRequest>) {}

    /// Told after each frame how long it took on the CPU (read, scale, draw
    /// submit), for `--metrics`. Feeds that do not report it ignore it.
    fn frame_drawn(&mut self, _cpu: std::time::Duration) {}
}

/// Something the window did; passed to [`WallOptions::observer`] so tests
/// (and logs) can follow the window without guessing at timing.
#[derive(Clone, Debug, PartialEq)]
pub enum WallEvent {
    /// The window is up and drew its first frame at this size.
    Ready {
        /// Surface width.
        width: u32,
        /// Surface height.
        height: u32,
        /// The adapter drawing it, e.g. "llvmpipe (Cpu) on Vulkan".
        adapter: String,
        /// The surface format (non-sRGB, so the screen matches snapshots).
        format: String,
    },
    /// A frame was presented.
    Presented {
        /// Frames presented so far, this one included.
        frame: u64,
        /// Surface width.
        width: u32,
        /// Surface height.
        height: u32,
        /// Layout shown.
        layout: LayoutKind,
        /// Map in focus.
        focus: usize,
        /// Presenter mode.
        presenter: bool,
        /// Blank screen.
        blank: bool,
        /// Help overlay shown.
        help: bool,
    },
    /// A key was handled.
    Key(keys::Action),
    /// A screenshot was written.
    Screenshot(PathBuf),
    /// Something went wrong but the wall carries on (message for the log).
    Problem(String),
}

/// Receives [`WallEvent`]s.
pub type Observer = Box<dyn FnMut(&WallEvent)>;

/// How the wall window starts. Every field has a sensible default.
pub struct WallOptions {
    /// Initial layout (`--layout`).
    pub layout: LayoutKind,
    /// Initial map in focus, counted from 0.
    pub focus: usize,
    /// Video wall geometry (`--wall-grid CxR`).
    pub wall: Option<WallGrid>,
    /// Start borderless full-screen (`--fullscreen`).
    pub fullscreen: bool,
    /// Monitor to open on, counted from 0 (`--monitor N`); default the primary.
    pub monitor: Option<usize>,
    /// Start in presenter mode.
    pub presenter: bool,
    /// Presenter auto-advance interval (`--present-interval 20s`).
    pub present_interval: Option<Duration>,
    /// Frames per second to draw (the picture changes no faster than this).
    pub fps: f64,
    /// Where `S` writes screenshots.
    pub screenshot_dir: PathBuf,
    /// Initial window size in pixels when not full-screen.
    pub size: (u32, u32),
    /// Window title.
    pub title: String,
    /// Hardware or software rendering.
    pub adapter: AdapterChoice,
    /// Follows what the window does (tests, logging).
    pub observer: Option<Observer>,
    /// Initial colour scale mode (`--scale`; key C cycles).
    pub scale: ScaleMode,
    /// Initial counts or change view (`--view`; key N toggles).
    pub map_view: MapView,
    /// Initial cell order of address maps (`--order`; key K toggles).
    pub order: CellOrder,
    /// Initial colour map (`--colormap`; key V cycles).
    pub colours: ColourMap,
    /// How much larger than the default text is drawn (`--text-scale`).
    pub text_scale: crate::render::TextScale,
    /// What is known of the local network (`--local`), for axes and hover.
    pub local: crate::known::LocalPrefix,
}

impl Default for WallOptions {
    fn default() -> Self {
        WallOptions {
            layout: LayoutKind::Grid3x2,
            focus: 0,
            wall: None,
            fullscreen: false,
            monitor: None,
            presenter: false,
            present_interval: None,
            fps: 30.0,
            screenshot_dir: PathBuf::from("."),
            size: (1600, 900),
            title: "scanwall".into(),
            adapter: AdapterChoice::from_env(),
            observer: None,
            scale: ScaleMode::default(),
            map_view: MapView::default(),
            order: CellOrder::default(),
            colours: ColourMap::default(),
            text_scale: crate::render::TextScale::default(),
            local: crate::known::LocalPrefix::default(),
        }
    }
}

impl std::fmt::Debug for WallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WallOptions")
            .field("layout", &self.layout)
            .field("focus", &self.focus)
            .field("wall", &self.wall)
            .field("fullscreen", &self.fullscreen)
            .field("monitor", &self.monitor)
            .field("presenter", &self.presenter)
            .field("present_interval", &self.present_interval)
            .field("fps", &self.fps)
            .field("screenshot_dir", &self.screenshot_dir)
            .field("size", &self.size)
            .field("title", &self.title)
            .field("adapter", &self.adapter)
            .field("scale", &self.scale)
            .field("map_view", &self.map_view)
            .field("order", &self.order)
            .field("colours", &self.colours)
            .field("text_scale", &self.text_scale)
            .finish_non_exhaustive()
    }
}

/// A file name for a screenshot taken at `unix_secs`: `scanwall-20210601-120003.png` (UTC).
pub fn screenshot_name(unix_secs: u64) -> String {
    let t = crate::utc::Utc::from_unix_secs(unix_secs);
    format!(
        "scanwall-{:04}{:02}{:02}-{:02}{:02}{:02}.png",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Why a screenshot was not saved, in words an operator can act on: the
/// folder, the user the wall runs as (after dropping root it is `nobody` or
/// `--user`, who may not write where the operator expects) and the error.
pub fn screenshot_failure(dir: &std::path::Path, error: &dyn std::fmt::Display) -> String {
    let uid = nix::unistd::Uid::effective();
    let user = match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => format!("user {} (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    };
    format!(
        "screenshot failed: cannot write into {} as {user}: {error}",
        dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #21: a screenshot that could not be written did not say where
    /// or as whom.
    #[test]
    fn a_failed_screenshot_names_the_folder_and_the_user() {
        let msg = screenshot_failure(
            std::path::Path::new("/var/lib/scanwall/shots"),
            &"Permission denied",
        );
        assert!(msg.contains("/var/lib/scanwall/shots"), "{msg}");
        assert!(msg.contains("Permission denied"), "{msg}");
        let uid = nix::unistd::Uid::effective();
        assert!(msg.contains(&format!("uid {uid}")), "{msg}");
    }

    #[test]
    fn screenshot_names_are_utc_timestamps() {
        assert_eq!(screenshot_name(0), "scanwall-19700101-000000.png");
        // 2021-06-01 12:00:03 UTC
        assert_eq!(screenshot_name(1_622_548_803), "scanwall-20210601-120003.png");
        // 2024-02-29 23:59:59 UTC (leap day)
        assert_eq!(screenshot_name(1_709_251_199), "scanwall-20240229-235959.png");
    }
}
