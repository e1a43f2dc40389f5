//! End to end: the real wall window under Xvfb, driven by key presses, its
//! pixels read back from the X server.
//!
//! The test starts its own Xvfb (on a free display) and evilwm, then runs
//! this same test binary again as the window process (winit allows one event
//! loop per process, and a child gets its own DISPLAY without touching this
//! process's environment). The child prints every [`WallEvent`]; the parent
//! waits for those events instead of sleeping, presses keys with xdotool and
//! checks `import -window root` screenshots against the layout math.
//!
//! Needs Xvfb, evilwm, xdotool, imagemagick and a Vulkan or GL driver
//! (mesa-vulkan-drivers). Where Xvfb is missing the test says so and passes,
//! unless SCANWALL_REQUIRE_XVFB=1 (set it in CI).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use scanwall::maps::{CELLS, MAPS};
use scanwall::render::colour::PAPER_SCALE;
use scanwall::render::{AdapterChoice, LayoutKind, Rect, RgbaImage, StatusInfo, TileInput, ViewState};
use scanwall::ui::{FeedFrame, FrameFeed, WallEvent, WallOptions, run_wall};

const CHILD: &str = "SCANWALL_E2E_CHILD";
const SHOTS: &str = "SCANWALL_E2E_SHOTS";
const TITLE: &str = "scanwall-e2e";
const SIZE: (u32, u32) = (1920, 1080);
/// Upper bound on any single wait: generous for a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// Six maps, tile i uniformly at stop i+1, so each is one known colour.
struct Synthetic {
    values: Vec<Vec<f32>>,
    half_life: f64,
}

impl FrameFeed for Synthetic {
    fn frame(&mut self, _frozen: bool) -> FeedFrame<'_> {
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
                })
                .collect(),
            status: StatusInfo {
                source: "synthetic".into(),
                demo: true,
                half_life: format!("{} s", self.half_life),
                ..StatusInfo::default()
            },
            rate_per_value: std::f64::consts::LN_2 / self.half_life,
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
        observer: Some(Box::new(|e: &WallEvent| println!("EVENT {e:?}"))),
        ..WallOptions::default()
    };
    if let Err(e) = run_wall(Box::new(feed), options) {
        panic!("wall failed: {e:#}");
    }
}

/// Processes this test started; killed (by their own ids) when dropped.
struct Started(Vec<Child>);

impl Drop for Started {
    fn drop(&mut self) {
        for c in self.0.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn x_command(display: &str, program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Starts Xvfb on a free display and returns it with its name (":N").
fn start_xvfb(started: &mut Started) -> String {
    let mut xvfb = Command::new("Xvfb")
        .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
        .arg(format!("{}x{}x24", SIZE.0, SIZE.1))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let mut out = xvfb.stdout.take().expect("Xvfb stdout");
    started.0.push(xvfb);
    // Xvfb writes the display number once it accepts connections.
    let mut line = String::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(char::from(byte[0]));
    }
    let n: u32 = line.trim().parse().expect("Xvfb display number");
    format!(":{n}")
}

/// Lines the child prints, as a channel.
fn events(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for an event line containing every one of `parts`.
fn wait_for(rx: &Receiver<String>, parts: &[&str]) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // The test harness may print "test ... " on the same line first.
        match rx.recv_timeout(left) {
            Ok(line) => match line.find("EVENT ") {
                Some(i) if parts.iter().all(|p| line[i..].contains(p)) => {
                    return line[i..].to_owned();
                }
                Some(_) => {}
                None => eprintln!("window: {line}"),
            },
            Err(RecvTimeoutError::Timeout) => panic!("no event with {parts:?} in {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the window process ended before an event with {parts:?}")
            }
        }
    }
}

fn grab(display: &str, dir: &Path, name: &str) -> RgbaImage {
    let path = dir.join(format!("{name}.png"));
    let out = x_command(
        display,
        "import",
        &["-window", "root", &format!("png:{}", path.display())],
    );
    assert!(out.status.success(), "import failed: {out:?}");
    RgbaImage::read_png(&path).expect("read screenshot")
}

/// Checks the maps of `view` in `img`; returns the first mismatch.
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
    }
    Ok(())
}

/// Screenshots until the picture matches `check` (the last frame may still
/// be on its way to the X server after the Presented event); bounded.
fn expect_screen(
    display: &str,
    dir: &Path,
    name: &str,
    check: impl Fn(&RgbaImage) -> Result<(), String>,
) -> RgbaImage {
    let mut last = String::new();
    for attempt in 0..20 {
        let img = grab(display, dir, name);
        match check(&img) {
            Ok(()) => return img,
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(50 * attempt.min(4) + 50));
    }
    panic!("{name}: screen never showed what was expected: {last}");
}

fn key(display: &str, wid: &str, k: &str) {
    let out = x_command(display, "xdotool", &["windowfocus", "--sync", wid]);
    assert!(out.status.success(), "xdotool windowfocus: {out:?}");
    let out = x_command(display, "xdotool", &["key", k]);
    assert!(out.status.success(), "xdotool key {k}: {out:?}");
}

fn bright_pixels(img: &RgbaImage, area: Rect) -> usize {
    let mut n = 0;
    for y in area.y..area.bottom() {
        for x in area.x..area.right() {
            if let Some([r, g, b]) = img.rgb(x as u32, y as u32)
                && u16::from(r) + u16::from(g) + u16::from(b) > 400
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn wall_window_under_xvfb() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let tools = ["Xvfb", "evilwm", "xdotool", "import", "xprop"];
    if let Some(missing) = tools.iter().find(|t| !have(t)) {
        let required = std::env::var("SCANWALL_REQUIRE_XVFB").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{missing} not found; install xvfb evilwm xdotool imagemagick x11-utils"
        );
        eprintln!("skipping the window test: {missing} not found");
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("window-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("output dir");
    let runtime = dir.join("xdg");
    std::fs::create_dir_all(&runtime).expect("runtime dir");

    let mut started = Started(Vec::new());
    let display = start_xvfb(&mut started);
    let wm = Command::new("evilwm")
        .args(["-fn", "fixed"])
        .env("DISPLAY", &display)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start evilwm");
    started.0.push(wm);
    // Full-screen needs the window manager: wait until it announces itself.
    let deadline = Instant::now() + PATIENCE;
    while !String::from_utf8_lossy(
        &x_command(&display, "xprop", &["-root", "_NET_SUPPORTING_WM_CHECK"]).stdout,
    )
    .contains("window id")
    {
        assert!(Instant::now() < deadline, "evilwm did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let exe = std::env::current_exe().expect("test binary");
    let mut window = Command::new(exe)
        .args([
            "--exact",
            "wall_window_under_xvfb",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(SHOTS, &dir)
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the window process");
    let rx = events(&mut window);
    started.0.push(window);

    let ready = wait_for(&rx, &["Ready"]);
    assert!(
        ready.contains("width: 1920, height: 1080"),
        "not full-screen: {ready}"
    );
    eprintln!("{ready}");
    if std::env::var("WGPU_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("gl")) {
        assert!(ready.contains("on Gl"), "asked for GL: {ready}");
    }
    let out = x_command(&display, "xdotool", &["search", "--sync", "--name", TITLE]);
    let wid = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("window id")
        .trim()
        .to_owned();

    // Park the pointer off the maps so no hover readout covers them.
    let out = x_command(&display, "xdotool", &["mousemove", "--sync", "5", "5"]);
    assert!(out.status.success(), "xdotool mousemove: {out:?}");

    // 1. The default 3x2 grid.
    let mut view = ViewState::default();
    expect_screen(&display, &dir, "1-grid-3x2", |img| maps_match(img, &view));

    // 2. Tab: the 2x3 grid.
    key(&display, &wid, "Tab");
    wait_for(&rx, &["Presented", "layout: Grid2x3"]);
    view.layout = LayoutKind::Grid2x3;
    expect_screen(&display, &dir, "2-grid-2x3", |img| maps_match(img, &view));

    // 3. L: focus layout; 3: the third map in focus, large.
    key(&display, &wid, "l");
    wait_for(&rx, &["Presented", "layout: Focus"]);
    key(&display, &wid, "3");
    wait_for(&rx, &["Presented", "layout: Focus", "focus: 2"]);
    view.layout = LayoutKind::Focus;
    view.focus = 2;
    expect_screen(&display, &dir, "3-focus-3", |img| maps_match(img, &view));

    // 4. P: presenter mode on the same map, with its caption.
    key(&display, &wid, "p");
    wait_for(&rx, &["Presented", "presenter: true", "focus: 2"]);
    view.presenter = true;
    let shown = expect_screen(&display, &dir, "4-presenter", |img| maps_match(img, &view));
    let caption = view.arrange(6, SIZE.0, SIZE.1).caption.expect("caption");
    assert!(bright_pixels(&shown, caption) > 2000, "no caption on screen");

    // 5. PageDown: the next map.
    key(&display, &wid, "Next");
    wait_for(&rx, &["Presented", "presenter: true", "focus: 3"]);
    view.focus = 3;
    let screen = expect_screen(&display, &dir, "5-presenter-next", |img| maps_match(img, &view));

    // 6. S: a screenshot PNG with the same picture.
    key(&display, &wid, "s");
    let line = wait_for(&rx, &["Screenshot("]);
    let path = line
        .split('"')
        .nth(1)
        .map(PathBuf::from)
        .expect("screenshot path");
    assert!(path.starts_with(&dir), "{path:?}");
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
    let slot = view.arrange(6, SIZE.0, SIZE.1).slots[0];
    let cell = slot.cell_rect(87, 198);
    let (cx, cy) = (cell.x + cell.w / 2, cell.y + cell.h / 2);
    let out = x_command(
        &display,
        "xdotool",
        &["mousemove", "--sync", &cx.to_string(), &cy.to_string()],
    );
    assert!(out.status.success(), "xdotool mousemove: {out:?}");
    expect_screen(&display, &dir, "6-hover", |img| {
        let outline = img.rgb(cell.x as u32, (cell.y - 2) as u32);
        if outline != Some([255, 40, 140]) {
            return Err(format!("no hover outline: {outline:?}"));
        }
        let readout = Rect::new(cx + 10, cy + 10, 300, 120);
        match bright_pixels(img, readout) {
            n if n > 200 => Ok(()),
            n => Err(format!("hover readout has {n} bright pixels")),
        }
    });
    let out = x_command(&display, "xdotool", &["mousemove", "--sync", "5", "5"]);
    assert!(out.status.success(), "xdotool mousemove: {out:?}");

    // 8. B: blank; Esc: back.
    key(&display, &wid, "b");
    wait_for(&rx, &["Presented", "blank: true"]);
    expect_screen(&display, &dir, "7-blank", |img| {
        match img.pixels.chunks_exact(4).position(|p| p[..3] != [0, 0, 0]) {
            None => Ok(()),
            Some(i) => Err(format!("pixel {i} is not black")),
        }
    });
    key(&display, &wid, "Escape");
    wait_for(&rx, &["Presented", "blank: false", "presenter: true"]);
    expect_screen(&display, &dir, "8-unblank", |img| maps_match(img, &view));

    // 9. Q: the window closes and the process exits cleanly.
    key(&display, &wid, "q");
    let mut window = started.0.pop().expect("window process");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = window.try_wait().expect("wait for window") {
            break s;
        }
        assert!(Instant::now() < deadline, "the window did not quit on Q");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "window process failed: {status}");
}
