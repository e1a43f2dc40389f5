#!/usr/bin/env bash
# Counting throughput, side by side with the references of the performance issue,
# on one generated capture held in the page cache:
#   cat > /dev/null, the hand-written C reader (benches/reference/count.c: its 6
#   maps, built with -DNINE_MAPS scanwall's 9, and with -DPREFETCH as well the 9 with
#   the prefetch scanwall's walk uses), tcpdump -r FILE -w /dev/null,
#   and scanwall count, on each number of threads in $THREADS (default "1 2").
# Usage: [THREADS="1 2 4 8"] scripts/bench-count.sh [PACKETS]
#   (default 20000000 packets; needs tcpdump and cc)
set -euo pipefail
cd "$(dirname "$0")/.."
packets="${1:-20000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
# The binary just built, copied aside: with a CARGO_TARGET_DIR shared between
# checkouts, another build could replace it in the middle of the runs.
cp "${CARGO_TARGET_DIR:-target}/release/scanwall" "$work/scanwall"
cc -O2 -pthread -o "$work/count-ref" benches/reference/count.c
cc -O2 -pthread -DNINE_MAPS -o "$work/count-ref-9" benches/reference/count.c
cc -O2 -pthread -DNINE_MAPS -DPREFETCH -o "$work/count-ref-9-prefetch" benches/reference/count.c
"$work/scanwall" generate -o "$work/scan.pcap" --packets "$packets" --rate 14880000
cat "$work/scan.pcap" > /dev/null   # into the page cache

# The median of three runs: `median COMMAND...`.
source scripts/bench-lib.sh

c1=$(median "$work/count-ref" "$work/scan.pcap" 1)
printf '%-44s %8s %8s\n' "reader of $packets packets" "Mpps" "x C-1"
row() { printf '%-44s %8.1f %8.2f\n' "$1" "$(echo "$packets / $2 / 1000000" | bc -l)" "$(echo "$c1 / $2" | bc -l)"; }
row "cat > /dev/null" "$(median cat "$work/scan.pcap")"
threads="${THREADS:-1 2}"
for n in $threads; do
  row "C reference, $n thread(s) (6 maps)" "$(median "$work/count-ref" "$work/scan.pcap" "$n")"
done
row "C reference, 1 thread (9 maps)" "$(median "$work/count-ref-9" "$work/scan.pcap" 1)"
row "C reference, 1 thread (9 maps, prefetch)" "$(median "$work/count-ref-9-prefetch" "$work/scan.pcap" 1)"
if command -v tcpdump > /dev/null; then
  row "tcpdump -r -w /dev/null" "$(median tcpdump -r "$work/scan.pcap" -w /dev/null)"
fi
for n in $threads; do
  row "scanwall count, $n thread(s) (9 maps)" "$(median "$work/scanwall" count -r "$work/scan.pcap" --threads "$n")"
done
row "scanwall count, 1 thread (6 maps as C)" "$(median "$work/scanwall" count -r "$work/scan.pcap" --threads 1 --maps all,syn,udp,icmp,port,len)"
