#!/usr/bin/env bash
# The wall in a real window, as an operator runs it: full-screen (1920x1080 unless SCREEN says)
# under Xvfb (with evilwm, so that full-screen takes), 60 frames/s asked for,
# fed by two capture threads under load: two veth pairs whose far ends are in
# a network namespace this script makes, tcpreplay playing a generated capture
# (every address in 127.0.0.0/8) into each far end, `scanwall -i` on both near
# ends. Reports frames/s and main-thread CPU per frame from `--metrics`
# (`scanwall_frame_cpu_seconds_total` over `scanwall_frames_total`, over
# MEASURE_S seconds after a warm-up), resident memory split as the kernel counts it,
# and the capture's drops. Needs root, iproute2, tcpreplay, Xvfb, evilwm,
# curl, and the packages of scripts/system-packages.sh. Nothing leaves this
# machine.
# Usage: sudo [RATE=PPS] [MEASURE_S=N] [SCREEN=WxH] [SOURCE="..."] [SCANWALL=BINARY] scripts/bench-window.sh [WALL OPTIONS...]
#   SCREEN: the X screen the wall fills (default 1920x1080; 3840x2160 for 4K)
#   RATE: packets/s sent into each interface (default 100000; 0 sends nothing)
#   SOURCE: the wall's source (default "-i swbw-a -i swbw-b"; "--demo" for
#   the built-in traffic, one generator thread, nothing sent)
#   WALL OPTIONS: passed on, e.g. --buffer-mb 16, --view change
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
exec 9> /tmp/scanwall-bench-window.lock
flock -n 9 || { echo "another bench-window.sh is running" >&2; exit 1; }
rate="${RATE:-100000}"
seconds="${MEASURE_S:-20}"
screen="${SCREEN:-1920x1080}"
ns=scanwall-bench-window
display=:97
port=19464
work=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip link del swbw-a 2>/dev/null || true
  ip link del swbw-b 2>/dev/null || true
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
cleanup; work="$(mktemp -d)"

[ -n "${SCANWALL:-}" ] || cargo build --release --quiet
bin=${SCANWALL:-./target/release/scanwall}
read -ra source <<< "${SOURCE:--i swbw-a -i swbw-b}"
"$bin" generate -o "$work/scan.pcap" --packets 1000000 --rate 1000000 > /dev/null

ip netns add "$ns"
for end in a b; do
  veth_into_namespace "$ns" "swbw-$end" "swbw-far-$end"
done

Xvfb "$display" -screen 0 "${screen}x24" -nolisten tcp > /dev/null 2>&1 &
xvfb=$!
pids+=($xvfb)
for _ in $(seq 50); do
  DISPLAY=$display xdpyinfo > /dev/null 2>&1 && break
  sleep 0.1
done
# Xvfb exits at once when another server holds the display.
kill -0 "$xvfb" 2> /dev/null && DISPLAY=$display xdpyinfo > /dev/null 2>&1 ||
  { echo "Xvfb did not start on $display (another X server there?)" >&2; exit 1; }
DISPLAY=$display evilwm -fn fixed > /dev/null 2>&1 &
pids+=($!)
sleep 0.5

mkdir -p "$work/xdg" && chmod 700 "$work/xdg"
DISPLAY=$display XDG_RUNTIME_DIR="$work/xdg" "$bin" "${source[@]}" --fullscreen --fps 60 \
  --metrics "127.0.0.1:$port" "$@" 2> "$work/wall.err" &
wall=$!
pids+=($wall)
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# The wall's own error, when it stops before the measurement is done.
wall_alive() {
  kill -0 "$wall" 2> /dev/null || { echo "the wall stopped:" >&2; cat "$work/wall.err" >&2; exit 1; }
}
for _ in $(seq 100); do
  [ -n "$(metric scanwall_frames_total)" ] && break
  wall_alive
  sleep 0.2
done
[ -n "$(metric scanwall_frames_total)" ] ||
  { echo "no metrics from the wall after 20 s" >&2; cat "$work/wall.err" >&2; exit 1; }
if [ "$rate" != 0 ] && [[ " ${source[*]} " == *" -i "* ]]; then
  for end in a b; do
    ip netns exec "$ns" tcpreplay --preload-pcap --pps "$rate" --loop 0 -i "swbw-far-$end" \
      "$work/scan.pcap" > /dev/null 2>&1 &
    pids+=($!)
  done
fi
sleep 10
wall_alive
# The whole process's CPU time (every thread: lavapipe's rasterisers, capture,
# events), in clock ticks: on a shared VM frames/s moves with what else runs,
# the CPU a frame takes much less.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$wall/stat"; }
# Per thread name (lavapipe's rasterisers, the capture threads, events...):
# "NAME TICKS" lines, threads of one name summed. The name is in parentheses
# and may hold spaces; the fields after it are counted from the parenthesis.
thread_ticks() {
  for t in /proc/"$wall"/task/*/stat; do
    sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1\t\2/' "$t" 2> /dev/null
  done | awk -F'\t' '{ split($2, f, " "); ticks[$1] += f[12] + f[13] }
    END { for (n in ticks) printf "%s\t%d\n", n, ticks[n] }'
}
f0=$(metric scanwall_frames_total); c0=$(metric scanwall_frame_cpu_seconds_total)
p0=$(metric scanwall_packets_total); t0=$(proc_ticks); thread_ticks > "$work/threads0"
sleep "$seconds"
wall_alive
f1=$(metric scanwall_frames_total); c1=$(metric scanwall_frame_cpu_seconds_total)
p1=$(metric scanwall_packets_total); t1=$(proc_ticks); thread_ticks > "$work/threads1"
echo "scanwall ${source[*]}${*:+ $*} at $screen, over ${seconds} s after 10 s of warm-up:"
awk -v f0="$f0" -v f1="$f1" -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" -v s="$seconds" \
  -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "  %.1f frames/s, %.2f ms main-thread CPU a frame, %.0f packets/s counted\n",
    (f1 - f0) / s, (c1 - c0) / (f1 - f0) * 1000, (p1 - p0) / s
  printf "  process CPU (all threads) %.0f %% of a core, %.1f ms a frame\n",
    (t1 - t0) / hz / s * 100, (t1 - t0) / hz / (f1 - f0) * 1000 }'
awk -F'\t' -v frames="$((f1 - f0))" -v hz="$(getconf CLK_TCK)" '
  NR == FNR { before[$1] = $2; next }
  { d = $2 - before[$1]; if (d > 0) printf "    %5.1f ms a frame: %s\n", d / hz / frames * 1000, $1 }' \
  "$work/threads0" "$work/threads1" | sort -rn
awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { printf "  %s %.0f MiB", $1, $2 / 1024 } END { print "" }' \
  "/proc/$wall/status"
curl -s "http://127.0.0.1:$port/metrics" | grep '^scanwall_drops_total' | sed 's/^/  /'
