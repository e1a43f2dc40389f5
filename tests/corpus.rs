//! The real-world captures in `../shared/corpus/` (many malformed): every one is
//! read without a panic, and our own classic-pcap walker yields exactly the
//! records libpcap yields.

#![allow(clippy::unwrap_used)] // test setup: a failure to write a fixture should fail the test

use std::path::{Path, PathBuf};
use std::process::Command;

use scanwall::source::RecordSource;
use scanwall::source::file::CaptureFile;

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut files = Vec::new();
    for dir in ["libpcap-tests", "tcpdump-tests"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 800,
        "corpus not found beside the repository ({} files)",
        files.len()
    );
    files
}

#[test]
fn every_corpus_capture_is_read_without_a_panic() {
    let mut counted = 0;
    for path in corpus_files() {
        let out = Command::new(env!("CARGO_BIN_EXE_scanwall"))
            .args(["count", "-r"])
            .arg(&path)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "{}: exit {code:?}: {err}",
            path.display()
        );
        assert!(!err.contains("panicked"), "{}: {err}", path.display());
        assert!(err.lines().count() <= 1, "{}: {err}", path.display());
        if code == Some(0) {
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            counted += doc["packets"].as_u64().unwrap();
        } else {
            assert!(err.starts_with("scanwall: "), "{}: {err}", path.display());
        }
    }
    assert!(counted > 5_000, "only {counted} packets counted");
}

#[test]
fn our_pcap_walker_matches_libpcap_record_for_record() {
    let mut compared = 0;
    for path in corpus_files() {
        let Ok(CaptureFile::Classic(mut ours)) = CaptureFile::open(&path) else {
            continue;
        };
        let Ok(mut theirs) = pcap::Capture::from_file_with_precision(&path, pcap::Precision::Nano) else {
            continue;
        };
        loop {
            let a = ours.next_record();
            let b = theirs.next_packet();
            match (a, b) {
                (Ok(Some(r)), Ok(p)) => {
                    assert_eq!(r.data, p.data, "{}", path.display());
                    assert_eq!(r.wire_len, p.header.len, "{}", path.display());
                    // libpcap wraps out-of-range fractions of damaged headers; compare sane ones.
                    if (0..1_000_000_000).contains(&p.header.ts.tv_usec) {
                        let secs = u64::from(p.header.ts.tv_sec as u32);
                        let ts = secs * 1_000_000_000 + p.header.ts.tv_usec as u64;
                        assert_eq!(r.ts_ns, ts, "{}", path.display());
                    }
                    compared += 1;
                }
                (Ok(None), Err(pcap::Error::NoMorePackets)) => break,
                // Both stop at a damaged record (their messages differ).
                (Err(_), Err(_)) => break,
                (a, b) => panic!(
                    "{}: ours {:?} vs libpcap {:?}",
                    path.display(),
                    a.map(|r| r.map(|r| r.data.len())),
                    b.map(|p| p.data.len())
                ),
            }
        }
    }
    assert!(compared > 5_000, "only {compared} records compared");
}
