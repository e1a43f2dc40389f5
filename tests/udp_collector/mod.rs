//! A `scanwall count` run collecting UDP datagrams (`--sflow`, `--netflow`)
//! on a free loopback port, for the sFlow and NetFlow end-to-end tests:
//! started, waited for by its listening line (never by sleeping), fed
//! datagrams, and read back as JSON once its `--duration` is over.
#![allow(dead_code)]

use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

#[path = "../stderr_lines/mod.rs"]
mod stderr_lines;

/// Upper bound on any one wait: generous for a loaded CI machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running collector.
pub struct Collector {
    child: Child,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    lines: Receiver<String>,
    log: Vec<String>,
    /// The port it bound.
    pub port: u16,
}

/// What a finished run printed.
pub struct Outcome {
    /// Standard output as JSON.
    pub json: serde_json::Value,
    /// Standard error.
    pub log: String,
    /// Whether it exited with status 0.
    pub success: bool,
}

impl Collector {
    /// Starts `scanwall count OPTION 127.0.0.1:0 --duration DURATION --format
    /// json EXTRA...` and waits for its line `PROTOCOL collector on 127.0.0.1:PORT`.
    pub fn start(option: &str, protocol: &str, duration: &str, extra: &[&str]) -> Collector {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(["count", option, "127.0.0.1:0", "--duration", duration])
            .args(["--format", "json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start scanwall");
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        let lines = stderr_lines::follow(child.stderr.take().unwrap());
        let mut c = Collector {
            child,
            stdout,
            lines,
            log: Vec::new(),
            port: 0,
        };
        let marker = format!("{protocol} collector on 127.0.0.1:");
        let listening = |l: &str| l.contains(&marker);
        let Some(line) = stderr_lines::wait_for(&c.lines, &mut c.log, PATIENCE, listening) else {
            let _ = c.child.kill();
            panic!("no listening line; standard error:\n{}", c.log.join("\n"));
        };
        c.port = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .expect("a port in the listening line");
        c
    }

    /// Sends `datagrams` from `from` (a loopback address).
    pub fn send(&self, from: Ipv4Addr, datagrams: &[Vec<u8>]) {
        let socket = UdpSocket::bind((from, 0)).unwrap();
        for d in datagrams {
            socket.send_to(d, ("127.0.0.1", self.port)).unwrap();
        }
    }

    /// Waits for the run to end; returns its JSON, log and exit status.
    pub fn finish(mut self) -> Outcome {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("scanwall did not end after its --duration");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self.stdout.join().unwrap();
        self.log.extend(self.lines.try_iter());
        let log = self.log.join("\n");
        let json = serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}\n{log}", String::from_utf8_lossy(&out)));
        Outcome {
            json,
            log,
            success: status.success(),
        }
    }
}

/// Where a program is: on `PATH`, or in the sbin folders (not on a normal
/// user's `PATH`, where Debian puts `pmacctd`, `softflowd` and `nfcapd`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(Into::into))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Starts pmacct's `pmacctd` reading the capture file `capture` and feeding
/// the plugin that `plugin` configures (config lines, e.g. `plugins:
/// sfprobe` and its receiver); the config file goes to `dir`/`name`.conf.
/// pmacctd sleeps 2 s before it reads a capture file, sends what its plugin
/// made of it, and exits by itself: see [`wait_exit`].
pub fn pmacctd(program: &Path, dir: &Path, name: &str, capture: &Path, plugin: &str) -> Child {
    let conf = dir.join(format!("{name}.conf"));
    let text = format!(
        "daemonize: false\npcap_savefile: {}\n{plugin}\n",
        capture.display()
    );
    std::fs::write(&conf, text).unwrap();
    Command::new(program)
        .arg("-f")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pmacctd")
}

/// Waits for `child` (named `what`) to exit by itself within [`PATIENCE`];
/// kills it and fails the test otherwise.
pub fn wait_exit(mut child: Child, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish its capture");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The count in a map's cell of a `count --format json` document (0 when absent).
pub fn cell(json: &serde_json::Value, map: &str, key: u16) -> u64 {
    json["maps"][map][key.to_string()].as_u64().unwrap_or(0)
}

/// A session as the wall (`seconds` `None`) or `snapshot --seconds`
/// (`Some`) starts it on `option` (`--sflow`, `--netflow`) at 127.0.0.1:`port`,
/// through the commands' own source plan (staying root: the test process
/// must, for the other tests).
pub fn session(option: &str, port: u16, seconds: Option<f64>) -> scanwall::session::Session {
    use scanwall::cli::Cli;
    use scanwall::commands::sources::{Run, SourcePlan};
    let addr = format!("127.0.0.1:{port}");
    let args = [
        "scanwall",
        option,
        &addr,
        "--local",
        "192.0.2.0/24",
        "--user",
        "root",
    ];
    let cli = <Cli as clap::Parser>::try_parse_from(args).unwrap();
    let run = seconds.map_or(Run::Live, |seconds| Run::Headless { seconds });
    let plan = SourcePlan::from_args(&cli.wall.source, run).unwrap();
    let counters = scanwall::commands::counters(&cli.wall.counting);
    let sources = plan.open(&counters).unwrap();
    scanwall::session::Session::start(counters, sources).unwrap()
}

/// A live session's "now" is the system clock (a quiet network still
/// fades); then the session is stopped and its threads joined.
pub fn assert_system_clock_then_stop(mut session: scanwall::session::Session) {
    let system_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let now = session.now().unwrap();
    assert!(
        now.abs_diff(system_now) < 5_000_000_000,
        "now {now} vs system {system_now}"
    );
    session.stop();
    session.wait().unwrap();
}
