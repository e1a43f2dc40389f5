#!/usr/bin/env bash
# Second device call: counting throughput on 16 cores after parts start at
# guessed boundaries (1-16 threads, against the C reference with as many
# threads), and the CPU cost of a frame's read and scale on that machine.
cd "$(dirname "$0")/.."
B=.devbench
export LD_LIBRARY_PATH=$PWD/$B/lib
nproc; grep -m1 'model name' /proc/cpuinfo
echo "== frame CPU (cargo bench --bench throughput -- frame)"
timeout 90 $B/throughput --bench frame --warm-up-time 1 --measurement-time 3 2>&1 | grep -E '^frame|time:' | tee $OUT/frame.txt
echo "== count"
W=/tmp/cnt; mkdir -p $W
$B/scanwall generate -o $W/scan.pcap --packets ${PKTS:-20000000} --rate 14880000; ls -la $W/scan.pcap; cat $W/scan.pcap >/dev/null
best() { local r=(); for _ in 1 2 3 4 5; do local a b; a=$(date +%s.%N); "$@" >/dev/null 2>&1; b=$(date +%s.%N); r+=("$(echo "$b $a" | awk '{printf "%.4f", $1-$2}')"); done; printf '%s ' $(printf '%s\n' "${r[@]}" | sort -n); echo; }
for i in 1 2; do
echo "cat: $(best cat $W/scan.pcap)"
for n in 1 2 4 8 16; do echo "C 6 maps $n threads: $(best $B/count-ref $W/scan.pcap $n)"; done
for n in 1 16; do echo "C 9 maps $n threads: $(best $B/count-ref-9 $W/scan.pcap $n)"; done
for n in 1 2 4 8 16; do echo "scanwall $n threads: $(best $B/scanwall count -r $W/scan.pcap --threads $n)"; done
done 2>&1 | tee $OUT/count.txt
for n in 1 8 16; do $B/scanwall count -r $W/scan.pcap --threads $n --format json | md5sum; done
