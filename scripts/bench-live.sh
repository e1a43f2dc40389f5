#!/usr/bin/env bash
# Live-capture drops at high rates on one machine: a veth pair whose far end is
# in a network namespace this script makes; tcpreplay plays a generated capture
# (every address in 127.0.0.0/8) into the far end at several rates; scanwall and
# then tcpdump capture the near end, and both report kernel drops. Needs root,
# iproute2, tcpreplay and tcpdump. Nothing leaves this machine.
# Usage: sudo scripts/bench-live.sh [PACKETS] [RATES...]
#   rates in packets/s, "max" (one tcpreplay at top speed) or "max2" (two at
#   once, the only way past one tcpreplay's ceiling here: 2 x PACKETS are sent)
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-2000000}"; shift || true
rates=("${@:-100000 200000 max max2}")
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
# No IPv6 on the pair: the kernel's own neighbour discovery would add packets
# to the counts (and name addresses outside 127.0.0.0/8).
sysctl -qw "net.ipv6.conf.$near.disable_ipv6=1"
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$far.disable_ipv6=1"
ip link set "$near" up
ip netns exec "$ns" ip link set "$far" up
ip netns exec "$ns" ip link set lo up
# A new veth drops what is sent before its carrier is up: wait for it.
for _ in $(seq 50); do
  [ "$(cat "/sys/class/net/$near/operstate")" = up ] && break
  sleep 0.2
done

replay1() { # rate log
  # --preload-pcap: the capture is read into memory first, which about doubles
  # tcpreplay's top speed on a small VM (it reads the file per packet otherwise).
  local speed=--topspeed
  [ "$1" = max ] || speed="--pps=$1"
  ip netns exec "$ns" tcpreplay --preload-pcap "$speed" -i "$far" "$work/scan.pcap" > "$2" 2>&1
}
replay() { # rate; prints the packets/s tcpreplay reports (summed over senders)
  if [ "$1" = max2 ]; then
    replay1 max "$work/replay.log" & replay1 max "$work/replay2.log"; wait $!
    cat "$work/replay.log" "$work/replay2.log" > "$work/replays.log"
  else
    replay1 "$1" "$work/replay.log"; cp "$work/replay.log" "$work/replays.log"
  fi
  grep -Eo '[0-9.]+ pps' "$work/replays.log" | awk '{s += $1} END {if (NR) printf "%.0f pps\n", s; else print "? pps"}'
}

printf '%-10s %-14s %-34s %-34s\n' rate "sent (pps)" "scanwall: received / dropped" "tcpdump: received / dropped"
# How long a replay takes at a rate, plus margins for start-up.
# (tcpreplay on a small VM reaches ~150-300k packets/s at most, so plan for 100k.)
window() {
  local r=100000 n=$packets
  [[ "$1" != max* ]] && [ "$1" -lt "$r" ] && r=$1
  [ "$1" = max2 ] && n=$(( packets * 2 ))
  echo $(( n / r + 12 ))   # margins: scanwall opening, tcpreplay preloading
}
for rate in "${rates[@]}"; do
  secs=$(window "$rate")
  $bin count -i "$near" --duration "${secs}s" --format json > "$work/sw.json" 2> "$work/sw.err" &
  sw=$!
  sleep 3   # opening the capture (a 256 MiB ring) takes a moment
  sent=$(replay "$rate")
  wait "$sw"
  sw_stats=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["capture"]; print(c["received"], "/", c["kernel_drops"] + c["interface_drops"])' "$work/sw.json")
  # tcpdump on the same interface, same replay.
  tcpdump -i "$near" -w /dev/null > /dev/null 2> "$work/td.err" &
  td=$!
  sleep 3
  replay "$rate" > /dev/null
  sleep 1
  kill -INT "$td"; wait "$td" || true
  td_stats=$(awk '/packets received by filter/{r=$1} /packets dropped by kernel/{d=$1} END{print r " / " d}' "$work/td.err")
  printf '%-10s %-14s %-34s %-34s\n' "$rate" "$sent" "$sw_stats" "$td_stats"
done
