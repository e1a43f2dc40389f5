//! `--fullscreen` in a kiosk X session with no window manager (issue #21):
//! the window must fill the monitor, F must give the windowed size back and
//! F again fill it again. Before, the full-screen request was a hint that
//! nobody acted on: a 1600x900 window in the corner, and the first F
//! "turned off" a full screen that had never been shown.
//!
//! Runs this test binary again as the window process (one event loop per
//! process), on a bare Xvfb, and reads the screen back. Needs Xvfb, xdotool
//! and imagemagick; without them it says so and passes unless
//! SCANWALL_REQUIRE_XVFB=1.

mod xvfb;

use std::process::Command;

use scanwall::maps::{CELLS, MAPS};
use scanwall::render::colour::PAPER_SCALE;
use scanwall::render::{AdapterChoice, EventOverlay, RgbaImage, StatusInfo, TileInput, ViewState};
use scanwall::ui::{FeedFrame, FrameFeed, FrameNeeds, WallOptions, run_wall};
use xvfb::{SIZE, XServer, wait_for};

const CHILD: &str = "SCANWALL_BARE_CHILD";
const TITLE: &str = "scanwall-bare";

/// Six maps, tile i uniformly at stop i+1.
struct Synthetic(Vec<Vec<f32>>);

impl FrameFeed for Synthetic {
    fn frame(&mut self, _frozen: bool, _needs: FrameNeeds) -> FeedFrame<'_> {
        FeedFrame {
            tiles: self
                .0
                .iter()
                .zip([0usize, 1, 2, 3, 4, 8])
                .map(|(v, m)| TileInput {
                    def: &MAPS[m],
                    values: v,
                    rate_pps: 100.0,
                    baseline: None,
                    scale: None,
                })
                .collect(),
            status: StatusInfo {
                source: "synthetic".into(),
                demo: true,
                ..StatusInfo::default()
            },
            rate_per_value: 0.0,
            events: EventOverlay::default(),
            pinned: Vec::new(),
        }
    }

    fn scale_half_life(&mut self, _factor: f64) {}
}

fn child() {
    let feed = Synthetic((0..6).map(|i| vec![PAPER_SCALE[1 + i].value; CELLS]).collect());
    let options = WallOptions {
        fullscreen: true,
        title: TITLE.into(),
        fps: 20.0,
        adapter: AdapterChoice::PreferHardware,
        ..WallOptions::default()
    };
    if let Err(e) = run_wall(Box::new(feed), options) {
        panic!("wall failed: {e:#}");
    }
}

/// The wall drawn at `w` x `h` at the screen's top left: the corners of
/// each map in its colour; beyond it, the bare root window (black).
fn wall_at(img: &RgbaImage, w: u32, h: u32) -> Result<(), String> {
    let arr = ViewState::default().arrange(6, w, h);
    for slot in &arr.slots {
        let m = slot.map;
        let want = PAPER_SCALE[1 + slot.tile].rgb;
        for (x, y) in [(m.x, m.y), (m.right() - 1, m.bottom() - 1)] {
            let got = img.rgb(x as u32, y as u32);
            if got != Some(want) {
                return Err(format!(
                    "{w}x{h}: tile {} at ({x},{y}) is {got:?}, want {want:?}",
                    slot.tile
                ));
            }
        }
    }
    if w < SIZE.0 {
        let beyond = img.rgb(SIZE.0 - 2, SIZE.1 - 2);
        if beyond != Some([0, 0, 0]) {
            return Err(format!("beyond the window: {beyond:?}"));
        }
    }
    Ok(())
}

#[test]
fn fullscreen_fills_the_monitor_without_a_window_manager() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let Some(mut x) = XServer::start_bare("window-fullscreen-bare") else {
        return;
    };
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "fullscreen_fills_the_monitor_without_a_window_manager",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1");
    let rx = x.spawn_window(cmd);
    wait_for(&rx, &["Ready"]);
    // 1. Full screen from the start: the whole 1920x1080 monitor.
    wait_for(&rx, &["Presented", "width: 1920, height: 1080"]);
    let wid = x.window_id(TITLE);
    x.pointer(1, 1);
    x.expect_screen("1-fullscreen", |img| wall_at(img, SIZE.0, SIZE.1));
    // 2. F: the windowed size (1600x900), the rest of the screen bare.
    x.key(&wid, "f");
    wait_for(&rx, &["Presented", "width: 1600, height: 900"]);
    x.expect_screen("2-windowed", |img| wall_at(img, 1600, 900));
    // 3. F again: full screen again.
    x.key(&wid, "f");
    wait_for(&rx, &["Presented", "width: 1920, height: 1080"]);
    x.expect_screen("3-fullscreen-again", |img| wall_at(img, SIZE.0, SIZE.1));
    x.key(&wid, "q");
    let status = x.wait_window_exit();
    assert!(status.success(), "window process failed: {status}");
}
