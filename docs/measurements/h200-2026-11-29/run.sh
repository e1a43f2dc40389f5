#!/usr/bin/env bash
# One device call: GPU render figures at 1080p and 4K, a 4K snapshot, a 4K soak,
# and counting throughput against the C reference on 16 cores.
cd "$(dirname "$0")/.."
B=.devbench
ldconfig -p | grep -q libvulkan.so.1 || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
[ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$PWD/$B/lib
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
nproc; grep -m1 'model name' /proc/cpuinfo; uname -r
echo "== render bench"
timeout 150 $B/render --bench --warm-up-time 1 --measurement-time 3 2>&1 | grep -v '^Benchmarking\|^$\|Warning\|change:\|improved\|regressed\|No change\|within noise' | tee $OUT/render.txt
echo "== snapshot 4K"
timeout 60 $B/scanwall snapshot --demo --seconds 5 --size 3840x2160 -o $OUT/wall-4k.png 2>&1 | tail -3
echo "== soak 4K"
timeout 60 $B/scanwall soak --duration 12s --warmup 4s --threads 2 --size 3840x2160 2>&1 | tail -12 | tee $OUT/soak.txt
echo "== count"
W=/tmp/cnt; mkdir -p $W
t0=$(date +%s.%N); $B/scanwall generate -o $W/scan.pcap --packets ${PKTS:-20000000} --rate 14880000; t1=$(date +%s.%N)
echo "generate: $(echo "$t1 $t0" | awk '{print $1-$2}') s"; ls -la $W/scan.pcap; cat $W/scan.pcap >/dev/null
best() { local r=(); for _ in 1 2 3 4 5; do local a b; a=$(date +%s.%N); "$@" >/dev/null 2>&1; b=$(date +%s.%N); r+=("$(echo "$b $a" | awk '{printf "%.4f", $1-$2}')"); done; printf '%s ' $(printf '%s\n' "${r[@]}" | sort -n); echo; }
for i in 1 2; do
echo "cat: $(best cat $W/scan.pcap)"
for n in 1 2 4 8; do echo "C $n threads: $(best $B/count-ref $W/scan.pcap $n)"; done
for n in 1 2 4 8; do echo "scanwall $n threads: $(best $B/scanwall count -r $W/scan.pcap --threads $n)"; done
echo "scanwall 1 thread 6 maps: $(best $B/scanwall count -r $W/scan.pcap --threads 1 --maps all,syn,udp,icmp,port,len)"
done 2>&1 | tee $OUT/count.txt
$B/count-ref $W/scan.pcap 1 | head -c 300
