//! Bad options, a missing interface, no permission, no GPU, no display: one
//! clear line naming the problem and the fix, a non-zero exit, no panic.

#![allow(clippy::unwrap_used)] // test setup

use std::process::{Command, Output};

fn check(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected `{n}` in: {err}");
    }
}

fn scanwall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scanwall"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

#[test]
fn missing_interface_names_it_and_how_to_list_them() {
    let out = scanwall()
        .args(["snapshot", "-i", "nosuchif0", "-o", "/dev/null"])
        .output()
        .unwrap();
    check(&out, &["nosuchif0", "ip link"]);
}

#[test]
fn capture_without_privileges_says_how_to_grant_them() {
    // As root, drop to `nobody` for the attempt; as anyone else, try directly.
    let bin = env!("CARGO_BIN_EXE_scanwall");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        .starts_with(b"0");
    let out = if is_root {
        // `nobody` must be able to run the binary: copy it somewhere world-readable.
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("scanwall");
        std::fs::copy(bin, &copy).unwrap();
        let mode: std::fs::Permissions = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(dir.path(), mode).unwrap();
        let cmd = format!("{} snapshot -i lo -o /dev/null", copy.display());
        Command::new("su")
            .args(["nobody", "-s", "/bin/sh", "-c", &cmd])
            .output()
            .unwrap()
    } else {
        scanwall()
            .args(["snapshot", "-i", "lo", "-o", "/dev/null"])
            .output()
            .unwrap()
    };
    check(
        &out,
        &[
            "no permission to capture on `lo`",
            "setcap cap_net_raw,cap_net_admin+eip",
        ],
    );
}

#[test]
fn no_gpu_adapter_names_the_package_to_install() {
    let out = scanwall()
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("WGPU_BACKEND", "vulkan")
        .args(["snapshot", "--demo", "--seconds", "1", "-o", "/dev/null"])
        .output()
        .unwrap();
    check(&out, &["no usable GPU adapter", "mesa-vulkan-drivers"]);
}

/// A snapshot in an environment with no user runtime directory (a `sudo`
/// shell, cron, a container) succeeds without a word: Mesa's device-select
/// layer, whose probe for a Wayland display made libwayland print "error:
/// XDG_RUNTIME_DIR is invalid" twice, is off there (`NODEVICE_SELECT`).
#[test]
fn a_snapshot_without_a_runtime_directory_says_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("s.png");
    let out = scanwall()
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WGPU_BACKEND")
        .args(["snapshot", "--demo", "--seconds", "1", "--size", "320x180", "-o"])
        .arg(&png)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("no usable GPU adapter") {
        eprintln!("skipped: no renderer here ({stderr})");
        return;
    }
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "", "a successful snapshot printed something");
    assert!(png.exists());
}

#[test]
fn no_display_says_so() {
    let out = scanwall()
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .arg("--demo")
        .output()
        .unwrap();
    check(&out, &["no display", "set DISPLAY", "scanwall snapshot"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(".rs:"));
}

/// A display named but not there (no X server on :9876; only this
/// machine's own sockets are tried).
#[test]
fn a_display_that_refuses_is_named() {
    let out = scanwall()
        .env("DISPLAY", ":9876")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .arg("--demo")
        .output()
        .unwrap();
    check(&out, &["cannot open a window on DISPLAY=:9876", "XAUTHORITY"]);
}

#[test]
fn bad_view_and_time_options() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["snapshot", "--demo", "--size", "0x5", "-o", "/dev/null"],
            "--size",
        ),
        (&["snapshot", "--demo", "--at", "soon", "-o", "/dev/null"], "--at"),
        (
            &["snapshot", "--demo", "--focus", "nope", "-o", "/dev/null"],
            "nope",
        ),
        (
            &["snapshot", "--demo", "--half-life", "0s", "-o", "/dev/null"],
            "half-life",
        ),
        (
            &["snapshot", "--demo", "--speed", "fast", "-o", "/dev/null"],
            "--speed",
        ),
    ];
    for (args, needle) in cases {
        check(&scanwall().args(args).output().unwrap(), &[needle]);
    }
}

/// `--capture-threads` out of range, or with a source that is no live
/// interface: one line naming the option and what to do.
#[test]
fn capture_threads_out_of_range_or_without_an_interface() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["count", "-i", "lo", "--duration", "1s", "--capture-threads", "0"],
            &["--capture-threads", "1 to 64"],
        ),
        (
            &["count", "-i", "lo", "--duration", "1s", "--capture-threads", "65"],
            &["--capture-threads", "1 to 64"],
        ),
        (
            &["count", "-r", "x.pcap", "--capture-threads", "2"],
            &["--capture-threads", "--read"],
        ),
        (
            &["snapshot", "-o", "/dev/null", "--capture-threads", "2"],
            &["--capture-threads", "-i IFACE"],
        ),
    ];
    for (args, needles) in cases {
        check(&scanwall().args(args).output().unwrap(), needles);
    }
}

/// A size within `--size`'s range whose readback buffer is more than the GPU
/// device allows in one buffer (9000 x 9000 x 4 bytes against wgpu's 256 MiB):
/// one line saying so, not a panic inside wgpu. Rendered on lavapipe (Vulkan),
/// so no GL probing adds lines of its own.
#[test]
fn a_snapshot_larger_than_the_gpu_buffer_limit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("big.png");
    let out = scanwall()
        .env("SCANWALL_SOFTWARE_GPU", "1")
        .env("WGPU_BACKEND", "vulkan")
        // Headless: no display to talk to (the X client library's own
        // complaints about one would not be scanwall's one line).
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .args([
            "snapshot",
            "--demo",
            "--seconds",
            "1",
            "--size",
            "9000x9000",
            "-o",
        ])
        .arg(&png)
        .output()
        .unwrap();
    check(&out, &["9000x9000", "8192x8192"]);
}
