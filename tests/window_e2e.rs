//! End to end: the real wall window under Xvfb, driven by key presses, its
//! pixels read back from the X server and compared exactly with the layout
//! math (six maps of one known colour each, so every pixel has an answer).
//!
//! The test runs this same test binary again as the window process (winit
//! allows one event loop per process, and a child gets its own DISPLAY
//! without touching this process's environment). The child prints every
//! `WallEvent`; the parent waits for those instead of sleeping.
//!
//! Needs Xvfb, evilwm, xdotool, imagemagick and a Vulkan or GL driver
//! (mesa-vulkan-drivers). Where Xvfb is missing the test says so and passes,
//! unless SCANWALL_REQUIRE_XVFB=1 (set it in CI). `WGPU_BACKEND=gl` runs it on GL.

mod xvfb;

use std::path::PathBuf;
use std::process::Command;

use scanwall::maps::{CELLS, MAPS};
use scanwall::render::EventOverlay;
use scanwall::render::colour::PAPER_SCALE;
use scanwall::render::{AdapterChoice, LayoutKind, Rect, RgbaImage, StatusInfo, TileInput, ViewState};
use scanwall::ui::{FeedFrame, FrameFeed, FrameNeeds, WallOptions, run_wall};
use xvfb::{SIZE, XServer, bright_pixels, screenshot_path, wait_for, within};

const CHILD: &str = "SCANWALL_E2E_CHILD";
const SHOTS: &str = "SCANWALL_E2E_SHOTS";
const TITLE: &str = "scanwall-e2e";

/// Six maps, tile i uniformly at stop i+1, so each is one known colour.
struct Synthetic {
    values: Vec<Vec<f32>>,
    half_life: f64,
}

impl FrameFeed for Synthetic {
    fn frame(&mut self, _frozen: bool, _needs: FrameNeeds) -> FeedFrame<'_> {
        let order = [0usize, 1, 2, 3, 4, 8];
        FeedFrame {
            tiles: self
                .values
                .iter()
                .zip(order)
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
                half_life: format!("{} s", self.half_life),
                ..StatusInfo::default()
            },
            rate_per_value: std::f64::consts::LN_2 / self.half_life,
            events: EventOverlay::default(),
            pinned: Vec::new(),
        }
    }

    fn scale_half_life(&mut self, factor: f64) {
        self.half_life *= factor;
    }
}

fn tile_colour(i: usize) -> [u8; 3] {
    PAPER_SCALE[1 + i].rgb
}

/// The window process: runs the wall until Q.
fn child() {
    let shots = std::env::var_os(SHOTS).map_or_else(std::env::temp_dir, PathBuf::from);
    let feed = Synthetic {
        values: (0..6).map(|i| vec![PAPER_SCALE[1 + i].value; CELLS]).collect(),
        half_life: 10.0,
    };
    let options = WallOptions {
        fullscreen: true,
        title: TITLE.into(),
        screenshot_dir: shots,
        fps: 20.0,
        adapter: AdapterChoice::PreferHardware,
        ..WallOptions::default()
    };
    if let Err(e) = run_wall(Box::new(feed), options) {
        panic!("wall failed: {e:#}");
    }
}

/// Checks the maps of `view` in `img` exactly; the first mismatch.
fn maps_match(img: &RgbaImage, view: &ViewState) -> Result<(), String> {
    if (img.width, img.height) != SIZE {
        return Err(format!("screen is {}x{}", img.width, img.height));
    }
    let arr = view.arrange(6, SIZE.0, SIZE.1);
    for slot in &arr.slots {
        let m = slot.map;
        let want = tile_colour(slot.tile);
        for (x, y) in [
            (m.x, m.y),
            (m.right() - 1, m.bottom() - 1),
            (m.x + m.w / 2, m.y + m.h / 2),
            (m.x + 3, m.bottom() - 4),
        ] {
            let got = img.rgb(x as u32, y as u32);
            if got != Some(want) {
                return Err(format!("tile {} at ({x},{y}): {got:?}, want {want:?}", slot.tile));
            }
        }
        // Just outside the map: ticks or background, never the map's colour.
        if img.rgb((m.x - 1) as u32, (m.y + m.h / 2 + 3) as u32) == Some(want) {
            return Err(format!("tile {} spills left of its map", slot.tile));
        }
    }
    Ok(())
}

#[test]
fn wall_window_under_xvfb() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let Some(mut x) = XServer::start("window-e2e") else {
        return;
    };
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "wall_window_under_xvfb",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env(SHOTS, &x.dir);
    let rx = x.spawn_window(cmd);

    let ready = wait_for(&rx, &["Ready"]);
    eprintln!("{ready}");
    // The window manager makes the window full-screen shortly after it maps;
    // under load the first frames may still be at the initial size.
    wait_for(&rx, &["Presented", "width: 1920, height: 1080"]);
    assert!(
        ready.contains("format: \"Bgra8Unorm\"") || ready.contains("format: \"Rgba8Unorm\""),
        "{ready}"
    );
    if std::env::var("WGPU_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("gl")) {
        assert!(ready.contains("on Gl"), "asked for GL: {ready}");
    }
    let wid = x.window_id(TITLE);
    // Park the pointer off the maps so no hover readout covers them.
    x.pointer(5, 5);

    // 1. The default 3x2 grid.
    let mut view = ViewState::default();
    x.expect_screen("1-grid-3x2", |img| maps_match(img, &view));

    // 2. Tab: the 2x3 grid.
    x.key(&wid, "Tab");
    wait_for(&rx, &["Presented", "layout: Grid2x3"]);
    view.layout = LayoutKind::Grid2x3;
    x.expect_screen("2-grid-2x3", |img| maps_match(img, &view));

    // 3. L: focus layout; 3: the third map in focus, large.
    x.key(&wid, "l");
    wait_for(&rx, &["Presented", "layout: Focus"]);
    x.key(&wid, "3");
    wait_for(&rx, &["Presented", "layout: Focus", "focus: 2"]);
    view.layout = LayoutKind::Focus;
    view.focus = 2;
    x.expect_screen("3-focus-3", |img| maps_match(img, &view));

    // 4. P: presenter mode on the same map, with its caption.
    x.key(&wid, "p");
    wait_for(&rx, &["Presented", "presenter: true", "focus: 2"]);
    view.presenter = true;
    let shown = x.expect_screen("4-presenter", |img| maps_match(img, &view));
    let caption = view.arrange(6, SIZE.0, SIZE.1).caption.expect("caption");
    assert!(bright_pixels(&shown, caption) > 2000, "no caption on screen");

    // 5. PageDown: the next map.
    x.key(&wid, "Next");
    wait_for(&rx, &["Presented", "presenter: true", "focus: 3"]);
    view.focus = 3;
    let screen = x.expect_screen("5-presenter-next", |img| maps_match(img, &view));

    // 6. S: a timestamped PNG with the same picture as the screen.
    x.key(&wid, "s");
    let path = screenshot_path(&wait_for(&rx, &["Screenshot("]));
    assert!(within(&path, &x.dir), "{path:?}");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    assert!(name.starts_with("scanwall-") && name.ends_with(".png"), "{name}");
    let saved = RgbaImage::read_png(&path).expect("read the app's screenshot");
    maps_match(&saved, &view).expect("screenshot shows the presenter map");
    let m = view.arrange(6, SIZE.0, SIZE.1).slots[0].map;
    for y in (m.y..m.bottom()).step_by(37) {
        for x in (m.x..m.right()).step_by(41) {
            assert_eq!(
                saved.rgb(x as u32, y as u32),
                screen.rgb(x as u32, y as u32),
                "screenshot and screen differ at ({x},{y})"
            );
        }
    }

    // 7. Hover: the cell under the pointer is outlined and named.
    let cell = view.arrange(6, SIZE.0, SIZE.1).slots[0].cell_rect(87, 198);
    let (cx, cy) = (cell.x + cell.w / 2, cell.y + cell.h / 2);
    x.pointer(cx, cy);
    x.expect_screen("6-hover", |img| {
        let outline = img.rgb(cell.x as u32, (cell.y - 2) as u32);
        if outline != Some([255, 40, 140]) {
            return Err(format!("no hover outline: {outline:?}"));
        }
        match bright_pixels(img, Rect::new(cx + 10, cy + 10, 300, 120)) {
            n if n > 200 => Ok(()),
            n => Err(format!("hover readout has {n} bright pixels")),
        }
    });
    x.pointer(5, 5);

    // 8. B: blank; Esc: back.
    x.key(&wid, "b");
    wait_for(&rx, &["Presented", "blank: true"]);
    x.expect_screen("7-blank", |img| {
        match img.pixels.chunks_exact(4).position(|p| p[..3] != [0, 0, 0]) {
            None => Ok(()),
            Some(i) => Err(format!("pixel {i} is not black")),
        }
    });
    x.key(&wid, "Escape");
    wait_for(&rx, &["Presented", "blank: false", "presenter: true"]);
    x.expect_screen("8-unblank", |img| maps_match(img, &view));

    // 9. Q: the window closes and the process exits cleanly.
    x.key(&wid, "q");
    let status = x.wait_window_exit();
    assert!(status.success(), "window process failed: {status}");
}
