//! Live capture on the loopback interface (real packets, 127.0.0.1 only) and
//! looping replays, through the same `Session` the wall and `snapshot` use.

#![allow(clippy::unwrap_used)] // test setup

mod proc;

use std::net::UdpSocket;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use scanwall::counting::{Counters, Decay};
use scanwall::maps::{MapId, by_name};
use scanwall::session::Session;
use scanwall::source::Speed;
use scanwall::source::libpcap::LiveOptions;
use scanwall::source::open::{OpenOptions, SourceSpec, open};

/// The udp and port maps, exact.
fn two_maps() -> Vec<MapId> {
    vec![by_name("udp").unwrap(), by_name("port").unwrap()]
}

/// `source` opened through the one opener and run by a session, as the
/// commands do (without the privilege drop: the test process stays root for
/// the other tests).
fn start(source: SourceSpec, maps: Vec<MapId>, options: OpenOptions) -> Session {
    let counters = Counters::new(maps, Decay::NONE);
    let open = open(&source, &counters, &options).unwrap();
    Session::start(counters, vec![open]).unwrap()
}

/// Polls `done` for up to ten seconds (the capture thread runs on its own).
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Live capture needs root (CI runs as root); elsewhere the live tests say so
/// and do nothing.
fn running_as_root() -> bool {
    let root = proc::uid_of("self") == Some(0);
    if !root {
        eprintln!("live capture needs root (CI runs as root): not run here");
    }
    root
}

#[test]
fn live_capture_on_loopback_counts_real_packets_and_reads_drop_stats() {
    if !running_as_root() {
        return;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut live = LiveOptions::new("lo");
    live.filter = Some(format!("udp dst port {port}"));
    live.buffer_mb = 8;
    let session = start(
        SourceSpec::Interfaces(vec![live]),
        two_maps(),
        OpenOptions::default(),
    );
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..50 {
        sender
            .send_to(b"scanwall live test", ("127.0.0.1", port))
            .unwrap();
    }
    let counters = session.counters().clone();
    let port_map = by_name("port").unwrap();
    let counted = eventually(|| counters.exact_counts(port_map).unwrap()[usize::from(port)] >= 50);
    assert!(
        counted,
        "only {} of 50 packets counted",
        counters.exact_counts(port_map).unwrap()[usize::from(port)]
    );
    // Exactly the 50 sent: the BPF filter kept everything else out.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(counters.exact_counts(port_map).unwrap()[usize::from(port)], 50);
    // Kernel statistics arrive within a couple of seconds.
    let status = session.status().clone();
    assert!(
        eventually(|| status.received.load(Relaxed) >= 50),
        "capture statistics: received {}, kernel drops {}",
        status.received.load(Relaxed),
        status.kernel_drops.load(Relaxed)
    );
    assert_eq!(status.kernel_drops.load(Relaxed), 0);
    session.stop();
}

#[test]
fn looping_replay_keeps_counting_with_a_rising_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten.pcap");
    let file = std::fs::File::create(&path).unwrap();
    scanwall::commands::generate::write_demo(std::io::BufWriter::new(file), 10, 1000.0, 3).unwrap();
    let repeat = OpenOptions {
        repeat: true,
        ..OpenOptions::default()
    };
    let session = start(SourceSpec::File(path), vec![by_name("all").unwrap()], repeat);
    let counters = session.counters().clone();
    assert!(
        eventually(|| counters.totals().packets >= 100),
        "the replay did not loop"
    );
    let totals = counters.totals();
    // Ten passes of a file 9 ms long: the clock kept rising past the file's end.
    let span = totals.last_ts.unwrap() - totals.first_ts.unwrap();
    assert!(
        span > 9 * 5_000_000,
        "clock span {span} ns after {} packets",
        totals.packets
    );
    session.stop();
}

#[test]
fn a_paced_replay_clock_runs_between_packets_and_stops_at_the_end() {
    use scanwall::craft::{ether, ipv4, udp};
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gap.pcap");
    let frame = ether(0x0800, &[], &ipv4(17, [1, 2], &udp(53), None, 0, 5));
    let t0 = 1_600_000_000_000_000_000u64;
    let gap = 10_000_000_000u64; // ten seconds of packet time
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap(), LinkType::Ethernet, 65535).unwrap();
    w.write(t0, frame.len() as u32, &frame).unwrap();
    w.write(t0 + gap, frame.len() as u32, &frame).unwrap();
    w.finish().unwrap();
    let paced = OpenOptions {
        speed: Speed::Times(10.0), // the gap lasts one second
        ..OpenOptions::default()
    };
    let session = start(SourceSpec::File(path), two_maps(), paced);
    // While the replay waits for the second packet, packet time keeps running.
    assert!(
        eventually(|| session
            .now()
            .is_some_and(|now| now > t0 + gap / 20 && now < t0 + gap)),
        "the clock did not run between packets: {:?}",
        session.now()
    );
    // At the end it rests on the last packet.
    let status = session.status().clone();
    assert!(eventually(|| status.finished.load(Relaxed)));
    assert_eq!(session.now(), Some(t0 + gap));
}

#[test]
fn count_on_a_live_interface_reports_capture_statistics() {
    if !running_as_root() {
        return;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let filter = format!("udp dst port {port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args([
            "count",
            "-i",
            "lo",
            "--duration",
            "1900ms",
            "--format",
            "json",
            "-f",
            &filter,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Like tcpdump's "listening on", the capture says when the kernel keeps
    // every packet for it: send only from then on (a loaded machine may take
    // seconds to open it), for about half of the run, so the sender has
    // stopped well before the run ends and the statistics are read again.
    let mut child = child;
    let stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("capturing on") {
                let _ = ready_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    ready_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the capture says it is open");
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_millis(900);
    let mut sent = 0u64;
    while Instant::now() < deadline {
        sender.send_to(b"scanwall", ("127.0.0.1", port)).unwrap();
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("scanwall: capturing on lo (Ethernet, 256 MiB kernel buffer) for 1900ms"),
        "{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counted = doc["maps"]["port"][port.to_string()].as_u64().unwrap_or(0);
    // Every packet sent after the capture opened, and only those.
    assert_eq!(counted, sent, "counted {counted} of {sent}");
    assert_eq!(
        doc["packets"].as_u64(),
        Some(counted),
        "the filter let other packets in"
    );
    // Loopback shows each packet to the kernel capture twice (libpcap drops
    // the outgoing copy). The sender stopped before the run did, and the
    // statistics are read once more at the end, so they match the count.
    assert_eq!(doc["capture"]["received"].as_u64(), Some(2 * counted), "{doc}");
    assert_eq!(doc["capture"]["kernel_drops"], 0);
}

#[test]
fn a_stream_source_is_stalled_without_a_sender_and_resumes_when_one_reconnects() {
    use scanwall::parse::LinkType;
    use scanwall::source::pcap_format::PcapWriter;
    use std::io::Write;
    // A free loopback port for the listener.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let listen = SourceSpec::Listen {
        addr,
        idle_timeout: Duration::from_secs(30),
        streams: None,
        run_for: None,
    };
    let session = start(listen, two_maps(), OpenOptions::default());
    let status = session.status().clone();
    let frame = |session: &Session| {
        let mut reader = session.frame_reader();
        let frame = reader.read(None).clone();
        scanwall::display::status::status_info(session, &frame, 0.0)
    };
    assert!(frame(&session).stalled, "no sender yet");
    let udp_port = by_name("port").unwrap();
    for round in 1..=2u64 {
        let mut sender = std::net::TcpStream::connect(addr).unwrap();
        let mut pcap = PcapWriter::new(Vec::new(), LinkType::Ethernet, 128).unwrap();
        let packet = scanwall::craft::ether(
            0x0800,
            &[],
            &scanwall::craft::ipv4(17, [0, 1], &scanwall::craft::udp(53), None, 0, 5),
        );
        pcap.write(1_700_000_000_000_000_000 + round, packet.len() as u32, &packet)
            .unwrap();
        sender.write_all(&pcap.finish().unwrap()).unwrap();
        assert!(
            eventually(|| !status.stalled.load(Relaxed)),
            "round {round}: a connected sender resumes the source"
        );
        assert!(eventually(|| {
            session.counters().exact_counts(udp_port).unwrap()[53] == round
        }));
        drop(sender);
        assert!(
            eventually(|| frame(&session).stalled),
            "round {round}: the sender left, the source is stalled"
        );
    }
}

/// Runs a command to completion and fails the test with its output when it fails.
fn run_ok(args: &[&str]) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/system-packages.sh installs it)", args[0]));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A child's standard error, line by line as it comes, so a test can wait for
/// what the child says instead of for a fixed time.
struct StderrLines {
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Where the next wait starts looking: each event is waited for once.
    from: usize,
}

impl StderrLines {
    fn of(child: &mut std::process::Child) -> Self {
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        StderrLines {
            lines,
            seen: Vec::new(),
            from: 0,
        }
    }

    /// Waits (up to ten seconds) for a line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(at) = self.seen[self.from..].iter().position(|l| l.contains(text)) {
                self.from += at + 1;
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line with {text:?} on stderr; saw: {:?}", self.seen),
            }
        }
    }

    /// Every line, once the child has ended.
    fn all(mut self) -> String {
        self.seen.extend(self.lines.iter());
        self.seen.join("\n")
    }
}

/// A network namespace of this test's own, deleted when dropped.
struct Namespace(String);

impl Namespace {
    fn new(name: String) -> Self {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .output();
        run_ok(&["ip", "netns", "add", &name]);
        Namespace(name)
    }

    /// `args` run inside the namespace.
    fn run(&self, args: &[&str]) {
        run_ok(&[&["ip", "netns", "exec", &self.0], args].concat());
    }

    /// A veth pair `a`-`b` in the namespace, up, without IPv6 (whose neighbour
    /// discovery would add packets and addresses outside 127.0.0.0/8).
    fn veth(&self, a: &str, b: &str) {
        self.run(&["ip", "link", "add", a, "type", "veth", "peer", "name", b]);
        for end in [a, b] {
            self.run(&["sysctl", "-qw", &format!("net.ipv6.conf.{end}.disable_ipv6=1")]);
            self.run(&["ip", "link", "set", end, "up"]);
        }
        // A new veth drops what is sent before its carrier is up.
        let operstate = format!("/sys/class/net/{a}/operstate");
        assert!(eventually(|| {
            std::process::Command::new("ip")
                .args(["netns", "exec", &self.0, "cat", &operstate])
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"up"))
        }));
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .output();
    }
}

#[test]
fn a_live_capture_reopens_when_its_interface_comes_back_after_root_was_dropped() {
    reopens_when_the_interface_comes_back(1);
}

/// Every capture thread's handle fails with the interface; the new device
/// needs a new fanout group (a group belongs to one device), which the first
/// thread back makes and the others join.
#[test]
fn capture_threads_rejoin_as_one_group_when_their_interface_comes_back() {
    reopens_when_the_interface_comes_back(2);
}

fn reopens_when_the_interface_comes_back(threads: usize) {
    if !running_as_root() {
        return;
    }
    // Both ends of a veth pair in a namespace made here; the frames are a
    // generated scan whose every address is in 127.0.0.0/8.
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("scan.pcap");
    let frames = frames.to_str().unwrap();
    run_ok(&[
        env!("CARGO_BIN_EXE_scanwall"),
        "generate",
        "-o",
        frames,
        "--packets",
        "50",
        "--rate",
        "1000",
    ]);
    let ns = Namespace::new(format!("scanwall-reopen{threads}-{}", std::process::id()));
    ns.veth("swr0", "swr1");
    // Started as root, so it becomes nobody once the capture is open.
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, env!("CARGO_BIN_EXE_scanwall")])
        .args(["count", "-i", "swr0", "--duration", "8s", "--format", "json"])
        .args(["--capture-threads", &threads.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = StderrLines::of(&mut child);
    let send = || ns.run(&["tcpreplay", "-q", "-i", "swr1", frames]);
    stderr.wait_for("capturing on swr0 (");
    send();
    // veth delivers as it sends; the kernel hands a part-filled ring block
    // over after the capture's read timeout (100 ms): three of them.
    std::thread::sleep(Duration::from_millis(300));
    // The interface goes away (deleting one end deletes both) and comes back:
    // the capture fails, says so, and says when it has reopened.
    ns.run(&["ip", "link", "del", "swr0"]);
    stderr.wait_for("retrying (once a second)");
    ns.veth("swr0", "swr1");
    stderr.wait_for("capturing on swr0 again");
    send();
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["packets"], 100, "both sends counted: {doc}");
    // The lost handle's statistics are kept and the new one's added.
    assert_eq!(doc["capture"]["received"], 100, "{doc}");
}

/// `count -i IFACE --capture-threads N`: a generated scan (every address in
/// 127.0.0.0/8) played into a veth pair after the capture says it is open is
/// counted exactly as `count -r` counts the file: no packet lost, none
/// counted by two threads. Its flows are spread over every thread (each
/// says at debug level how many packets it counted), and the kernel's
/// figures, summed over the handles, are exact too.
fn capture_threads_count_every_packet_once(threads: usize) {
    if !running_as_root() {
        return;
    }
    const PACKETS: u64 = 3000;
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("scan.pcap");
    let frames = frames.to_str().unwrap();
    let scanwall = env!("CARGO_BIN_EXE_scanwall");
    let packets = PACKETS.to_string();
    run_ok(&[
        scanwall,
        "generate",
        "-o",
        frames,
        "--packets",
        &packets,
        "--rate",
        "100000",
    ]);
    let file = std::process::Command::new(scanwall)
        .args(["count", "-r", frames, "--format", "json"])
        .output()
        .unwrap();
    let file: serde_json::Value = serde_json::from_slice(&file.stdout).unwrap();
    assert_eq!(file["packets"], PACKETS, "{file}");

    let ns = Namespace::new(format!("scanwall-fanout{threads}-{}", std::process::id()));
    ns.veth("swf0", "swf1");
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0, scanwall])
        .args(["count", "-i", "swf0", "--duration", "4s", "--format", "json"])
        .args(["--capture-threads", &threads.to_string(), "--log-level", "debug"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = StderrLines::of(&mut child);
    stderr.wait_for(&format!(
        "capturing on swf0 (Ethernet, {threads} capture threads, 256 MiB kernel buffer each)"
    ));
    ns.run(&["tcpreplay", "-q", "-i", "swf1", frames]);
    let out = child.wait_with_output().unwrap();
    let stderr = stderr.all();
    assert!(out.status.success(), "{stderr}");
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(live["packets"], PACKETS, "{stderr}");
    assert_eq!(live["maps"], file["maps"], "every cell as the file counts it");
    assert_eq!(live["capture"]["received"], PACKETS, "{live}");
    assert_eq!(live["capture"]["kernel_drops"], 0, "{live}");

    // "capture thread K of N on swf0: counted C packets", one per thread.
    let per_thread: Vec<u64> = stderr
        .lines()
        .filter_map(|l| l.split_once(&format!(" of {threads} on swf0: counted ")))
        .map(|(_, rest)| rest.trim_end_matches(" packets").parse().unwrap())
        .collect();
    assert_eq!(per_thread.len(), threads, "{stderr}");
    assert_eq!(per_thread.iter().sum::<u64>(), PACKETS, "{stderr}");
    assert!(
        per_thread.iter().all(|&n| n > 0),
        "every thread gets some of the flows: {per_thread:?}"
    );
}

#[test]
fn two_capture_threads_count_every_packet_once() {
    capture_threads_count_every_packet_once(2);
}

#[test]
fn three_capture_threads_count_every_packet_once() {
    capture_threads_count_every_packet_once(3);
}
