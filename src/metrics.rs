//! `--metrics`: the wall's health in Prometheus text exposition, so the NOC's
//! monitoring can alert on a wall that stalls, drops or slows down.
//!
//! One endpoint (`GET /metrics`) on one thread, so a tiny HTTP/1.0 responder
//! is written here rather than pulling in an HTTP server crate. Requests are
//! read with a size cap and a timeout: the port may face the network. Every
//! value is read from the same atomics the status line uses; nothing on the
//! packet path knows metrics exist.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::counting::Counters;
use crate::maps::MAPS;
use crate::parse::SkipReason;
use crate::source::SourceStatus;

/// Frame timing the window reports and metrics read.
#[derive(Debug, Default)]
pub struct FrameStats {
    frames: AtomicU64,
    last_ns: AtomicU64,
    max_ns: AtomicU64,
    /// Sum over all frames, so a scraper can take the mean over any window.
    total_ns: AtomicU64,
}

impl FrameStats {
    /// Records one frame that took `cpu` on the CPU (read, scale, draw submit).
    pub fn record(&self, cpu: Duration) {
        let ns = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
        self.frames.fetch_add(1, Relaxed);
        self.last_ns.store(ns, Relaxed);
        self.max_ns.fetch_max(ns, Relaxed);
        self.total_ns.fetch_add(ns, Relaxed);
    }
}

/// What a scrape reads.
#[derive(Clone)]
pub struct MetricsSources {
    /// The counters (packet, skip and per-map totals).
    pub counters: Arc<Counters>,
    /// The source's drops, stall flag and peers.
    pub status: Arc<SourceStatus>,
    /// Frame timing (the wall only; zero elsewhere).
    pub frames: Arc<FrameStats>,
}

/// A bound metrics port: bound before root is dropped (low ports work),
/// served once the session's counters exist.
pub struct MetricsListener {
    listener: TcpListener,
}

/// Largest request head read; anything longer is answered 431 and closed.
const MAX_REQUEST: usize = 8192;
/// A client gets this long to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

impl MetricsListener {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen for metrics on {addr}: {e}; pick a free port with --metrics HOST:PORT"
            )
        })?;
        Ok(MetricsListener { listener })
    }

    /// The bound address (port 0 picks a free one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves scrapes on a thread of its own until `stop` is set.
    pub fn serve(self, sources: MetricsSources, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
        self.listener.set_nonblocking(true)?;
        std::thread::Builder::new().name("metrics".into()).spawn(move || {
            while !stop.load(Relaxed) {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        // A client that misbehaves costs one timeout, nothing more.
                        let _ = answer(stream, &sources);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        })
    }
}

/// Reads one request and writes one response.
fn answer(mut stream: TcpStream, sources: &MetricsSources) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut buf = [0u8; MAX_REQUEST];
    let mut len = 0;
    let complete = loop {
        if len == buf.len() {
            break false;
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            break false;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || buf[..len].windows(2).any(|w| w == b"\n\n") {
            break true;
        }
    };
    let first_line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    let (status, body) = if !complete && len == buf.len() {
        ("431 Request Header Fields Too Large", String::new())
    } else if first_line.starts_with(b"GET /metrics ") || first_line.starts_with(b"GET /metrics?") {
        ("200 OK", exposition(sources))
    } else if first_line.starts_with(b"GET ") {
        ("404 Not Found", "scanwall serves /metrics only\n".to_string())
    } else {
        ("405 Method Not Allowed", String::new())
    };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

/// Escapes a label value (peer names come from the network).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One metric family's header.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole exposition text.
pub fn exposition(s: &MetricsSources) -> String {
    let mut out = String::new();
    let totals = s.counters.totals();
    let st = &s.status;
    family(
        &mut out,
        "scanwall_packets_total",
        "counter",
        "Packets handed to counting (counted or skipped).",
    );
    let _ = writeln!(out, "scanwall_packets_total {}", totals.packets);
    family(
        &mut out,
        "scanwall_skipped_total",
        "counter",
        "Packets not counted in any map, by reason.",
    );
    for r in SkipReason::ALL {
        let _ = writeln!(
            out,
            "scanwall_skipped_total{{reason=\"{}\"}} {}",
            r.name(),
            totals.skipped[r.index()]
        );
    }
    family(
        &mut out,
        "scanwall_map_packets_total",
        "counter",
        "Packets counted into each map (rate() gives per-map rates).",
    );
    for (&m, n) in s.counters.maps().iter().zip(&totals.per_map) {
        let _ = writeln!(out, "scanwall_map_packets_total{{map=\"{}\"}} {n}", MAPS[m].name);
    }
    family(
        &mut out,
        "scanwall_capture_received_total",
        "counter",
        "Packets the kernel capture received (live interfaces).",
    );
    let _ = writeln!(
        out,
        "scanwall_capture_received_total {}",
        st.received.load(Relaxed)
    );
    family(
        &mut out,
        "scanwall_drops_total",
        "counter",
        "Packets lost before counting, by where.",
    );
    for (place, v) in [
        ("kernel", st.kernel_drops.load(Relaxed)),
        ("interface", st.interface_drops.load(Relaxed)),
        ("shed", st.shed.load(Relaxed)),
    ] {
        let _ = writeln!(out, "scanwall_drops_total{{where=\"{place}\"}} {v}");
    }
    family(
        &mut out,
        "scanwall_source_stalled",
        "gauge",
        "1 while the source delivers nothing.",
    );
    let _ = writeln!(
        out,
        "scanwall_source_stalled {}",
        u8::from(st.stalled.load(Relaxed))
    );
    family(
        &mut out,
        "scanwall_packet_clock_seconds",
        "gauge",
        "Time of the newest packet counted (Unix seconds).",
    );
    let clock = totals.last_ts.map_or(0.0, |t| t as f64 / 1e9);
    let _ = writeln!(out, "scanwall_packet_clock_seconds {clock}");
    let peers = st.peers.summaries();
    if !peers.is_empty() {
        type Field = (
            &'static str,
            &'static str,
            &'static str,
            fn(&crate::source::peers::PeerSummary) -> f64,
        );
        let fields: [Field; 5] = [
            (
                "scanwall_peer_up",
                "gauge",
                "1 while the sensor or sFlow agent is connected and heard from.",
                |p| f64::from(u8::from(p.live)),
            ),
            (
                "scanwall_peer_packets_total",
                "counter",
                "Packets a peer accounted for (sFlow: scaled by the sampling rate).",
                |p| p.packets as f64,
            ),
            (
                "scanwall_peer_drops_total",
                "counter",
                "Packets a peer lost before counting.",
                |p| p.drops as f64,
            ),
            (
                "scanwall_peer_malformed_total",
                "counter",
                "Frames or datagrams from a peer rejected as malformed.",
                |p| p.malformed as f64,
            ),
            (
                "scanwall_peer_lag_seconds",
                "gauge",
                "Age of a peer's newest data on arrival.",
                |p| p.lag_ms as f64 / 1e3,
            ),
        ];
        for (name, kind, help, value) in fields {
            family(&mut out, name, kind, help);
            for p in &peers {
                let _ = writeln!(
                    out,
                    "{name}{{kind=\"{}\",peer=\"{}\"}} {}",
                    p.kind.name(),
                    label(&p.name),
                    value(p)
                );
            }
        }
    }
    let f = &s.frames;
    let seconds = |ns: &AtomicU64| ns.load(Relaxed) as f64 / 1e9;
    let frame_fields: [(&str, &str, &str, f64); 4] = [
        (
            "scanwall_frames_total",
            "counter",
            "Frames drawn by the wall.",
            f.frames.load(Relaxed) as f64,
        ),
        (
            "scanwall_frame_seconds",
            "gauge",
            "CPU time of the latest frame (read, scale, draw).",
            seconds(&f.last_ns),
        ),
        (
            "scanwall_frame_seconds_max",
            "gauge",
            "CPU time of the slowest frame so far.",
            seconds(&f.max_ns),
        ),
        (
            "scanwall_frame_cpu_seconds_total",
            "counter",
            "CPU time of all frames (read, scale, draw): over frames_total, the mean frame.",
            seconds(&f.total_ns),
        ),
    ];
    for (name, kind, help, value) in frame_fields {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counting::Decay;
    use crate::maps::by_name;
    use crate::source::peers::PeerKind;

    fn sources() -> MetricsSources {
        let counters = Counters::new(vec![by_name("syn").unwrap_or(0)], Decay::NONE);
        let status = Arc::new(SourceStatus::new("eth1", false));
        MetricsSources {
            counters,
            status,
            frames: Arc::new(FrameStats::default()),
        }
    }

    #[test]
    fn exposition_names_every_family_and_escapes_hostile_peer_names() {
        let s = sources();
        s.status.kernel_drops.store(7, Relaxed);
        s.status.shed.store(3, Relaxed);
        let p = s
            .status
            .peers
            .peer(PeerKind::Sensor, "evil\"\n\\name")
            .expect("room");
        p.packets.store(42, Relaxed);
        s.frames.record(Duration::from_micros(1500));
        let text = exposition(&s);
        for line in [
            "scanwall_packets_total 0",
            "scanwall_map_packets_total{map=\"syn\"} 0",
            "scanwall_drops_total{where=\"kernel\"} 7",
            "scanwall_drops_total{where=\"shed\"} 3",
            "scanwall_skipped_total{reason=\"not_ip\"} 0",
            "scanwall_peer_packets_total{kind=\"sensor\",peer=\"evil\\\"\\n\\\\name\"} 42",
            "scanwall_peer_up{kind=\"sensor\",peer=\"evil\\\"\\n\\\\name\"} 0",
            "scanwall_frames_total 1",
            "scanwall_frame_seconds 0.0015",
            "scanwall_frame_cpu_seconds_total 0.0015",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        // Every sample line belongs to a declared family.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let name = l.split(['{', ' ']).next().unwrap_or_default();
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} undeclared");
        }
    }

    #[test]
    fn a_scrape_over_http_gets_the_text_and_other_paths_get_404() {
        let listener = MetricsListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = listener.serve(sources(), stop.clone()).expect("serve");
        let get = |path: &str| {
            let mut c = TcpStream::connect(addr).expect("connect");
            c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .expect("send");
            let mut reply = String::new();
            c.read_to_string(&mut reply).expect("read");
            reply
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.0 200 OK"), "{ok}");
        assert!(ok.contains("text/plain; version=0.0.4"));
        assert!(ok.contains("\r\n\r\n# HELP scanwall_packets_total"));
        assert!(get("/").starts_with("HTTP/1.0 404"));
        // A client that sends an endless header is cut off, and the server goes on.
        let mut flood = TcpStream::connect(addr).expect("connect");
        let _ = flood.write_all(&[b'a'; MAX_REQUEST + 10]);
        let mut reply = String::new();
        let _ = flood.read_to_string(&mut reply);
        assert!(reply.starts_with("HTTP/1.0 431"), "{reply}");
        assert!(get("/metrics").starts_with("HTTP/1.0 200"));
        stop.store(true, Relaxed);
        thread.join().expect("metrics thread");
    }
}
