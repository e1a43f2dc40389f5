//! The command line, declared once with clap: tcpdump-like capture options
//! (`-i`, `-r`, trailing BPF filter) shared by the wall and its subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[arg(long, value_name = "TIME", default_value = "60s")]
    pub duration: String,
    /// Time before resident memory is taken as the reference.
    #[arg(long, value_name = "TIME", default_value = "10s")]
    pub warmup: String,
    /// Demo generators counting flat out, a thread each (the wall's capture threads).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub threads: usize,
    /// Size of the frames drawn.
    #[arg(long, value_name = "WxH", default_value = "1920x1080")]
    pub size: String,
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
    /// Colour map: paper, viridis (perceptually uniform), cividis (colour-blind safe). Key V cycles.
    #[arg(long = "colormap", value_name = "MAP", default_value = "paper")]
    pub colours: crate::render::ColourMap,
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
    #[arg(long, value_name = "TIME", default_value = "end")]
    pub at: String,
    /// Seconds of demo traffic to generate (with `--sflow`: seconds to collect).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub seconds: f64,
    /// Image size in pixels.
    #[arg(long, value_name = "WxH", default_value = "1920x1080")]
    pub size: String,
    /// Output PNG file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Where packets come from (one of `-r`, `-i`, `--listen`, `--demo`).
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
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with = "demo")]
    pub listen: Option<String>,
    /// Collect sFlow v5 from switches and routers (UDP; agents send to port 6343 by
    /// default); each sampled packet counts as many as its sampling rate. A bare port
    /// binds 127.0.0.1: give 0.0.0.0:6343 to hear the network.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with_all = ["read", "interface", "listen", "demo"])]
    pub sflow: Option<String>,
    /// Merge the counts of `scanwall sensor`s that connect here (TCP; a bare port
    /// binds 127.0.0.1, sensors default to port 7311); needs `--key-file`.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with_all = ["read", "interface", "listen", "demo"])]
    pub sensors_listen: Option<String>,
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
    /// Replay speed for files: 1 = real time, N = N times faster, max = as fast as possible.
    #[arg(long, value_name = "N|max", default_value = "1")]
    pub speed: String,
    /// Replay the file again and again (the packet clock keeps rising).
    #[arg(long = "loop")]
    pub repeat: bool,
    /// Local network (repeatable, IPv4 or IPv6 CIDR); only packets into it from outside count.
    #[arg(long = "local", value_name = "CIDR")]
    pub local: Vec<String>,
    /// Bytes captured per packet on a live interface (headers are enough).
    #[arg(long, value_name = "BYTES", default_value_t = 128)]
    pub snaplen: u32,
    /// Kernel capture buffer on a live interface, in MiB (kernel memory
    /// mapped into the process, one per interface: it holds bursts).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub buffer_mb: u32,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// With `--listen`: drop a sender that sends nothing for this long (e.g. 30s, 500ms),
    /// freeing its slot (at most 64 senders are served at once).
    #[arg(long, value_name = "TIME", default_value = "60s")]
    pub stream_idle_timeout: String,
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
    #[arg(long, value_name = "LIST")]
    pub maps: Option<String>,
    /// Half-life of the exponential decay (e.g. 10s, 500ms, 2m).
    #[arg(long, value_name = "TIME", default_value = "10s")]
    pub half_life: String,
    /// Decay rule: exp (continuous), step (halve every half-life, as the paper), none (totals).
    #[arg(long, value_name = "RULE", default_value = "exp")]
    pub decay: String,
    /// Half-life of the slow baseline the change view (`--view change`, key N)
    /// compares against, e.g. 10m or 1h; `off` keeps none and saves its memory.
    #[arg(long, value_name = "TIME|off", default_value = "10m")]
    pub baseline: String,
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
    #[arg(long, value_name = "TIME")]
    pub present_interval: Option<String>,
    /// Folder for screenshots (S).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub screenshot_dir: PathBuf,
    /// Frames drawn per second.
    #[arg(long, value_name = "FPS", default_value_t = 30.0)]
    pub fps: f64,
    /// Serve Prometheus metrics (packets, per-map totals, drops, peers, frame
    /// time) at `http://ADDR/metrics`; a bare port binds 127.0.0.1.
    #[arg(long, value_name = "[HOST:]PORT")]
    pub metrics: Option<String>,
}

/// `scanwall sensor`.
#[derive(Debug, Args)]
pub struct SensorArgs {
    /// Packet sources (`-i` for a capture host; `-r`, `--demo` to try it out).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Maps to count and send, comma-separated (default: the wall's six); send at
    /// least the maps the walls show.
    #[arg(long, value_name = "LIST")]
    pub maps: Option<String>,
    /// A wall to send to, HOST[:PORT] (port 7311 unless given); repeat for several walls.
    #[arg(long = "to", value_name = "HOST[:PORT]", required = true)]
    pub to: Vec<String>,
    /// Time between deltas (10ms to 10s).
    #[arg(long, value_name = "TIME", default_value = "100ms")]
    pub interval: String,
    /// The name the walls show for this sensor (default: the host name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Stop after this much wall-clock time (default: until SIGINT or SIGTERM,
    /// or the end of a `-r` file).
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
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
    /// Capture file to read (pcap or pcapng); `-` reads a pcap stream from standard input.
    #[arg(
        short = 'r',
        long = "read",
        value_name = "FILE",
        required_unless_present_any = ["listen", "interface", "sflow", "sensors_listen"],
        conflicts_with_all = ["listen", "interface"]
    )]
    pub read: Option<PathBuf>,
    /// Count live on an interface for `--duration` (repeatable, a thread each); the JSON
    /// output then also reports the capture's received and dropped packets.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "listen",
        requires = "duration"
    )]
    pub interface: Vec<String>,
    /// With `-i`: bytes captured per packet.
    #[arg(long, value_name = "BYTES", default_value_t = 128)]
    pub snaplen: u32,
    /// With `-i`: kernel capture buffer in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub buffer_mb: u32,
    /// Count pcap streams from TCP senders instead of a file (a bare port binds
    /// 127.0.0.1); stops after `--streams` connections or `--duration`.
    #[arg(long, value_name = "[HOST:]PORT")]
    pub listen: Option<String>,
    /// Count sFlow v5 samples received on UDP for `--duration` (a bare port binds
    /// 127.0.0.1), scaled by their sampling rates; the JSON output then also
    /// reports datagrams, drops and each agent.
    #[arg(
        long,
        value_name = "[HOST:]PORT",
        conflicts_with_all = ["read", "interface", "listen"],
        requires = "duration"
    )]
    pub sflow: Option<String>,
    /// Count the deltas of `scanwall sensor`s instead of a file (a bare port binds
    /// 127.0.0.1); needs `--key-file`, stops after `--sensors` connections or `--duration`.
    /// The JSON output then also reports each sensor and every refused connection.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with_all = ["read", "interface", "listen", "sflow"])]
    pub sensors_listen: Option<String>,
    /// With `--sensors-listen`: stop once N sensor connections have closed (refused ones included).
    #[arg(long, value_name = "N", requires = "sensors_listen")]
    pub sensors: Option<usize>,
    /// With `--sensors-listen`: the secret the sensors share (mode 600).
    #[arg(long, value_name = "FILE", requires = "sensors_listen")]
    pub key_file: Option<PathBuf>,
    /// With `--listen`: stop once N sender connections have closed (refused ones included).
    #[arg(long, value_name = "N", requires = "listen")]
    pub streams: Option<usize>,
    /// With `--listen`, `--sflow` or `-i`: stop after this much wall-clock time (e.g. 10s, 10m).
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
    /// With `--listen`: drop a sender that sends nothing for this long.
    #[arg(long, value_name = "TIME", default_value = "60s", requires = "listen")]
    pub stream_idle_timeout: String,
    /// Local network (repeatable); only packets into it from outside count.
    #[arg(long = "local", value_name = "CIDR")]
    pub local: Vec<String>,
    /// Maps to count, comma-separated (default: all nine).
    #[arg(long, value_name = "LIST")]
    pub maps: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CountFormat::Csv)]
    pub format: CountFormat,
    /// Reader threads for classic pcap files (default: one per core, at most 8).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// When started as root: the user to become once the capture is open
    /// (default nobody); `root` keeps root on purpose.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// BPF filter.
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.filter.filter_words, ["udp"]);
        assert_eq!(c.local, ["10.0.0.0/8"]);
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
        assert_eq!(s.counting.baseline, "1h");
        assert!(Cli::try_parse_from(["scanwall", "--scale", "loud"]).is_err());
    }

    #[test]
    fn one_source_at_a_time() {
        assert!(Cli::try_parse_from(["scanwall", "-r", "a.pcap", "-i", "eth0"]).is_err());
        assert!(Cli::try_parse_from(["scanwall", "--demo", "--listen", "5000"]).is_err());
    }
}
