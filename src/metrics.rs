//! `--metrics`: the wall's health in Prometheus text exposition, so the NOC's
//! monitoring can alert on a wall that stalls, drops or slows down.
//!
//! One endpoint (`GET /metrics`), answered by a small HTTP/1.0 responder
//! written here: what it must guarantee on a port that may face the network
//! is that no client can hold up a scrape, and that is a question of limits,
//! which a server crate would not have set for us. So:
//!
//! - connections are served at once, each on a short-lived thread of its own
//!   (a single thread serving them one after another let one client sending a
//!   byte every 1.5 s block scrapes indefinitely, and 30 idle connections
//!   delay one by a minute);
//! - the whole request must arrive within [`REQUEST_TIMEOUT`] of the
//!   connection (a timeout per read let a trickle go on for ever); a late one
//!   is answered 408, and the response gets as long again to be written;
//! - at most [`MAX_CONNECTIONS`] are served at once: one more drops the oldest
//!   connection still sending its request (a scrape is answered in
//!   milliseconds, so the oldest is the idlest), and threads of dropped
//!   connections count until they end, up to twice the cap;
//! - a request head over [`MAX_REQUEST`] is answered 431, and every answer
//!   ends with a lingering close (shut our side, read away what the client
//!   still sends for a moment), since closing with unread bytes makes the
//!   kernel reset the connection and the client sees the reset, not the answer.
//!
//! Every value is read from the same atomics the status line uses; nothing on
//! the packet path knows metrics exist.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::counting::Counters;
use crate::events::{BoardState, EventBoard, EventKind};
use crate::maps::{MAPS, MapId};
use crate::parse::SkipReason;
use crate::source::{SourceStatus, StatusSum};

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
    /// Each source's drops, stall flag and peers (summed: one wall, one set
    /// of numbers).
    pub statuses: Vec<Arc<SourceStatus>>,
    /// Frame timing (the wall only; zero elsewhere).
    pub frames: Arc<FrameStats>,
    /// Scan events found so far, when the detector runs.
    pub events: Option<Arc<EventBoard>>,
}

/// A bound metrics port: bound before root is dropped (low ports work),
/// served once the session's counters exist.
pub struct MetricsListener {
    listener: TcpListener,
    limits: Limits,
}

/// Largest request head read; anything longer is answered 431 and closed.
const MAX_REQUEST: usize = 8192;
/// A client gets this long from connecting to the end of its request head,
/// and as long again for the response to be written.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections served at once (Prometheus scrapes one at a time per target).
const MAX_CONNECTIONS: usize = 32;
/// How long the accept loop sleeps when no connection is waiting.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// A lingering close reads what the client still sends for at most this long...
const LINGER: Duration = Duration::from_millis(500);
/// ...and at most this much.
const MAX_LINGER_BYTES: usize = 1 << 20;
/// A client thread's stack: it holds one request head and little else.
const CLIENT_STACK: usize = 256 << 10;

/// What one client may cost (tests shorten them).
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// See [`REQUEST_TIMEOUT`].
    request: Duration,
    /// See [`MAX_CONNECTIONS`].
    connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request: REQUEST_TIMEOUT,
            connections: MAX_CONNECTIONS,
        }
    }
}

/// Where a client's connection is (shared by its thread and the accept loop).
const READING: u8 = 0;
const ANSWERING: u8 = 1;
const DROPPED: u8 = 2;

/// One connection being served.
struct Client {
    thread: JoinHandle<()>,
    /// A handle to shut it from the accept loop.
    stream: TcpStream,
    accepted: Instant,
    state: Arc<AtomicU8>,
}

impl MetricsListener {
    /// Binds `addr`.
    pub fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            anyhow::anyhow!(
                "cannot listen for metrics on {addr}: {e}; pick a free port with --metrics HOST:PORT"
            )
        })?;
        Ok(MetricsListener {
            listener,
            limits: Limits::default(),
        })
    }

    /// The bound address (port 0 picks a free one).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves scrapes until `stop` is set: an accept loop on a thread of its
    /// own, each connection on a thread of its own (see the module's notes).
    /// The returned thread ends once every connection's has.
    pub fn serve(self, sources: MetricsSources, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
        self.listener.set_nonblocking(true)?;
        let limits = self.limits;
        std::thread::Builder::new().name("metrics".into()).spawn(move || {
            let mut clients: Vec<Client> = Vec::new();
            while !stop.load(Relaxed) {
                clients.retain(|c| !c.thread.is_finished());
                match self.listener.accept() {
                    Ok((stream, _)) => admit(&mut clients, stream, &sources, limits),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                    Err(_) => std::thread::sleep(ACCEPT_POLL * 5),
                }
            }
            for c in &clients {
                let _ = c.stream.shutdown(Shutdown::Both);
            }
            for c in clients {
                let _ = c.thread.join();
            }
        })
    }
}

/// Serves `stream` on a thread of its own, first dropping the oldest
/// connection still sending its request when `limits.connections` are served.
/// A connection is closed unanswered only when even twice the cap of threads
/// are still running (dropped ones ending, answers being written).
fn admit(clients: &mut Vec<Client>, stream: TcpStream, sources: &MetricsSources, limits: Limits) {
    let served = clients
        .iter()
        .filter(|c| c.state.load(Relaxed) != DROPPED)
        .count();
    if served >= limits.connections
        && let Some(oldest) = clients
            .iter()
            .filter(|c| c.state.load(Relaxed) == READING)
            .min_by_key(|c| c.accepted)
        // Not if it has just begun to answer: then let it finish.
        && oldest
            .state
            .compare_exchange(READING, DROPPED, Relaxed, Relaxed)
            .is_ok()
    {
        let _ = oldest.stream.shutdown(Shutdown::Both);
    }
    if clients.len() >= 2 * limits.connections {
        return; // dropping `stream` closes it
    }
    let Ok(handle) = stream.try_clone() else { return };
    let state = Arc::new(AtomicU8::new(READING));
    let (sources, thread_state) = (sources.clone(), state.clone());
    let spawned = std::thread::Builder::new()
        .name("metrics client".into())
        .stack_size(CLIENT_STACK)
        .spawn(move || {
            // A client that misbehaves costs its own thread a deadline, nothing more.
            let _ = answer(stream, &sources, limits, &thread_state);
        });
    if let Ok(thread) = spawned {
        clients.push(Client {
            thread,
            stream: handle,
            accepted: Instant::now(),
            state,
        });
    }
}

/// How reading a request head ended.
enum Head {
    /// The blank line that ends it arrived (or the client stopped sending).
    Complete,
    /// [`MAX_REQUEST`] bytes and no end.
    TooLarge,
    /// The deadline passed first.
    Late,
}

/// Reads one request (within `limits.request` of now) and writes one
/// response (within as long again), then closes with a linger.
fn answer(
    mut stream: TcpStream,
    sources: &MetricsSources,
    limits: Limits,
    state: &AtomicU8,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let deadline = Instant::now() + limits.request;
    let mut buf = [0u8; MAX_REQUEST];
    let mut len = 0;
    let head = loop {
        if len == buf.len() {
            break Head::TooLarge;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Head::Late;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf[len..]) {
            Ok(0) if len == 0 => return Ok(()),
            // Half-closed after its request (`printf ... | nc`): answer what came.
            Ok(0) => break Head::Complete,
            Ok(n) => {
                len += n;
                let seen = &buf[..len];
                if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.windows(2).any(|w| w == b"\n\n") {
                    break Head::Complete;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break Head::Late,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    // Dropped by the accept loop while reading: nobody is listening.
    if state
        .compare_exchange(READING, ANSWERING, Relaxed, Relaxed)
        .is_err()
    {
        return Ok(());
    }
    let first_line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    let (status, body) = match head {
        Head::TooLarge => ("431 Request Header Fields Too Large", String::new()),
        Head::Late => ("408 Request Timeout", String::new()),
        Head::Complete
            if first_line.starts_with(b"GET /metrics ") || first_line.starts_with(b"GET /metrics?") =>
        {
            ("200 OK", exposition(sources))
        }
        Head::Complete if first_line.starts_with(b"GET ") => {
            ("404 Not Found", "scanwall serves /metrics only\n".to_string())
        }
        Head::Complete => ("405 Method Not Allowed", String::new()),
    };
    let mut response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    response.push_str(&body);
    write_by(&mut stream, response.as_bytes(), Instant::now() + limits.request)?;
    linger_close(stream);
    Ok(())
}

/// Writes all of `bytes` by `deadline` (a client that reads slowly cannot
/// hold the thread longer than that), or fails.
fn write_by(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Closes after the response: our side first (the client reads the answer
/// and the end), then what the client still sends is read away for at most
/// [`LINGER`] and [`MAX_LINGER_BYTES`], so the close finds nothing unread
/// and is not turned into a reset that would destroy the answer.
fn linger_close(mut stream: TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let until = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < MAX_LINGER_BYTES {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(n) => drained += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
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
    let st = StatusSum::of(&s.statuses);
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
    let _ = writeln!(out, "scanwall_capture_received_total {}", st.received);
    family(
        &mut out,
        "scanwall_drops_total",
        "counter",
        "Packets lost before counting, by where.",
    );
    for (place, v) in [
        ("kernel", st.kernel_drops),
        ("interface", st.interface_drops),
        ("shed", st.shed),
    ] {
        let _ = writeln!(out, "scanwall_drops_total{{where=\"{place}\"}} {v}");
    }
    family(
        &mut out,
        "scanwall_source_stalled",
        "gauge",
        "1 while the source delivers nothing.",
    );
    let _ = writeln!(out, "scanwall_source_stalled {}", u8::from(st.stalled));
    family(
        &mut out,
        "scanwall_packet_clock_seconds",
        "gauge",
        "Time of the newest packet counted (Unix seconds).",
    );
    let clock = totals.last_ts.map_or(0.0, |t| t as f64 / 1e9);
    let _ = writeln!(out, "scanwall_packet_clock_seconds {clock}");
    let peers = &st.peers;
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
            for p in peers {
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
    if let Some(board) = &s.events {
        events(&mut out, &board.snapshot(), s.counters.maps());
    }
    out
}

/// Scan events: started per map and kind (a counter, for alerting on
/// `increase()`), live per map (a gauge), and sampled packets dropped.
fn events(out: &mut String, b: &BoardState, maps: &[MapId]) {
    family(
        out,
        "scanwall_events_total",
        "counter",
        "Scan events started, by map and kind (row, column, block).",
    );
    for &m in maps {
        for kind in EventKind::ALL {
            let _ = writeln!(
                out,
                "scanwall_events_total{{map=\"{}\",kind=\"{}\"}} {}",
                MAPS[m].name,
                kind.name(),
                b.started(m, kind)
            );
        }
    }
    family(
        out,
        "scanwall_events_active",
        "gauge",
        "Scan events live now, by map.",
    );
    for &m in maps {
        let live = b.active.iter().filter(|e| e.map == m).count();
        let _ = writeln!(out, "scanwall_events_active{{map=\"{}\"}} {live}", MAPS[m].name);
    }
    family(
        out,
        "scanwall_event_samples_dropped_total",
        "counter",
        "Sampled packets the event detector could not take in time (live sources only).",
    );
    let _ = writeln!(out, "scanwall_event_samples_dropped_total {}", b.dropped_samples);
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
            statuses: vec![status],
            frames: Arc::new(FrameStats::default()),
            events: None,
        }
    }

    #[test]
    fn events_are_counted_by_map_and_kind_and_live_ones_gauged() {
        use crate::events::{Axis, BoardState, Event, EventBoard, EventKind};
        let syn = by_name("syn").unwrap_or(0);
        let live = Event::new(1, syn, Axis::Rows, (4, 4), (0, 255), 1);
        let state = BoardState {
            active: vec![live],
            started: vec![(syn, EventKind::Row, 3), (syn, EventKind::Block, 1)],
            dropped_samples: 2,
            ..BoardState::default()
        };
        let s = MetricsSources {
            events: Some(Arc::new(EventBoard::with_state(state))),
            ..sources()
        };
        let text = exposition(&s);
        for line in [
            "# TYPE scanwall_events_total counter",
            "scanwall_events_total{map=\"syn\",kind=\"row\"} 3",
            "scanwall_events_total{map=\"syn\",kind=\"column\"} 0",
            "scanwall_events_total{map=\"syn\",kind=\"block\"} 1",
            "# TYPE scanwall_events_active gauge",
            "scanwall_events_active{map=\"syn\"} 1",
            "scanwall_event_samples_dropped_total 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(
            !exposition(&sources()).contains("scanwall_events"),
            "none without the detector"
        );
    }

    #[test]
    fn exposition_names_every_family_and_escapes_hostile_peer_names() {
        let s = sources();
        s.statuses[0].kernel_drops.store(7, Relaxed);
        s.statuses[0].shed.store(3, Relaxed);
        let p = s.statuses[0]
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

    /// A served listener on 127.0.0.1 with the default limits, its address, and its stop.
    fn serving() -> (SocketAddr, Arc<AtomicBool>, JoinHandle<()>) {
        serving_with(Limits::default())
    }

    fn serving_with(limits: Limits) -> (SocketAddr, Arc<AtomicBool>, JoinHandle<()>) {
        let mut listener = MetricsListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        listener.limits = limits;
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = listener.serve(sources(), stop.clone()).expect("serve");
        (addr, stop, thread)
    }

    /// Everything `c` receives until the server closes it; `Err` when it
    /// did not close within the read timeout set on `c`, or reset it.
    fn read_until_closed(c: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        let mut reply = Vec::new();
        c.read_to_end(&mut reply).map(|_| reply)
    }

    /// Writes one byte every `pace` until a write fails (the server closed).
    fn trickle(c: &TcpStream, pace: Duration) -> JoinHandle<()> {
        let mut c = c.try_clone().expect("clone");
        std::thread::spawn(move || {
            while c.write_all(b"a").is_ok() {
                std::thread::sleep(pace);
            }
        })
    }

    #[test]
    fn idle_and_trickling_clients_do_not_hold_up_a_scrape() {
        let (addr, stop, thread) = serving();
        let idle: Vec<TcpStream> = (0..30)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect();
        let mut slow = TcpStream::connect(addr).expect("connect");
        let slow_since = Instant::now();
        let slow_writer = trickle(&slow, Duration::from_millis(150));
        // Behind them, a scrape: answered at once (a per-read timeout served
        // one connection after another and took a minute).
        let started = Instant::now();
        let mut c = TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let reply = read_until_closed(&mut c).expect("a reply, and the connection closed");
        let took = started.elapsed();
        assert!(
            reply.starts_with(b"HTTP/1.0 200 OK"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(took < Duration::from_secs(1), "the scrape took {took:?}");
        // The trickling client, though never silent for long, is cut off at
        // the whole-request deadline.
        slow.set_read_timeout(Some(REQUEST_TIMEOUT * 3)).expect("timeout");
        let cut = read_until_closed(&mut slow);
        let held = slow_since.elapsed();
        assert!(
            held < REQUEST_TIMEOUT + Duration::from_secs(1),
            "a trickling client held its connection {held:?} ({cut:?})"
        );
        slow_writer.join().expect("writer");
        drop(idle);
        stop.store(true, Relaxed);
        thread.join().expect("metrics thread");
    }

    #[test]
    fn an_oversized_request_gets_431_and_an_orderly_close() {
        let (addr, stop, thread) = serving();
        let mut c = TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        // Far more than the cap, still being sent as the answer comes: the
        // server must read it away before closing, or the close is a reset
        // (and clients report the reset, not the 431).
        let mut w = c.try_clone().expect("clone");
        let writer = std::thread::spawn(move || w.write_all(&[b'a'; 8 * MAX_REQUEST]));
        let reply = read_until_closed(&mut c);
        let reply = reply.expect("the reply and a close, not a reset");
        assert!(
            reply.starts_with(b"HTTP/1.0 431"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        let _ = writer.join().expect("writer");
        stop.store(true, Relaxed);
        thread.join().expect("metrics thread");
    }

    /// A scrape: its reply (the connection closed) and how long it took.
    fn scrape(addr: SocketAddr) -> (String, Duration) {
        let started = Instant::now();
        let mut c = TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("send");
        let reply = read_until_closed(&mut c).expect("a reply, and the connection closed");
        (String::from_utf8_lossy(&reply).into_owned(), started.elapsed())
    }

    #[test]
    fn a_full_house_drops_the_oldest_connection_still_sending_its_request() {
        let limits = Limits {
            request: Duration::from_secs(30),
            connections: 4,
        };
        let (addr, stop, thread) = serving_with(limits);
        let mut idle: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect();
        // Accepted after them (the kernel queues connections in order): the fifth.
        let (reply, took) = scrape(addr);
        assert!(reply.starts_with("HTTP/1.0 200 OK"), "{reply}");
        assert!(took < Duration::from_secs(1), "the scrape took {took:?}");
        // The oldest made room (long before its 30 s deadline); the others wait on.
        idle[0]
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let dropped = read_until_closed(&mut idle[0]);
        assert!(dropped.as_ref().is_ok_and(|b| b.is_empty()), "{dropped:?}");
        idle[1]
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let waiting = idle[1].read(&mut [0u8; 16]);
        assert!(
            waiting
                .as_ref()
                .is_err_and(|e| matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
            "{waiting:?}"
        );
        stop.store(true, Relaxed);
        thread.join().expect("metrics thread");
    }

    #[test]
    fn a_request_not_finished_by_the_deadline_gets_408() {
        let limits = Limits {
            request: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, stop, thread) = serving_with(limits);
        let started = Instant::now();
        let mut c = TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .expect("send");
        let reply = read_until_closed(&mut c).expect("a reply, and the connection closed");
        assert!(
            reply.starts_with(b"HTTP/1.0 408"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        stop.store(true, Relaxed);
        thread.join().expect("metrics thread");
    }
}
