//! Privilege separation through the real binary: started as root, scanwall
//! opens its capture and then runs as `--user` (default nobody), with no
//! supplementary groups, a capability bounding set of at most the two a
//! capture keeps and `no_new_privs`, on every thread; and the capture it
//! opened keeps working. CI runs as root; elsewhere these tests say so and
//! check only what an ordinary user can.

mod proc;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proc::uid_of;

fn scanwall() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scanwall"))
}

fn root() -> bool {
    let root = uid_of("self") == Some(0);
    if !root {
        eprintln!("not root (CI runs as root): the privilege drop is not exercised here");
    }
    root
}

/// Polls `f` for up to ten seconds.
fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// What the kernel says of each thread of process `pid`: its `Uid:`,
/// `Groups:`, `CapBnd:` and `NoNewPrivs:` values, a line a thread.
fn threads(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("status")).ok())
        .map(|status| {
            ["Uid:", "Groups:", "CapBnd:", "NoNewPrivs:"]
                .iter()
                .map(|field| {
                    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
                    line.split_whitespace().collect::<Vec<_>>().join(" ")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// Waits until every thread of `pid` runs as nobody with no supplementary
/// group, the bounding set `bounding` (hex, as /proc shows it) and
/// `no_new_privs`; fails the test with what each thread has if that does not
/// come within ten seconds.
fn assert_hardened(pid: u32, bounding: &str) {
    let want = format!("Uid: 65534 65534 65534 65534, Groups:, CapBnd: {bounding}, NoNewPrivs: 1");
    let hardened = eventually(|| {
        let now = threads(pid);
        (!now.is_empty() && now.iter().all(|t| *t == want)).then_some(())
    });
    assert!(
        hardened.is_some(),
        "want {want} on every thread, have {:#?}",
        threads(pid)
    );
}

#[test]
fn live_capture_drops_root_to_nobody_and_keeps_capturing() {
    if !root() {
        return;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let filter = format!("udp dst port {port}");
    let child = scanwall()
        .args([
            "count",
            "-i",
            "lo",
            "--duration",
            "3s",
            "--format",
            "json",
            "-f",
            &filter,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Once the drop happened the uid is nobody's for the rest of the run.
    let uid = eventually(|| uid_of(&pid.to_string()).filter(|&u| u != 0));
    assert_eq!(uid, Some(65534), "scanwall still runs as root");
    // Of root's capabilities it keeps only the two a capture needs to reopen
    // (cap_net_admin is bit 12, cap_net_raw bit 13), none inheritable.
    // (Polled: the capabilities are trimmed just after the uid changes.)
    let sets = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let value = |set: &str| {
            let line = status.lines().find(|l| l.starts_with(set))?;
            line.split_whitespace().nth(1).map(str::to_string)
        };
        Some([value("CapPrm")?, value("CapEff")?, value("CapInh")?])
    };
    let want = ["0000000000003000", "0000000000003000", "0000000000000000"];
    let seen = eventually(|| sets().filter(|s| *s == want));
    assert!(
        seen.is_some(),
        "capabilities (permitted, effective, inheritable): {:?}",
        sets()
    );
    // Nothing more within reach: no groups, those two alone in the
    // bounding set, no_new_privs; on the capture thread too.
    assert_hardened(pid, "0000000000003000");
    // Packets sent after the drop are still captured (the handle was opened as root).
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0u64;
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        sender.send_to(b"after the drop", ("127.0.0.1", port)).unwrap();
        sent += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counted = doc["maps"]["port"][port.to_string()].as_u64().unwrap_or(0);
    assert!(counted > 0 && counted <= sent, "counted {counted} of {sent}");
}

#[test]
fn user_root_keeps_root_on_purpose_and_says_so() {
    if !root() {
        return;
    }
    let mut child = scanwall()
        .args([
            "count",
            "-i",
            "lo",
            "--duration",
            "2s",
            "--user",
            "root",
            "-f",
            "udp port 9",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(uid_of(&child.id().to_string()), Some(0));
    let status = child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn an_unknown_user_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("x.pcap");
    let gen_status = scanwall()
        .args(["generate", "--packets", "10", "-o"])
        .arg(&pcap)
        .status()
        .unwrap();
    assert!(gen_status.success());
    let out = scanwall()
        .args(["count", "--user", "no-such-user-xyz", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if uid_of("self") == Some(0) {
        assert!(!out.status.success());
        assert!(
            stderr.contains("--user no-such-user-xyz: no such user"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    } else {
        // Not root: nothing to drop, the option changes nothing.
        assert!(out.status.success(), "{stderr}");
    }
}

#[test]
fn a_snapshot_as_root_still_writes_into_a_root_only_folder() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap(); // 0700, owned by root
    let png = dir.path().join("wall.png");
    let out = scanwall()
        .args(["snapshot", "--demo", "--seconds", "1", "--size", "320x200", "-o"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
}

/// `count` of a listener (`--sensors-listen`, `--listen`) for three
/// seconds, its output collected.
fn count_listening(args: &[&str]) -> std::process::Child {
    scanwall()
        .arg("count")
        .args(args)
        .args(["--duration", "3s", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start scanwall")
}

#[test]
fn count_sensors_listen_drops_root_and_keeps_nothing() {
    if !root() {
        return;
    }
    // Readable by root only: the key is read before the drop.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sensor.key");
    std::fs::write(&key, "a secret of more than sixteen bytes\n").unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let child = count_listening(&[
        "--sensors-listen",
        "127.0.0.1:0",
        "--key-file",
        key.to_str().unwrap(),
    ]);
    let pid = child.id().to_string();
    let uid = eventually(|| uid_of(&pid).filter(|&u| u != 0));
    assert_eq!(uid, Some(65534), "count --sensors-listen still runs as root");
    // No capture: no capability kept, none in reach.
    assert_hardened(child.id(), "0000000000000000");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn count_listen_drops_root_and_keeps_nothing() {
    if !root() {
        return;
    }
    let child = count_listening(&["--listen", "127.0.0.1:0", "--streams", "5"]);
    assert_hardened(child.id(), "0000000000000000");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
