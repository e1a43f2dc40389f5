#!/usr/bin/env bash
# The sensor figures of README "Sensors":
#  1. `cargo bench --bench sensors`: the wall's cost to decode and merge one
#     delta of K changed cells, and N = 1, 4, 16 sensors on loopback into one
#     headless wall (merge time per delta, end-to-end lag of a marker packet).
#  2. One sensor's counting rate against `scanwall count` on the same generated
#     capture: `scanwall sensor -r FILE --speed max` into
#     `scanwall count --sensors-listen`, timed from the wall's start to its exit
#     (every count delivered), and the wall's CSV checked against `count -r`.
# Usage: scripts/bench-sensors.sh [PACKETS]   (default 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-5000000}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet
bin=./target/release/scanwall
maps=icmp,all,syn,udp,port,synport,addrport,synaddrport,len
"$bin" generate -o "$work/scan.pcap" --packets "$packets" --rate 14880000 2> /dev/null
cat "$work/scan.pcap" > /dev/null   # into the page cache
head -c 32 /dev/urandom | base64 > "$work/key"
chmod 600 "$work/key"

# A wall that ends after one sensor, and a sensor replaying the file into it.
sensor_into_wall() {
  rm -f "$work/wall.err"   # not the previous run's line
  "$bin" count --sensors-listen 127.0.0.1:0 --sensors 1 --key-file "$work/key" \
    > "$work/wall.csv" 2> "$work/wall.err" &
  local wall=$!
  # The whole line, newline included (standard error is written in pieces).
  until grep -qs "listening for sensors" "$work/wall.err" && [ -z "$(tail -c1 "$work/wall.err")" ]; do
    sleep 0.005
  done
  local port
  port=$(grep -o 'sensors on 127.0.0.1:[0-9]*' "$work/wall.err" | cut -d: -f2)
  "$bin" sensor -r "$work/scan.pcap" --speed max --maps "$maps" --name bench \
    --to "127.0.0.1:$port" --key-file "$work/key" 2> "$work/sensor.err"
  wait "$wall"
}

# The median of three runs: `median COMMAND...`.
source scripts/bench-lib.sh

printf '%-52s %8s\n' "counting $packets packets (9 maps)" "Mpps"
row() { printf '%-52s %8.2f\n' "$1" "$(echo "$packets / $2 / 1000000" | bc -l)"; }
row "scanwall count -r, 1 thread" "$(median "$bin" count -r "$work/scan.pcap" --threads 1)"
row "scanwall count -r, 2 threads" "$(median "$bin" count -r "$work/scan.pcap" --threads 2)"
row "scanwall sensor -r into count --sensors-listen" "$(median sensor_into_wall)"
sensor_into_wall
"$bin" count -r "$work/scan.pcap" > "$work/file.csv"
cmp -s "$work/file.csv" "$work/wall.csv" && echo "the wall's counts equal count -r's: yes" \
  || { echo "the wall's counts differ from count -r's"; exit 1; }
tail -1 "$work/sensor.err"
echo
# The benchmark's sensors and wall log their connections on standard error.
cargo bench --quiet --bench sensors 2> "$work/bench.err" || { cat "$work/bench.err"; exit 1; }
