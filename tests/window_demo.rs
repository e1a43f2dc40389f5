//! End to end through the real binary: `scanwall --demo --fullscreen` under
//! Xvfb, driven by key presses (layout cycle, map pick, presenter mode,
//! screenshot, quit). Demo traffic is random, so the checks are structural:
//! every map area the layout math names is drawn (no background inside it),
//! the space between maps is background, the screenshot PNG is written.
//!
//! Same requirements and skip rule as `window_e2e`.

mod proc;
mod xvfb;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use proc::uid_of;
use scanwall::render::{LayoutKind, RgbaImage, ViewState};
use xvfb::{SIZE, XServer, bright_pixels, screenshot_path, wait_for, within};

/// The wall's background colour (see `render::scene`).
const BACKGROUND: [u8; 3] = [22, 24, 28];

/// Every shown map covers its area (sampled on a grid) and the gaps between
/// maps are background.
fn layout_drawn(img: &RgbaImage, view: &ViewState, tiles: usize) -> Result<(), String> {
    if (img.width, img.height) != SIZE {
        return Err(format!("screen is {}x{}", img.width, img.height));
    }
    let arr = view.arrange(tiles, SIZE.0, SIZE.1);
    for slot in &arr.slots {
        let m = slot.map;
        for i in 0..5 {
            for j in 0..5 {
                let (x, y) = (m.x + m.w * i / 5 + 1, m.y + m.h * j / 5 + 1);
                if img.rgb(x as u32, y as u32) == Some(BACKGROUND) {
                    return Err(format!("tile {} not drawn at ({x},{y})", slot.tile));
                }
            }
        }
        // Right of the map, past its ticks: background.
        let gap = (m.right() + slot.metrics.tick + 3, m.y + m.h / 2 + 1);
        if gap.0 < slot.region.right() && img.rgb(gap.0 as u32, gap.1 as u32) != Some(BACKGROUND) {
            return Err(format!("tile {}: no gap right of the map at {gap:?}", slot.tile));
        }
    }
    Ok(())
}

/// `GET /metrics` from the wall on `port`.
fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to --metrics");
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("send");
    let mut reply = String::new();
    c.read_to_string(&mut reply).expect("read");
    assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
    reply
}

/// The value of the unlabelled sample `name` in exposition `text`.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn demo_wall_runs_through_the_binary() {
    let Some(mut x) = XServer::start("window-demo") else {
        return;
    };
    let root = uid_of("self") == Some(0);
    if root {
        // Started as root, the wall becomes nobody: its screenshots need a
        // folder anyone may write to, as /tmp is.
        std::fs::set_permissions(&x.dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    }
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scanwall"));
    cmd.args([
        "--demo",
        "--fullscreen",
        "--metrics",
        &metrics_port.to_string(),
        "--screenshot-dir",
    ])
    .arg(&x.dir);
    let rx = x.spawn_window(cmd);
    wait_for(&rx, &["Ready"]);
    if root {
        // The GUI never runs as root unless asked (`--user root`).
        let pid = x.window_pid().expect("window pid").to_string();
        assert_eq!(uid_of(&pid), Some(65534), "the wall still runs as root");
    } else {
        println!("not root: the privilege drop is not exercised here");
    }
    // The window manager makes the window full-screen shortly after it maps;
    // under load the first frames may still be at the initial size.
    wait_for(&rx, &["Presented", "width: 1920, height: 1080"]);
    let wid = x.window_id("scanwall");
    x.pointer(5, 5);

    // The wall's metrics, scraped over HTTP while it draws.
    let text = scrape(metrics_port);
    assert!(metric(&text, "scanwall_frames_total") >= 1.0, "{text}");
    assert!(metric(&text, "scanwall_packets_total") > 0.0, "{text}");
    assert!(metric(&text, "scanwall_frame_seconds") > 0.0, "{text}");
    assert!(text.contains("scanwall_map_packets_total{map=\"syn\"}"), "{text}");

    let mut view = ViewState::default();
    x.expect_screen("1-grid-3x2", |img| layout_drawn(img, &view, 6));

    x.key(&wid, "Tab");
    wait_for(&rx, &["Presented", "layout: Grid2x3"]);
    view.layout = LayoutKind::Grid2x3;
    x.expect_screen("2-grid-2x3", |img| layout_drawn(img, &view, 6));

    x.key(&wid, "l");
    wait_for(&rx, &["Presented", "layout: Focus"]);
    x.key(&wid, "2");
    wait_for(&rx, &["Presented", "layout: Focus", "focus: 1"]);
    view.layout = LayoutKind::Focus;
    view.focus = 1;
    x.expect_screen("3-focus-2", |img| layout_drawn(img, &view, 6));

    x.key(&wid, "p");
    wait_for(&rx, &["Presented", "presenter: true"]);
    view.presenter = true;
    let img = x.expect_screen("4-presenter", |img| layout_drawn(img, &view, 6));
    let caption = view.arrange(6, SIZE.0, SIZE.1).caption.expect("caption");
    assert!(bright_pixels(&img, caption) > 2000, "no caption on screen");

    x.key(&wid, "s");
    let path = screenshot_path(&wait_for(&rx, &["Screenshot("]));
    assert!(within(&path, &x.dir), "{path:?}");
    let saved = RgbaImage::read_png(&path).expect("read the app's screenshot");
    layout_drawn(&saved, &view, 6).expect("the screenshot shows the presenter layout");

    x.key(&wid, "q");
    let status = x.wait_window_exit();
    assert!(status.success(), "scanwall failed: {status}");
}
