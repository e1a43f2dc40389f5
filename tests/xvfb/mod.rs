//! A private X server for window tests: Xvfb on a free display with evilwm,
//! key presses and pointer moves with xdotool, screenshots with imagemagick,
//! and the window process's `EVENT ...` lines as a channel so tests wait for
//! events instead of sleeping.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use scanwall::render::{Rect, RgbaImage};

/// Screen size of the server.
pub const SIZE: (u32, u32) = (1920, 1080);
/// Upper bound on any single wait: generous for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Xvfb, evilwm and whatever the test starts; killed (each by its own id)
/// when dropped.
pub struct XServer {
    /// `:N`.
    pub display: String,
    /// Where screenshots and the window's files go.
    pub dir: PathBuf,
    children: Vec<Child>,
}

impl Drop for XServer {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
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

impl XServer {
    /// Starts the server and window manager, or returns `None` (after saying
    /// why) where the tools are missing and SCANWALL_REQUIRE_XVFB is not 1.
    pub fn start(name: &str) -> Option<XServer> {
        Self::start_with(name, true)
    }

    /// Starts the server alone, as a kiosk X session runs: no window
    /// manager at all (`None` as for [`XServer::start`]).
    pub fn start_bare(name: &str) -> Option<XServer> {
        Self::start_with(name, false)
    }

    fn start_with(name: &str, wm: bool) -> Option<XServer> {
        let tools: &[&str] = if wm {
            &["Xvfb", "evilwm", "xdotool", "import", "xprop"]
        } else {
            &["Xvfb", "xdotool", "import"]
        };
        if let Some(missing) = tools.iter().find(|t| !have(t)) {
            let required = std::env::var("SCANWALL_REQUIRE_XVFB").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{missing} not found; install xvfb evilwm xdotool imagemagick x11-utils"
            );
            eprintln!("skipping the window test: {missing} not found");
            return None;
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("xdg")).expect("output dir");
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{}x{}x24", SIZE.0, SIZE.1))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut out = xvfb.stdout.take().expect("Xvfb stdout");
        let mut server = XServer {
            display: String::new(),
            dir,
            children: vec![xvfb],
        };
        // Xvfb writes the display number once it accepts connections.
        let mut line = String::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
            line.push(char::from(byte[0]));
        }
        let n: u32 = line.trim().parse().expect("Xvfb display number");
        server.display = format!(":{n}");
        if !wm {
            return Some(server);
        }
        let start_wm = |display: &str| {
            Command::new("evilwm")
                .args(["-fn", "fixed"])
                .env("DISPLAY", display)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start evilwm")
        };
        server.children.push(start_wm(&server.display));
        // Full-screen needs the window manager: wait until it announces itself,
        // starting it again if it gave up (seen once on a loaded machine).
        let deadline = Instant::now() + PATIENCE;
        while !String::from_utf8_lossy(&server.run("xprop", &["-root", "_NET_SUPPORTING_WM_CHECK"]).stdout)
            .contains("window id")
        {
            assert!(Instant::now() < deadline, "evilwm did not start");
            if let Some(wm) = server.children.last_mut()
                && wm.try_wait().is_ok_and(|status| status.is_some())
            {
                eprintln!("evilwm exited; starting it again");
                *wm = start_wm(&server.display);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    /// Runs an X client on this display.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Starts the window process with this display and its stdout piped;
    /// returns its event lines. The process is killed when the server drops.
    pub fn spawn_window(&mut self, mut cmd: Command) -> Receiver<String> {
        let mut child = cmd
            .env("DISPLAY", &self.display)
            .env("XDG_RUNTIME_DIR", self.dir.join("xdg"))
            .env("SCANWALL_EVENTS", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the window process");
        let stdout = child.stdout.take().expect("child stdout");
        self.children.push(child);
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

    /// The process id of the window process (the last one spawned).
    pub fn window_pid(&self) -> Option<u32> {
        self.children.last().map(Child::id)
    }

    /// Waits for the window process (the last one spawned) to exit; its status.
    pub fn wait_window_exit(&mut self) -> std::process::ExitStatus {
        let mut window = self.children.pop().expect("window process");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(s) = window.try_wait().expect("wait for window") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = window.kill();
                panic!("the window did not exit");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The id of the window titled `title`, once it exists.
    pub fn window_id(&self, title: &str) -> String {
        let out = self.run("xdotool", &["search", "--sync", "--name", title]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("window id")
            .trim()
            .to_owned()
    }

    /// Focuses the window and presses `k` (an X keysym name: Tab, Next, q...).
    pub fn key(&self, wid: &str, k: &str) {
        let out = self.run("xdotool", &["windowfocus", "--sync", wid]);
        assert!(out.status.success(), "xdotool windowfocus: {out:?}");
        let out = self.run("xdotool", &["key", k]);
        assert!(out.status.success(), "xdotool key {k}: {out:?}");
    }

    /// Moves the pointer.
    pub fn pointer(&self, x: i32, y: i32) {
        let out = self.run(
            "xdotool",
            &["mousemove", "--sync", &x.to_string(), &y.to_string()],
        );
        assert!(out.status.success(), "xdotool mousemove: {out:?}");
    }

    /// A screenshot of the whole screen, saved as `name.png`.
    pub fn grab(&self, name: &str) -> RgbaImage {
        let path = self.dir.join(format!("{name}.png"));
        let out = self.run("import", &["-window", "root", &format!("png:{}", path.display())]);
        assert!(out.status.success(), "import failed: {out:?}");
        RgbaImage::read_png(&path).expect("read screenshot")
    }

    /// Screenshots until the picture passes `check` (a presented frame may
    /// still be on its way to the X server); bounded.
    pub fn expect_screen(&self, name: &str, check: impl Fn(&RgbaImage) -> Result<(), String>) -> RgbaImage {
        let mut last = String::new();
        for attempt in 0..20 {
            let img = self.grab(name);
            match check(&img) {
                Ok(()) => return img,
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(50 * attempt.min(4) + 50));
        }
        panic!("{name}: the screen never showed what was expected: {last}");
    }
}

/// Waits for an `EVENT` line containing every one of `parts`; returns it
/// from `EVENT` on.
pub fn wait_for(rx: &Receiver<String>, parts: &[&str]) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // The test harness may print "test ... " on the same line first.
        match rx.recv_timeout(left) {
            Ok(line) => match line.find("EVENT ") {
                Some(i) if parts.iter().all(|p| line[i..].contains(p)) => return line[i..].to_owned(),
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

/// The path inside a `Screenshot("...")` event.
pub fn screenshot_path(event: &str) -> PathBuf {
    event
        .split('"')
        .nth(1)
        .map(PathBuf::from)
        .expect("screenshot path")
}

/// Pixels in `area` much brighter than the dark background: drawn text.
pub fn bright_pixels(img: &RgbaImage, area: Rect) -> usize {
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

/// Whether `path` is inside `dir`.
pub fn within(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}
