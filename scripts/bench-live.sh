#!/usr/bin/env bash
# Live-capture drops at high rates on one machine: a veth pair whose far end is
# in a network namespace this script makes; tcpreplay plays a generated capture
# (every address in 127.0.0.0/8) into the far end at several rates; scanwall and
# then tcpdump capture the near end, and both report kernel drops. Needs root,
# iproute2, tcpreplay and tcpdump. Nothing leaves this machine.
# Usage: sudo [READER_CPU=PERCENT] [CAPTURE_THREADS=N [SCANWALL_CPU=PERCENT]] [TCPDUMP_BUFFER_KIB=N] [SCANWALL_ARGS=...] [SCANWALL=BINARY] scripts/bench-live.sh [PACKETS] [RATES...]
#   rates in packets/s, "max" (one tcpreplay at top speed) or "max2" (two at
#   once, the only way past one tcpreplay's ceiling here: 2 x PACKETS are sent)
#   READER_CPU: each reader (scanwall, then tcpdump) runs in a cgroup allowed
#   that share of one core (an integer; 10 ms periods, longer under 10 %), the senders and the kernel's
#   receive path outside it: on a machine too small to send faster than a
#   reader can read, this finds the rates where the readers start dropping.
#   CAPTURE_THREADS: scanwall's --capture-threads (default 1). With READER_CPU,
#   scanwall's cgroup gets that share for each of its capture threads (N
#   threads, N cores' worth, as on a machine with a core per thread), tcpdump
#   one thread's; SCANWALL_CPU=PERCENT gives scanwall that share in all instead
#   (e.g. the same as tcpdump's: what the threads cost, not what they buy).
#   TCPDUMP_BUFFER_KIB: tcpdump's -B (default: tcpdump's own, 2 MiB), e.g.
#   262144 for scanwall's 256 MiB ring.
#   SCANWALL_ARGS: more options for scanwall's count, e.g. "--buffer-mb 16"
#   (with TCPDUMP_BUFFER_KIB=16384): a ring too small to hold a whole run
#   makes the readers' CPU, not the buffer, decide the drops.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
# One run at a time: runs share the namespace and interface names.
exec 9> /tmp/scanwall-bench-live.lock
flock -n 9 || { echo "another bench-live.sh is running" >&2; exit 1; }
packets="${1:-2000000}"; shift || true
rates=("${@:-100000 200000 max max2}")
ns=scanwall-bench
near=swb-near
far=swb-far
work="$(mktemp -d)"
cgroup=""
cleanup() {
  ip netns del "$ns" 2>/dev/null || true; ip link del "$near" 2>/dev/null || true; rm -rf "$work"
  [ -z "$cgroup" ] || rmdir "$cgroup" 2>/dev/null || true
}
trap cleanup EXIT
cleanup; work="$(mktemp -d)"

cargo build --release --quiet
bin=${SCANWALL:-./target/release/scanwall}
$bin generate -o "$work/scan.pcap" --packets "$packets" --rate 1000000

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
veth_into_namespace "$ns" "$near" "$far"

threads=${CAPTURE_THREADS:-1}
sw_threads=()
[ "$threads" = 1 ] || sw_threads=(--capture-threads "$threads")
# The readers' CPU limit: a cgroup (v2 or v1's cpu controller) with a quota,
# set by limit() before each reader starts (they run one after the other).
if [ -n "${READER_CPU:-}" ]; then
  sw_cpu=${SCANWALL_CPU:-$(( READER_CPU * threads ))}
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then   # v2 (only the v1 branch has run here)
    cgroup=/sys/fs/cgroup/scanwall-bench
  else
    cgroup=/sys/fs/cgroup/cpu/scanwall-bench
  fi
  mkdir -p "$cgroup"
fi
limit() { # percent of one core (over 100: more than one core)
  [ -n "$cgroup" ] || return 0
  # 10 ms periods, longer below 10 % (the kernel's least quota is 1 ms).
  period=$(( $1 >= 10 ? 10000 : 100000 / $1 ))
  quota=$(( $1 >= 10 ? 100 * $1 : 1000 ))
  if [ -f "$cgroup/cpu.max" ]; then
    echo "$quota $period" > "$cgroup/cpu.max"
  else
    echo "$period" > "$cgroup/cpu.cfs_period_us"
    echo "$quota" > "$cgroup/cpu.cfs_quota_us"
  fi
}
# Becomes a reader, in the limited cgroup when there is one (run it with &:
# it execs, so $! is the reader's own pid and a signal to it reaches it).
reader() {
  [ -n "$cgroup" ] || exec "$@"
  exec sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cgroup" "$@"
}
td_buffer=()
[ -z "${TCPDUMP_BUFFER_KIB:-}" ] || td_buffer=(-B "$TCPDUMP_BUFFER_KIB")

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

[ "$threads" = 1 ] || echo "scanwall with --capture-threads $threads"
[ -z "$cgroup" ] || echo "scanwall limited to ${sw_cpu} % of one core, tcpdump to ${READER_CPU} %"
printf '%-10s %-14s %-34s %-34s\n' rate "sent (pps)" "scanwall: received / dropped" "tcpdump: received / dropped"
# Waits until a reader says its capture is open (scanwall's "capturing on",
# tcpdump's "listening on", on standard error in the file $1): from then on
# the kernel keeps every packet for it. A capture socket is bound before its
# ring exists, and what arrives then is lost without being counted as a drop,
# so the socket's appearance is not enough (a throttled reader takes seconds
# to set up its ring).
opened() {
  for _ in $(seq 1200); do
    grep -qE 'capturing on|listening on' "$1" && return
    sleep 0.1
  done
  echo "no capture opened on $near in 120 s: $(cat "$1")" >&2; exit 1
}
# The kernel builds a reader's ring from 256 KiB blocks of contiguous memory;
# where a large page cache has fragmented memory, finding them is seconds of
# kernel CPU charged to the reader, more than a reader limited to 1 % of a core
# gets in opened()'s wait (seen here: 0.5 s of system time for 256 MiB).
# Dropping the page cache and compacting memory first gives both readers the
# same start (tcpreplay loads its capture into memory before it sends, so
# reading it from disk again costs a run nothing).
compact() {
  sync
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  echo 1 > /proc/sys/vm/compact_memory 2>/dev/null || true
}
# How long a replay takes at a rate, plus margins for start-up.
# (tcpreplay on a small VM reaches ~150-300k packets/s at most, so plan for 100k.)
window() {
  local r=100000 n=$packets
  [[ "$1" != max* ]] && [ "$1" -lt "$r" ] && r=$1
  [ "$1" = max2 ] && n=$(( packets * 2 ))
  # margins: tcpreplay preloading the capture (about 7 us a packet here), the rest
  echo $(( n / r + n / 100000 + 12 ))
}
for rate in "${rates[@]}"; do
  secs=$(window "$rate")
  # Emptied here, not only by the reader's redirection, which runs after the
  # fork: opened() must not find the line of the run before.
  : > "$work/sw.err"; : > "$work/td.err"
  compact
  limit "${sw_cpu:-100}"
  # shellcheck disable=SC2086 # SCANWALL_ARGS is words
  reader $bin count -i "$near" "${sw_threads[@]}" ${SCANWALL_ARGS:-} --duration "${secs}s" --format json > "$work/sw.json" 2> "$work/sw.err" &
  sw=$!
  opened "$work/sw.err"
  sent=$(replay "$rate")
  wait "$sw"
  sw_stats=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["capture"]; print(c["received"], "/", c["kernel_drops"] + c["interface_drops"])' "$work/sw.json")
  # tcpdump on the same interface, same replay.
  compact
  limit "${READER_CPU:-100}"
  reader tcpdump "${td_buffer[@]}" -i "$near" -w /dev/null > /dev/null 2> "$work/td.err" &
  td=$!
  opened "$work/td.err"
  replay "$rate" > /dev/null
  sleep 1
  kill -INT "$td"; wait "$td" || true
  td_stats=$(awk '/packets received by filter/{r=$1} /packets dropped by kernel/{d=$1} END{print r " / " d}' "$work/td.err")
  printf '%-10s %-14s %-34s %-34s\n' "$rate" "$sent" "$sw_stats" "$td_stats"
done
