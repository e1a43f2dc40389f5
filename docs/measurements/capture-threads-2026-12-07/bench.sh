#!/usr/bin/env bash
cd "$(dirname "$0")/../../.."
export CARGO_BUILD_JOBS=1
export SCANWALL_ARGS="--buffer-mb 16" TCPDUMP_BUFFER_KIB=16384 READER_CPU=1
for round in 1 2; do
  for cfg in "1" "2" "2same"; do
    echo "=== round $round threads $cfg $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    case $cfg in
      1) scripts/bench-live.sh 1000000 max max2 ;;
      2) CAPTURE_THREADS=2 scripts/bench-live.sh 1000000 max max2 ;;
      2same) CAPTURE_THREADS=2 SCANWALL_CPU=1 scripts/bench-live.sh 1000000 max max2 ;;
    esac 2>&1 | grep -v "^$" | tail -4
  done
done
echo "=== done $(date +%T)"
