#!/usr/bin/env bash
# Fourth device call: live-capture drops at rates this project's 2-vCPU VM
# cannot send (scripts/bench-live.sh, with prebuilt binaries and shorter
# windows). A veth pair into a network namespace made here (the loopback
# interface if no namespace can be made); every address in the frames is in
# 127.0.0.0/8; N tcpreplay senders at top speed at once; scanwall count -i and
# then tcpdump -w /dev/null capture the same replay.
cd "$(dirname "$0")/.."
B=$PWD/.devbench4
command -v ip >/dev/null && command -v tcpreplay >/dev/null && command -v tcpdump >/dev/null || { for f in .netdebs/*.deb; do dpkg -x "$f" / 2>/dev/null; done; ldconfig 2>/dev/null; }
export LD_LIBRARY_PATH=$B/lib
nproc; grep -m1 'model name' /proc/cpuinfo; uname -r
for t in ip tcpreplay tcpdump; do command -v $t || echo "missing $t"; done
W=/tmp/live; mkdir -p $W
PKTS=${PKTS:-1000000}
$B/scanwall generate -o $W/scan.pcap --packets $PKTS --rate 1000000 2>&1 | tail -1
ns=swb; near=swb-near; far=swb-far
cleanup() { ip netns del $ns 2>/dev/null; ip link del swb-near 2>/dev/null; true; }
cleanup; trap cleanup EXIT
if ip netns add $ns && ip link add $near type veth peer name $far && ip link set $far netns $ns; then
  sysctl -qw net.ipv6.conf.$near.disable_ipv6=1; ip netns exec $ns sysctl -qw net.ipv6.conf.$far.disable_ipv6=1
  ip link set $near up; ip netns exec $ns ip link set $far up; ip netns exec $ns ip link set lo up
  for _ in $(seq 50); do [ "$(cat /sys/class/net/$near/operstate)" = up ] && break; sleep 0.2; done
  send() { ip netns exec $ns tcpreplay --preload-pcap "$@" -i $far $W/scan.pcap; }
  echo "veth pair: $near <- $far (namespace $ns)"
else
  near=lo; send() { tcpreplay --preload-pcap "$@" -i lo $W/scan.pcap; }
  echo "no namespace: replaying onto lo"
fi
replay() { # senders|rate -> summed pps
  local n=1 speed=--topspeed
  case $1 in max*) n=${1#max}; n=${n:-1};; *) speed=--pps=$1;; esac
  local pids=()
  for i in $(seq $n); do send $speed > $W/replay$i.log 2>&1 & pids+=($!); done; wait "${pids[@]}"
  cat $W/replay*.log | grep -Eo '[0-9.]+ pps' | awk '{s += $1} END {printf "%.0f", s}'; rm -f $W/replay*.log
}
# Which tcpdump runs here: the system's, as root, or the Debian 12 one carried along.
mkdir -p /tmp/td; dpkg -x .netdebs/tcpdump_*.deb /tmp/td 2>/dev/null
TD=
for cand in "tcpdump" "tcpdump -Z root" "/tmp/td/usr/bin/tcpdump -Z root"; do
  timeout 2 $cand -i lo -w /dev/null > /dev/null 2> $W/tdcheck.err; rc=$?
  [ $rc = 124 ] && { TD=$cand; break; }
  echo "'$cand' exits $rc: $(tr '\n' ' ' < $W/tdcheck.err | head -c 300)"
done
echo "tcpdump used: '$TD'"; $TD --version 2>&1 | head -2
printf '%-8s %-12s %-28s %-28s\n' rate "sent pps" "scanwall recv / drop" "tcpdump recv / drop"
for rate in ${RATES:-500000 max1 max2 max4 max8}; do
  n=1; case $rate in max*) n=${rate#max};; esac
  secs=$(( PKTS * n / 500000 + 8 ))
  timeout $((secs + 20)) $B/scanwall count -i $near --duration ${secs}s --format json > $W/sw.json 2> $W/sw.err & sw=$!
  sleep 3; sent=$(replay $rate); wait $sw
  cap=$(grep -o '"capture":{[^}]*}' $W/sw.json)
  field() { echo "$cap" | grep -Eo "\"$1\":[0-9]+" | grep -Eo '[0-9]+$'; }
  sws="$(field received) / $(( $(field kernel_drops) + $(field interface_drops) ))"
  [ -n "$sws" ] || sws="failed: $(tail -c 200 $W/sw.err)"
  $TD -i $near -w /dev/null > /dev/null 2> $W/td.err & td=$!
  sleep 3; replay $rate > /dev/null; sleep 1; kill -INT $td; wait $td
  tds=$(awk '/packets received by filter/{r=$1} /packets dropped by kernel/{d=$1} END{print r " / " d}' $W/td.err)
  [ "$tds" = " / " ] && tds="failed: $(tr '\n' ' ' < $W/td.err | head -c 200)"
  printf '%-8s %-12s %-28s %-28s\n' $rate "$sent" "$sws" "$tds"
done 2>&1 | tee $OUT/live.txt
