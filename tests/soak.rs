//! The soak test, bounded for CI: `scanwall soak` runs the demo traffic flat
//! out on two threads with frames drawn headless (lavapipe here) and fails on
//! a lost packet, memory growth after warm-up or a frame over the bound. The
//! same command runs for hours by hand (README, "Reliability").

use std::process::Command;

#[test]
fn a_short_soak_accounts_for_every_packet_with_flat_memory() {
    let out = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args(["soak", "--duration", "10s", "--warmup", "4s", "--size", "960x540"])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run scanwall soak");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "soak failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    let generated = report["generated"].as_u64().expect("generated");
    assert!(
        generated > 100_000,
        "the load was too light to mean anything: {report}"
    );
    assert_eq!(report["accounted"].as_u64(), Some(generated), "{report}");
    assert_eq!(report["shed"].as_u64(), Some(0), "{report}");
    assert!(
        report["frames"].as_u64().unwrap_or(0) >= 5,
        "too few frames: {report}"
    );
}

#[test]
fn a_failed_check_is_a_clear_error_and_a_non_zero_exit() {
    // A frame bound no renderer can meet makes the check fail for real.
    let out = Command::new(env!("CARGO_BIN_EXE_scanwall"))
        .args([
            "soak",
            "--duration",
            "2s",
            "--warmup",
            "1s",
            "--size",
            "320x180",
            "--max-frame-ms",
            "0.000001",
        ])
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run scanwall soak");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("soak failed: worst frame took"), "{stderr}");
}
