#!/usr/bin/env bash
# Live-capture drops at high rates on one machine: a veth pair whose far end is
# in a network namespace this script makes; tcpreplay plays a generated capture
# (every address in 127.0.0.0/8) into the far end at several rates; scanwall and
# then tcpdump capture the near end, and both report kernel drops. Needs root,
# iproute2, tcpreplay and tcpdump. Nothing leaves this machine.
# Usage: sudo scripts/bench-live.sh [PACKETS] [RATES...]   (rates in packets/s, or "max")
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-2000000}"; shift || true
rates=("${@:-200000 500000 1000000 max}")
ns=scanwall-bench
near=swb-near
far=swb-far
work="$(mktemp -d)"
cleanup() { ip netns del "$ns" 2>/dev/null || true; ip link del "$near" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cleanup; work="$(mktemp -d)"

cargo build --release --quiet
bin=./target/release/scanwall
$bin generate -o "$work/scan.pcap" --packets "$packets" --rate 1000000

ip netns add "$ns"
ip link add "$near" type veth peer name "$far"
ip link set "$far" netns "$ns"
ip link set "$near" up
ip netns exec "$ns" ip link set "$far" up
ip netns exec "$ns" ip link set lo up

replay() { # rate
  if [ "$1" = max ]; then
    ip netns exec "$ns" tcpreplay --topspeed -i "$far" "$work/scan.pcap" > "$work/replay.log" 2>&1
  else
    ip netns exec "$ns" tcpreplay --pps="$1" -i "$far" "$work/scan.pcap" > "$work/replay.log" 2>&1
  fi
  grep -Eo 'Rated: [0-9.]+ Bps, [0-9.]+ Mbps, [0-9.]+ pps' "$work/replay.log" | grep -Eo '[0-9.]+ pps' || echo "? pps"
}

printf '%-10s %-14s %-34s %-34s\n' rate "sent (pps)" "scanwall: received / dropped" "tcpdump: received / dropped"
# How long a replay takes at a rate, plus margins for start-up.
# (tcpreplay on a small VM reaches ~150k packets/s at most, so plan for 100k.)
window() { local r=100000; [ "$1" != max ] && [ "$1" -lt "$r" ] && r=$1; echo $(( packets / r + 4 )); }
for rate in "${rates[@]}"; do
  secs=$(window "$rate")
  $bin count -i "$near" --duration "${secs}s" --format json > "$work/sw.json" 2> "$work/sw.err" &
  sw=$!
  sleep 1
  sent=$(replay "$rate")
  wait "$sw"
  sw_stats=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["capture"]; print(c["received"], "/", c["kernel_drops"] + c["interface_drops"])' "$work/sw.json")
  # tcpdump on the same interface, same replay.
  tcpdump -i "$near" -w /dev/null > /dev/null 2> "$work/td.err" &
  td=$!
  sleep 1
  replay "$rate" > /dev/null
  sleep 1
  kill -INT "$td"; wait "$td" || true
  td_stats=$(awk '/packets received by filter/{r=$1} /packets dropped by kernel/{d=$1} END{print r " / " d}' "$work/td.err")
  printf '%-10s %-14s %-34s %-34s\n' "$rate" "$sent" "$sw_stats" "$td_stats"
done
