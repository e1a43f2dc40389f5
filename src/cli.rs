//! The command line, declared once with clap: tcpdump-like capture options
//! (`-i`, `-r`, trailing BPF filter) shared by the wall and its subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::counting::{DecayMode, HalfLife};
use crate::maps::MapId;
use crate::source::Speed;

/// scanwall: real-time heat maps of network scans for a NOC video wall.
#[derive(Debug, Parser)]
#[command(name = "scanwall", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to run; without one, the wall.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the wall itself.
    #[command(flatten)]
    pub wall: WallArgs,
    /// Messages shown on standard error: off, error, warn, info (the default),
    /// debug or trace; RUST_LOG=LEVEL or per-module directives work too.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<log::LevelFilter>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a whole capture as fast as possible and print exact, undecayed totals.
    Count(Box<CountArgs>),
    /// Render what the wall would show at one packet time to a PNG, with no window.
    Snapshot(Box<SnapshotArgs>),
    /// Write the demo traffic to a classic pcap file (for benchmarks, replays and tests).
    Generate(GenerateArgs),
    /// Run the wall's whole path (demo traffic flat out, headless frames) for a
    /// while and check nothing is lost, memory stays flat and frames stay fast.
    Soak(SoakArgs),
    /// Print a shell completion script (e.g. `scanwall completions bash > /etc/bash_completion.d/scanwall`).
    Completions(CompletionsArgs),
    /// Print the man page as roff (`scanwall man > scanwall.1`), or write one page per command to `--dir`.
    Man(ManArgs),
    /// Count on a capture host and send counter deltas to one or more walls
    /// (`--to`); no display or GPU needed.
    Sensor(Box<SensorArgs>),
    /// Print every scan event (a /24 swept, a host probed on many ports, a
    /// port range) of a capture or a live run, with its top sources.
    Events(Box<EventsArgs>),
}

/// `scanwall completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `scanwall man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write scanwall.1 and a page per subcommand (scanwall-count.1, ...) into this folder instead.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `scanwall soak`.
#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How long to run (e.g. 30s, 10m, 24h).
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = duration, allow_hyphen_values = true)]
    pub duration: Duration,
    /// Time before resident memory is taken as the reference.
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = duration, allow_hyphen_values = true)]
    pub warmup: Duration,
    /// Demo generators counting flat out, a thread each (the wall's capture threads).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: usize,
    /// Size of the frames drawn.
    #[arg(long, value_name = "WxH", default_value = "1920x1080")]
    pub size: Size,
    /// Fail when resident memory grows more than this after warm-up (MiB).
    #[arg(long, value_name = "MIB", default_value_t = 16.0)]
    pub max_rss_growth_mb: f64,
    /// Fail when any frame takes longer than this (milliseconds).
    #[arg(long, value_name = "MS", default_value_t = 2000.0)]
    pub max_frame_ms: f64,
}

/// `scanwall generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output pcap file (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Number of packets to write.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub packets: u64,
    /// Packets per second of packet time.
    #[arg(long, value_name = "PPS", default_value_t = crate::source::demo::DemoConfig::DEFAULT_RATE)]
    pub rate: f64,
    /// Random seed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
}

/// How the maps are arranged (the wall and `snapshot` share these).
#[derive(Debug, Args, Clone)]
pub struct ViewArgs {
    /// Arrangement: grid-3x2, grid-2x3, focus (one large + the rest small), single.
    #[arg(long, value_name = "LAYOUT", default_value = "grid-3x2")]
    pub layout: crate::render::LayoutKind,
    /// The map in focus (for focus, single and presenter), by name or 1-based position.
    #[arg(long, value_name = "MAP")]
    pub focus: Option<String>,
    /// Presenter mode: one map large with a plain-language caption.
    #[arg(long)]
    pub presenter: bool,
    /// A video wall of COLSxROWS monitors showing one desktop: no map straddles a bezel.
    #[arg(long, value_name = "COLSxROWS")]
    pub wall_grid: Option<crate::render::WallGrid>,
    /// Colour scale: paper (the paper's fixed stops), auto (per-map gain),
    /// log (1 to the map's maximum), rank (histogram equalisation). Key C cycles.
    #[arg(long, value_name = "MODE", default_value = "paper")]
    pub scale: crate::render::ScaleMode,
    /// What cells show: counts, or change (short-term rate against the
    /// `--baseline`, warm above, cool below). Key N toggles.
    #[arg(long = "view", value_name = "VIEW", default_value = "counts")]
    pub map_view: crate::render::MapView,
    /// Cell order of address maps: row (3rd octet = row) or hilbert (each /24
    /// a 16x16 square). Key K toggles.
    #[arg(long, value_name = "ORDER", default_value = "row")]
    pub order: crate::render::CellOrder,
    /// Colour map: paper, viridis (perceptually uniform), cividis (colour-blind safe), ylgnbu (colour-blind safe, white to navy: empty cells stand apart from the background). Key V cycles.
    #[arg(long = "colormap", value_name = "MAP", default_value = "paper")]
    pub colours: crate::render::ColourMap,
    /// All text this many times its default size (0.5 to 3): titles are about
    /// 3 % of the screen height at 1, for reading from about 4 m.
    #[arg(long, value_name = "FACTOR", default_value = "1")]
    pub text_scale: crate::render::TextScale,
}

/// `scanwall snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Packet sources.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Maps and decay.
    #[command(flatten)]
    pub counting: CountingArgs,
    /// Layout and focus.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Packet time to show: a duration after the first packet (e.g. 30s, 2m), or `end`.
    #[arg(long, value_name = "TIME", default_value = "end", value_parser = at_time, allow_hyphen_values = true)]
    pub at: At,
    /// Seconds of demo traffic to generate (with `--sflow` or `--netflow`: seconds to collect).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub seconds: f64,
    /// Image size in pixels.
    #[arg(long, value_name = "WxH", default_value = "1920x1080")]
    pub size: Size,
    /// Output PNG file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Outline the scan events live at `--at` on their maps, as the wall does.
    #[arg(long)]
    pub events: bool,
    /// With `--events`: also show the event list (the wall's key E).
    #[arg(long, requires = "events")]
    pub events_list: bool,
}

/// Where packets come from: one of `-r`, `-i` and `--demo`, or any of the
/// listeners `--listen`, `--sflow`, `--netflow` and `--sensors-listen` together.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// Read a capture file (pcap or pcapng); `-` reads a pcap stream from standard input.
    #[arg(short = 'r', long = "read", value_name = "FILE", conflicts_with_all = ["interface", "listen", "demo"])]
    pub read: Option<PathBuf>,
    /// Capture live on an interface (needs root or cap_net_raw).
    /// Repeat `-i` to capture several interfaces (a thread each), e.g. both fibres of a tap.
    #[arg(short = 'i', long = "interface", value_name = "IFACE", conflicts_with_all = ["listen", "demo"])]
    pub interface: Vec<String>,
    /// Accept pcap streams over TCP (`tcpdump -w - | ncat HOST PORT`); a bare port binds 127.0.0.1.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with = "demo", value_parser = listen_addr)]
    pub listen: Option<SocketAddr>,
    /// Collect sFlow v5 from switches and routers (UDP; agents send to port 6343 by
    /// default); each sampled packet counts as many as its sampling rate. A bare port
    /// binds 127.0.0.1: give 0.0.0.0:6343 to hear the network.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with_all = ["read", "interface", "demo"], value_parser = sflow_addr)]
    pub sflow: Option<SocketAddr>,
    /// Collect NetFlow v5, v9 and IPFIX flow records from routers and switches on
    /// one UDP port (exporters commonly send to 2055; IPFIX's port is 4739); each
    /// flow counts as its packets times the sampling interval. A bare port binds
    /// 127.0.0.1: give 0.0.0.0:2055 to hear the network.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with_all = ["read", "interface", "demo"], value_parser = netflow_addr)]
    pub netflow: Option<SocketAddr>,
    /// Merge the counts of `scanwall sensor`s that connect here (TCP; a bare port
    /// binds 127.0.0.1, sensors default to port 7311); needs `--key-file`.
    #[arg(
        long,
        value_name = "[HOST:]PORT",
        conflicts_with_all = ["read", "interface", "demo"],
        value_parser = sensors_addr
    )]
    pub sensors_listen: Option<SocketAddr>,
    /// The secret a wall and its sensors share (mode 600: readable by its owner only);
    /// sensors prove they hold it, it is never sent.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Built-in synthetic campus traffic (the default when no source is given).
    #[arg(long)]
    pub demo: bool,
    /// Demo packets per second.
    #[arg(long, value_name = "PPS", default_value_t = crate::source::demo::DemoConfig::DEFAULT_RATE)]
    pub demo_rate: f64,
    /// Demo random seed (same seed, same traffic).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Replay speed for files: 1 = real time (the default), N = N times faster, max = as fast as possible.
    #[arg(long, value_name = "N|max", value_parser = Speed::parse)]
    pub speed: Option<Speed>,
    /// Replay the file again and again (the packet clock keeps rising).
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Local network (repeatable, IPv4 or IPv6 CIDR); only packets into it from outside count.
    #[arg(long = "local", value_name = "CIDR", value_parser = crate::parse::parse_prefix)]
    pub local: Vec<ipnet::IpNet>,
    /// Bytes captured per packet on a live interface (headers are enough).
    #[arg(long, value_name = "BYTES", default_value_t = 128)]
    pub snaplen: u32,
    /// Kernel capture buffer on a live interface, in MiB (kernel memory
    /// mapped into the process, one per interface and capture thread: it holds bursts).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub buffer_mb: u32,
    /// Capture threads per live interface (1 to 64, Linux): the kernel splits
    /// the interface's packets between them by flow (PACKET_FANOUT), each on a
    /// core of its own, for a link faster than one core reads (about one per
    /// 5 M packets/s; see README). Each thread has its own --buffer-mb.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = capture_threads,
        conflicts_with_all = ["read", "listen", "sflow", "netflow", "sensors_listen", "demo"]
    )]
    pub capture_threads: usize,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// With `--listen`: drop a sender that finishes no record for this long (e.g. 30s,
    /// 500ms), freeing its slot (at most 64 senders are served at once; when all are
    /// taken, a new sender gets the slot of the least productive).
    #[arg(long, value_name = "TIME", default_value = "60s", value_parser = duration, allow_hyphen_values = true)]
    pub stream_idle_timeout: Duration,
    /// When started as root: the user to become once the capture is open
    /// (default nobody); `root` keeps root on purpose.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// BPF filter.
    #[command(flatten)]
    pub filter: FilterArgs,
}

/// A BPF filter given tcpdump-style: `-f EXPR` and/or the trailing arguments.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// BPF filter expression (tcpdump syntax); the trailing arguments are one too.
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    pub filter: Option<String>,
    /// BPF filter expression, tcpdump-style (e.g. `tcp and not port 22`).
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter_words: Vec<String>,
}

impl FilterArgs {
    /// The BPF expression from `-f` and/or the trailing words.
    pub fn filter_expression(&self) -> Option<String> {
        let words = self.filter_words.join(" ");
        match (&self.filter, words.is_empty()) {
            (Some(f), true) => Some(f.clone()),
            (Some(f), false) => Some(format!("({f}) and ({words})")),
            (None, false) => Some(words),
            (None, true) => None,
        }
    }
}

/// Which maps and how they fade.
#[derive(Debug, Args, Clone)]
pub struct CountingArgs {
    /// Maps to count and show, comma-separated: icmp all syn udp port synport addrport synaddrport len.
    #[arg(long, value_name = "LIST", value_parser = map_list)]
    pub maps: Option<MapList>,
    /// Half-life of the exponential decay (e.g. 10s, 500ms, 2m).
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = half_life, allow_hyphen_values = true)]
    pub half_life: HalfLife,
    /// Decay rule: exp (continuous), step (halve every half-life, as the paper), none (totals).
    #[arg(long, value_name = "RULE", default_value = "exp", value_parser = DecayMode::parse)]
    pub decay: DecayMode,
    /// Half-life of the slow baseline the change view (`--view change`, key N)
    /// compares against, e.g. 10m or 1h; `off` keeps none and saves its memory.
    #[arg(long, value_name = "TIME|off", default_value = "10m", value_parser = baseline, allow_hyphen_values = true)]
    pub baseline: Baseline,
}

/// The wall's options.
#[derive(Debug, Args)]
pub struct WallArgs {
    /// Packet sources.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Maps and decay.
    #[command(flatten)]
    pub counting: CountingArgs,
    /// Layout and focus.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Start borderless full-screen (F / F11 toggles).
    #[arg(long)]
    pub fullscreen: bool,
    /// Monitor to open on, counted from 0 (default: the primary).
    #[arg(long, value_name = "N")]
    pub monitor: Option<usize>,
    /// Presenter mode: advance to the next map every TIME (e.g. 20s).
    #[arg(long, value_name = "TIME", value_parser = duration, allow_hyphen_values = true)]
    pub present_interval: Option<Duration>,
    /// Folder for screenshots (S).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub screenshot_dir: PathBuf,
    /// Frames drawn per second (1 to 240).
    #[arg(long, value_name = "FPS", default_value = "30", value_parser = fps)]
    pub fps: f64,
    /// Serve Prometheus metrics (packets, per-map totals, drops, peers, frame
    /// time) at `http://ADDR/metrics`; a bare port binds 127.0.0.1.
    #[arg(long, value_name = "[HOST:]PORT", value_parser = metrics_addr)]
    pub metrics: Option<SocketAddr>,
    /// Append one JSON line per scan event start and end to FILE (for a SIEM
    /// or jq); the file is opened again on SIGHUP, after logrotate moved it.
    #[arg(long, value_name = "FILE")]
    pub events_log: Option<PathBuf>,
}

/// `scanwall sensor`.
#[derive(Debug, Args)]
pub struct SensorArgs {
    /// Packet sources (`-i` for a capture host; `-r`, `--demo` to try it out).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Maps to count and send, comma-separated (default: the wall's six); send at
    /// least the maps the walls show.
    #[arg(long, value_name = "LIST", value_parser = map_list)]
    pub maps: Option<MapList>,
    /// A wall to send to, HOST[:PORT] (port 7311 unless given); repeat for several walls.
    #[arg(long = "to", value_name = "HOST[:PORT]", required = true)]
    pub to: Vec<String>,
    /// Time between deltas (10ms to 10s).
    #[arg(long, value_name = "TIME", default_value = "100ms", value_parser = sensor_interval, allow_hyphen_values = true)]
    pub interval: Duration,
    /// The name the walls show for this sensor (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Stop after this much wall-clock time (default: until SIGINT or SIGTERM,
    /// or the end of a `-r` file).
    #[arg(long, value_name = "TIME", value_parser = duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
}

/// Output formats of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CountFormat {
    /// `map,key,count`, one line per non-zero cell, sorted by map name then key.
    Csv,
    /// `{"maps": {name: {key: count}}, "packets": N, "skipped": {reason: N}}`.
    Json,
}

/// `scanwall count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Packet sources (`-r` a file; `-i`, `--listen`, `--sflow` or
    /// `--sensors-listen` with `--duration` or a connection count).
    #[command(flatten)]
    pub source: SourceArgs,
    /// With `--sensors-listen`: stop once N sensor connections have closed (refused ones included).
    #[arg(long, value_name = "N", requires = "sensors_listen")]
    pub sensors: Option<usize>,
    /// With `--listen`: stop once N sender connections have closed (refused ones included).
    #[arg(long, value_name = "N", requires = "listen")]
    pub streams: Option<usize>,
    /// With `--listen`, `--sflow`, `--sensors-listen` or `-i`: stop after this much
    /// wall-clock time (e.g. 10s, 10m). Live interfaces and sFlow need it.
    #[arg(long, value_name = "TIME", value_parser = duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Maps to count, comma-separated (default: all nine).
    #[arg(long, value_name = "LIST", value_parser = map_list)]
    pub maps: Option<MapList>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CountFormat::Csv)]
    pub format: CountFormat,
    /// Reader threads for classic pcap files (default: one per core, at most 8).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Output formats of `events`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    /// `{"events": [{"map": ..., "kind": ..., "top_sources": [...]}, ...]}`.
    Json,
    /// One line per event, with a header.
    Csv,
}

/// `scanwall events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Packet sources (`-r` a file; `-i`, `--listen`, `--sflow`, `--netflow` or
    /// `--sensors-listen` with `--duration` or a connection count).
    #[command(flatten)]
    pub source: SourceArgs,
    /// With `--sensors-listen`: stop once N sensor connections have closed.
    #[arg(long, value_name = "N", requires = "sensors_listen")]
    pub sensors: Option<usize>,
    /// With `--listen`: stop once N sender connections have closed.
    #[arg(long, value_name = "N", requires = "listen")]
    pub streams: Option<usize>,
    /// With a live source: stop after this much wall-clock time (e.g. 10s, 10m).
    #[arg(long, value_name = "TIME", value_parser = duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Maps to look at, comma-separated (default: all nine).
    #[arg(long, value_name = "LIST", value_parser = map_list)]
    pub maps: Option<MapList>,
    /// Half-life of the maps the events are found on (as the wall's).
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = half_life, allow_hyphen_values = true)]
    pub half_life: HalfLife,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EventsFormat::Json)]
    pub format: EventsFormat,
    /// Also append one JSON line per event start and end to FILE (reopened on SIGHUP).
    #[arg(long, value_name = "FILE")]
    pub events_log: Option<PathBuf>,
}

// Value parsers: each option's text becomes its real type here, so a bad value
// is refused by clap with the option named, before anything runs.

/// A comma-separated list of map names (`--maps`), in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapList(pub Vec<MapId>);

/// The `--baseline` half-life, or `None` for `off`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline(pub Option<HalfLife>);

/// `--at`: the end of the capture, or a time after its first packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The last packet.
    End,
    /// This long after the first packet.
    After(Duration),
}

/// An image size, `WIDTHxHEIGHT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || "expected WIDTHxHEIGHT, e.g. 3840x2160".to_string();
        let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height): (u32, u32) = (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        );
        if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
            return Err("each side must be 1 to 16384 pixels".into());
        }
        Ok(Size { width, height })
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

fn half_life(text: &str) -> Result<HalfLife, String> {
    HalfLife::parse(text)
}

fn baseline(text: &str) -> Result<Baseline, String> {
    match text.trim() {
        "off" | "none" => Ok(Baseline(None)),
        t => HalfLife::parse(t)
            .map(|h| Baseline(Some(h)))
            .map_err(|_| "expected e.g. 10m, 1h or off".into()),
    }
}

fn at_time(text: &str) -> Result<At, String> {
    match text.trim() {
        "end" => Ok(At::End),
        t => crate::duration::parse(t)
            .map(At::After)
            .map_err(|e| format!("{e}, or end")),
    }
}

fn map_list(text: &str) -> Result<MapList, String> {
    crate::maps::parse_list(text).map(MapList)
}

fn fps(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && (1.0..=240.0).contains(&f) => Ok(f),
        _ => Err("expected 1 to 240".into()),
    }
}

fn capture_threads(text: &str) -> Result<usize, String> {
    let n = text.trim().parse::<usize>().map_err(|_| {
        format!(
            "expected a whole number, 1 to {}",
            crate::source::libpcap::MAX_THREADS
        )
    })?;
    crate::source::libpcap::check_threads(n)
}

fn sensor_interval(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse(text)?;
    if (Duration::from_millis(10)..=Duration::from_secs(10)).contains(&d) {
        Ok(d)
    } else {
        Err("expected 10ms to 10s".into())
    }
}

/// The address of a listening option (`--listen`, `--sflow`, `--metrics`,
/// `--sensors-listen`): `PORT` binds 127.0.0.1, so nothing faces the network
/// unless `HOST:PORT` says so. `example` goes into the error.
fn bind_addr(text: &str, example: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse::<SocketAddr>()
        .map_err(|_| format!("expected PORT or HOST:PORT, e.g. {example}"))
}

fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    bind_addr(text, "127.0.0.1:5000")
}

fn sflow_addr(text: &str) -> Result<SocketAddr, String> {
    bind_addr(text, &format!("0.0.0.0:{}", crate::source::sflow::DEFAULT_PORT))
}

fn netflow_addr(text: &str) -> Result<SocketAddr, String> {
    bind_addr(text, &format!("0.0.0.0:{}", crate::source::netflow::DEFAULT_PORT))
}

fn sensors_addr(text: &str) -> Result<SocketAddr, String> {
    bind_addr(text, "0.0.0.0:7311")
}

fn metrics_addr(text: &str) -> Result<SocketAddr, String> {
    bind_addr(text, "127.0.0.1:9711")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> ipnet::IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn trailing_words_are_a_bpf_filter() {
        let cli = Cli::try_parse_from(["scanwall", "-i", "eth1", "tcp", "and", "port", "80"]).unwrap();
        assert_eq!(cli.wall.source.interface, ["eth1"]);
        assert_eq!(
            cli.wall.source.filter.filter_expression().as_deref(),
            Some("tcp and port 80")
        );
        let cli = Cli::try_parse_from([
            "scanwall",
            "count",
            "-r",
            "x.pcap",
            "--local",
            "10.0.0.0/8",
            "udp",
        ])
        .unwrap();
        let Some(Command::Count(c)) = cli.command else {
            panic!("not count")
        };
        assert_eq!(c.source.filter.filter_words, ["udp"]);
        assert_eq!(c.source.local, [net("10.0.0.0/8")]);
    }

    #[test]
    fn view_options_parse_for_snapshot() {
        let cli = Cli::try_parse_from([
            "scanwall",
            "snapshot",
            "-o",
            "x.png",
            "--scale",
            "rank",
            "--view",
            "change",
            "--order",
            "hilbert",
            "--colormap",
            "cividis",
            "--baseline",
            "1h",
        ])
        .unwrap();
        let Some(Command::Snapshot(s)) = cli.command else {
            panic!("not snapshot")
        };
        assert_eq!(s.view.scale, crate::render::ScaleMode::Rank);
        assert_eq!(s.view.map_view, crate::render::MapView::Change);
        assert_eq!(s.view.order, crate::render::CellOrder::Hilbert);
        assert_eq!(s.view.colours, crate::render::ColourMap::Cividis);
        assert_eq!(
            s.counting.baseline,
            Baseline(Some(HalfLife::new(Duration::from_secs(3600))))
        );
        assert!(Cli::try_parse_from(["scanwall", "--scale", "loud"]).is_err());
    }

    #[test]
    fn listening_addresses_default_to_loopback() {
        assert_eq!(listen_addr("5000"), Ok(SocketAddr::from(([127, 0, 0, 1], 5000))));
        assert_eq!(listen_addr("0.0.0.0:7"), Ok(SocketAddr::from(([0, 0, 0, 0], 7))));
        assert!(listen_addr("wallhost").is_err());
        assert_eq!(sflow_addr("[::]:6343"), Ok("[::]:6343".parse().unwrap()));
        let e = sflow_addr("switchhost").unwrap_err();
        assert!(e.contains("0.0.0.0:6343"), "{e}");
        assert_eq!(netflow_addr("2055"), Ok(SocketAddr::from(([127, 0, 0, 1], 2055))));
        let e = netflow_addr("routerhost").unwrap_err();
        assert!(e.contains("0.0.0.0:2055"), "{e}");
    }

    /// A file, an interface or the demo is refused with any other source, by
    /// the wall, `snapshot`, `count` and `sensor` alike, and the listeners
    /// are taken together: no source is ever silently ignored (`--sflow`
    /// with `--sensors-listen` used to drop the sensors).
    #[test]
    fn one_source_at_a_time_everywhere() {
        let sources: [&[&str]; 7] = [
            &["-r", "a.pcap"],
            &["-i", "eth0"],
            &["--listen", "5000"],
            &["--sflow", "6343"],
            &["--netflow", "2055"],
            &["--sensors-listen", "7311"],
            &["--demo"],
        ];
        let commands: [&[&str]; 4] = [
            &["scanwall"],
            &["scanwall", "snapshot", "-o", "x.png"],
            &["scanwall", "count"],
            &["scanwall", "sensor", "--to", "wall"],
        ];
        for command in commands {
            for (i, a) in sources.iter().enumerate() {
                for b in &sources[i + 1..] {
                    let line: Vec<&str> = command.iter().chain(a.iter()).chain(b.iter()).copied().collect();
                    let listeners = (2..=5).contains(&i) && !b.contains(&"--demo");
                    match Cli::try_parse_from(&line) {
                        Ok(_) => assert!(listeners, "accepted {}", line.join(" ")),
                        Err(e) => {
                            assert!(!listeners, "{}: {e}", line.join(" "));
                            assert_eq!(
                                e.kind(),
                                clap::error::ErrorKind::ArgumentConflict,
                                "{}",
                                line.join(" ")
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn capture_threads_are_bounded_and_for_interfaces_only() {
        let threads = |args: &[&str]| {
            let line = ["scanwall", "-i", "eth1"].iter().chain(args).copied();
            Cli::try_parse_from(line).map(|c| c.wall.source.capture_threads)
        };
        assert_eq!(threads(&[]).unwrap(), 1);
        assert_eq!(threads(&["--capture-threads", "4"]).unwrap(), 4);
        assert_eq!(threads(&["--capture-threads", "64"]).unwrap(), 64);
        for bad in ["0", "65", "two", "1.5"] {
            let e = threads(&["--capture-threads", bad]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(e.to_string().contains("1 to 64"), "{e}");
        }
        for other in [&["-r", "a.pcap"][..], &["--sflow", "6343"], &["--demo"]] {
            let line = ["scanwall", "count", "--capture-threads", "2"]
                .iter()
                .chain(other)
                .copied();
            let e = Cli::try_parse_from(line).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict, "{other:?}");
        }
        let line = [
            "scanwall",
            "sensor",
            "--to",
            "w",
            "-i",
            "eth1",
            "--capture-threads",
            "2",
        ];
        let Some(Command::Sensor(s)) = Cli::try_parse_from(line).unwrap().command else {
            panic!("not sensor")
        };
        assert_eq!(s.source.capture_threads, 2);
    }

    #[test]
    fn one_source_at_a_time() {
        assert!(Cli::try_parse_from(["scanwall", "-r", "a.pcap", "-i", "eth0"]).is_err());
        assert!(Cli::try_parse_from(["scanwall", "--demo", "--listen", "5000"]).is_err());
    }
}
