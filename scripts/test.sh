#!/usr/bin/env bash
# The whole test suite, on a fresh Debian/Ubuntu machine with Rust:
# installs missing system packages, checks formatting and lints, then runs every
# test (unit, end-to-end, offscreen rendering on lavapipe, the real window under Xvfb)
# and, as root, the Debian package (scripts/package-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh

# A cold build (tests, then the benchmarks' optimised build) peaks at about 2.6 GiB
# under the target directory; say so up front rather than as a compiler's "no space left".
target_dir="${CARGO_TARGET_DIR:-.}"
[ -d "$target_dir" ] || target_dir=.
free_kib=$(df -Pk "$target_dir" 2>/dev/null | awk 'NR == 2 { print $4 }' || true)
if [ -n "$free_kib" ] && [ "$free_kib" -lt $((3 * 1024 * 1024)) ]; then
  echo "scripts/test.sh: only $((free_kib / 1024)) MiB free for the build; a cold build needs about 3 GiB (free some space, or point CARGO_TARGET_DIR at a larger disk)" >&2
fi

export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# The window tests must run here, not skip: fail if Xvfb is missing.
export SCANWALL_REQUIRE_XVFB=1
cargo fmt --check
cargo clippy --all-targets -- -D warnings
# The window tests need a display: each test binary gets its own Xvfb. nextest runs
# every test in its own process (winit allows one event loop per process).
if cargo nextest --version >/dev/null 2>&1; then
  xvfb-run -a -s "-screen 0 1920x1080x24" cargo nextest run --no-fail-fast
else
  xvfb-run -a -s "-screen 0 1920x1080x24" cargo test --no-fail-fast
fi
# Benchmarks stay working: build them as `cargo bench` does, then run each as a
# smoke test (criterion runs every benchmark once; the custom tables and the
# sensors bench take a few frames or one small set-up).
cargo bench --no-run
cargo test --bench '*'
# The Debian package end to end (build, dpkg -i, the installed sensor service
# counting on a veth pair in a namespace of its own, purge, nothing left): it
# installs packages and users, so only as root, as CI runs. Last, after the
# benchmarks: their optimised build has already built most of what the
# package's release build needs (all but wgpu, naga, glyphon and a few crates
# whose features differ with the dev-dependencies).
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/package-test.sh
else
  echo "scripts/test.sh: not root: skipped scripts/package-test.sh (the Debian package)" >&2
fi
