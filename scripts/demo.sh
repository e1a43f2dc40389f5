#!/usr/bin/env bash
# Runs the wall on the built-in demo traffic (installs missing packages first).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/system-packages.sh
exec cargo run --release -- --demo "$@"
