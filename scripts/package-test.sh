#!/usr/bin/env bash
# The Debian package end to end, as root on a Debian machine where scanwall is
# not installed:
#   scripts/package-test.sh [PACKAGE.deb]      # default: build it (scripts/package.sh)
# 1. dpkg -i, twice (the second is an upgrade: the capability must survive it);
# 2. the installed package: --version, man pages, completions, conffiles, the
#    scanwall user, the capability on the binary (getcap), the units
#    (systemd-analyze verify and security; the sensor's exposure at most 2.0);
# 3. the sensor service from the installed package counts on a veth pair in a
#    network namespace made here and feeds a wall (`count --sensors-listen`) on
#    that namespace's loopback: started with systemctl (with a drop-in that puts
#    it in the namespace) where systemd runs, otherwise its ExecStart line run
#    as the scanwall user with the unit's bounding set (capturing through the
#    file capabilities). The wall's counts must equal `count -r` of the frames
#    sent, and the sensor must have run as scanwall with exactly CAP_NET_RAW
#    and CAP_NET_ADMIN;
# 4. dpkg -r, then dpkg -P (after enabling both units), and nothing is left:
#    no user or group, no files, no enable links, no capability.
# Every address used is in 127.0.0.0/8; nothing leaves the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "scripts/package-test.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $*" >&2; }

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs and purges the package)"
# This test purges what it installs: never run it over a real installation.
if dpkg-query -W -f='${Status}' scanwall 2>/dev/null | grep -q installed; then
  fail "scanwall is installed here; remove it first (dpkg -P scanwall)"
fi
getent passwd scanwall >/dev/null && fail "a user scanwall exists already"
[ -e /etc/scanwall ] && fail "/etc/scanwall exists already"
for tool in dpkg systemd-analyze getcap setpriv ip tcpreplay jq man; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/system-packages.sh installs it)"
done

started=$(date +%s)
deb=${1:-}
if [ -z "$deb" ]; then
  step "building the package"
  deb=$(scripts/package.sh | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"

work=$(mktemp -d)
chmod 755 "$work"
ns="scanwall-pkg-$$"
dropin=/run/systemd/system/scanwall-sensor.service.d
systemd_runs=false
[ -d /run/systemd/system ] && systemd_runs=true
sensor_pid=""
wall_pid=""
installed=false

cleanup() {
  local rc=$?
  set +e
  if [ $rc -ne 0 ]; then
    echo "--- wall's messages" >&2; cat "$work/wall.err" >&2 2>/dev/null
    echo "--- sensor's messages" >&2
    if $systemd_runs; then
      journalctl -u scanwall-sensor.service --no-pager -n 30 >&2
    else
      cat "$work/sensor.err" >&2 2>/dev/null
    fi
  fi
  if $systemd_runs; then
    systemctl stop scanwall-sensor.service 2>/dev/null
    rm -rf "$dropin"
    systemctl daemon-reload 2>/dev/null
  fi
  [ -n "$sensor_pid" ] && kill "$sensor_pid" 2>/dev/null
  [ -n "$wall_pid" ] && kill "$wall_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  # A failed run leaves no installation behind either.
  $installed && dpkg -P scanwall >/dev/null 2>&1
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# ---- 1. install, and install again (an upgrade) ---------------------------------
step "dpkg -i $deb"
dpkg -i "$deb" >/dev/null || fail "dpkg -i failed (missing dependencies? scripts/system-packages.sh installs them)"
installed=true
getcap /usr/bin/scanwall | grep -q 'cap_net_admin,cap_net_raw=eip' \
  || fail "no capabilities after install: $(getcap /usr/bin/scanwall)"
step "dpkg -i again (upgrade)"
dpkg -i "$deb" >/dev/null

# ---- 2. what is installed -----------------------------------------------------------
step "installed files"
version=$(dpkg-query -W -f='${Version}' scanwall)
out=$(scanwall --version)
[ "$out" = "scanwall ${version%-*}" ] || fail "scanwall --version says '$out', the package is $version"
[ "$(command -v scanwall)" = /usr/bin/scanwall ] || fail "scanwall is not /usr/bin/scanwall"
for page in scanwall scanwall-count scanwall-snapshot scanwall-sensor scanwall-man scanwall-completions; do
  path=$(man -w "$page") || fail "man -w $page finds nothing"
  [[ "$path" == /usr/share/man/man1/$page.1.gz ]] || fail "man -w $page: $path"
done
bash -c 'source /usr/share/bash-completion/completions/scanwall && complete -p scanwall' >/dev/null \
  || fail "the bash completion does not load"
grep -q '^#compdef scanwall' /usr/share/zsh/vendor-completions/_scanwall || fail "no zsh completion"
grep -q '^complete -c scanwall' /usr/share/fish/vendor_completions.d/scanwall.fish || fail "no fish completion"
conffiles=$(dpkg-query -W -f='${Conffiles}' scanwall)
for f in /etc/scanwall/wall.toml /etc/scanwall/sensor.toml; do
  grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
depends=$(dpkg-query -W -f='${Depends}' scanwall)
for d in libpcap0.8 libvulkan1 libc6; do
  grep -q "$d" <<<"$depends" || fail "Depends lacks $d: $depends"
done
grep -q mesa-vulkan-drivers <<<"$(dpkg-query -W -f='${Recommends}' scanwall)" || fail "mesa-vulkan-drivers not recommended"

step "the scanwall user"
IFS=: read -r _ _ uid _ _ home shell <<<"$(getent passwd scanwall)"
{ [ "$uid" -lt 1000 ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ]; } \
  || fail "scanwall is not a system user without home and shell: $(getent passwd scanwall)"
getent group scanwall >/dev/null || fail "no group scanwall"

step "the capability"
caps=$(getcap /usr/bin/scanwall)
[[ "$caps" == *"cap_net_admin,cap_net_raw=eip" ]] || fail "getcap after the upgrade: '$caps'"
echo "$caps" >&2

step "the units"
sensor_unit=/usr/lib/systemd/system/scanwall-sensor.service
wall_unit=/usr/lib/systemd/user/scanwall-wall.service
[ "$(systemctl is-enabled scanwall-sensor.service 2>/dev/null)" = disabled ] \
  || fail "scanwall-sensor.service is not disabled after install"
$systemd_runs && { systemctl is-active --quiet scanwall-sensor.service && fail "the package started the sensor"; }
# verify also checks that ExecStart's binary and the Documentation man pages exist.
systemd-analyze verify "$sensor_unit" || fail "systemd-analyze verify $sensor_unit"
mkdir -m 700 "$work/xdg"
XDG_RUNTIME_DIR="$work/xdg" systemd-analyze --user verify "$wall_unit" || fail "systemd-analyze --user verify $wall_unit"
score() { "$@" 2>/dev/null | sed -n 's/^→ Overall exposure level for [^:]*: //p'; }
sensor_score=$(score systemd-analyze security --offline=true "$sensor_unit")
wall_score=$(score env XDG_RUNTIME_DIR="$work/xdg" systemd-analyze --user security --offline=true "$wall_unit")
echo "exposure: scanwall-sensor.service $sensor_score; scanwall-wall.service (user) $wall_score" >&2
systemd-analyze security --offline=true --threshold=20 "$sensor_unit" >/dev/null \
  || fail "scanwall-sensor.service's exposure is above 2.0: $sensor_score"

# ---- 3. the sensor service, on a veth pair in a namespace of its own --------------
step "the sensor service in namespace $ns ($($systemd_runs && echo systemctl || echo "ExecStart as scanwall"))"
# The key the shipped sensor.toml names, as its README/unit says to install it.
head -c 32 /dev/urandom | base64 > /etc/scanwall/sensor.key
chown scanwall:scanwall /etc/scanwall/sensor.key
chmod 600 /etc/scanwall/sensor.key

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add swpkg0 type veth peer name swpkg1
for end in swpkg0 swpkg1; do
  # No IPv6: its neighbour discovery would add packets to the counts.
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$end.disable_ipv6=1"
  ip -n "$ns" link set "$end" up
done
for _ in $(seq 50); do
  [ "$(ip netns exec "$ns" cat /sys/class/net/swpkg0/operstate)" = up ] && break
  sleep 0.2
done

# The frames (demo traffic: every address in 127.0.0.0/8, local 127.20.0.0/16)
# and what counting them must give with the sensor's filter and maps.
scanwall generate -o "$work/scan.pcap" --packets 300 --rate 2000 --seed 7
filter=$(sed -n 's/^filter = "\(.*\)"$/\1/p' /etc/scanwall/sensor.toml)
maps=icmp,all,syn,udp,port,len   # the sensor's default maps (sensor.toml sets none)
scanwall count -r "$work/scan.pcap" --local 127.20.0.0/16 --maps "$maps" --format json -f "$filter" \
  > "$work/expected.json"

# The wall: a headless count of what one sensor sends, on the namespace's loopback.
port=7311
ip netns exec "$ns" scanwall count --sensors-listen "127.0.0.1:$port" \
  --key-file /etc/scanwall/sensor.key --sensors 1 --format json \
  > "$work/wall.json" 2> "$work/wall.err" &
wall_pid=$!
wait_for() { # FILE TEXT SECONDS
  for _ in $(seq $(($3 * 10))); do grep -qF "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  fail "no '$2' in $1 after $3 s"
}
wait_for "$work/wall.err" "listening for sensors on 127.0.0.1:$port" 10

# The unit's own command line, with this test's interface, wall and networks.
exec_start=$(sed -n 's/^ExecStart=//p' "$sensor_unit")
[[ "$exec_start" == "/usr/bin/scanwall sensor --config /etc/scanwall/sensor.toml" ]] \
  || fail "unexpected ExecStart: $exec_start"
args=(-i swpkg0 --to "127.0.0.1:$port" --local 127.20.0.0/16 --name pkgtest)
if $systemd_runs; then
  mkdir -p "$dropin"
  cat > "$dropin/package-test.conf" <<EOF
[Service]
NetworkNamespacePath=/run/netns/$ns
ExecStart=
ExecStart=$exec_start ${args[*]}
Restart=no
EOF
  systemctl daemon-reload
  systemctl start scanwall-sensor.service
  sensor_pid=$(systemctl show -p MainPID --value scanwall-sensor.service)
else
  # What the unit's User=, Group= and CapabilityBoundingSet= do; the
  # capabilities come from the file, as for any user running it.
  # shellcheck disable=SC2086 # ExecStart's words
  ip netns exec "$ns" setpriv --reuid=scanwall --regid=scanwall --init-groups \
    --bounding-set=-all,+net_raw,+net_admin -- $exec_start "${args[@]}" \
    2> "$work/sensor.err" &
  sensor_pid=$!
fi
wait_for "$work/wall.err" "sensor pkgtest connected" 15
user=$(ps -o user= -p "$sensor_pid" | tr -d ' ')
[ "$user" = scanwall ] || fail "the sensor runs as '$user', not scanwall"
cap_eff=$(sed -n 's/^CapEff:\s*//p' "/proc/$sensor_pid/status")
# CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13.
[ "$cap_eff" = 0000000000003000 ] || fail "the sensor's effective capabilities are $cap_eff"

ip netns exec "$ns" tcpreplay -q -i swpkg1 "$work/scan.pcap" >/dev/null 2>&1
# A part-filled ring block reaches the capture after its 100 ms read timeout.
sleep 1
if $systemd_runs; then
  systemctl stop scanwall-sensor.service
  result=$(systemctl show -p Result --value scanwall-sensor.service)
  status=$(systemctl show -p ExecMainStatus --value scanwall-sensor.service)
  { [ "$result" = success ] && [ "$status" = 0 ]; } || fail "the sensor service ended with $result, status $status"
else
  kill -TERM "$sensor_pid"
  wait "$sensor_pid" || fail "the sensor exited with status $?"
fi
sensor_pid=""
wait "$wall_pid" || fail "the wall exited with status $?"
wall_pid=""

nonempty='{packets, maps: (.maps | with_entries(select(.value != {})))}'
expected=$(jq -S "$nonempty" "$work/expected.json")
got=$(jq -S "$nonempty" "$work/wall.json")
[ "$(jq '.packets' <<<"$expected")" -gt 0 ] || fail "the frames count nothing: $expected"
[ "$got" = "$expected" ] || fail "the wall's counts differ from count -r's:
$(diff <(echo "$expected") <(echo "$got") | head -20)"
echo "the wall counted $(jq .packets <<<"$got") packets from sensor pkgtest, as count -r does" >&2
if $systemd_runs; then rm -rf "$dropin"; systemctl daemon-reload; fi
ip netns del "$ns"

# ---- 4. remove, purge, and nothing left --------------------------------------------
step "dpkg -r, dpkg -P"
# Enabled units leave links in /etc that purge must take away.
systemctl enable scanwall-sensor.service 2>/dev/null
systemctl --global enable scanwall-wall.service 2>/dev/null
[ -n "$(find /etc/systemd -name 'scanwall-*' 2>/dev/null)" ] || fail "systemctl enable made no links"
dpkg -r scanwall >/dev/null
[ ! -e /usr/bin/scanwall ] || fail "dpkg -r left /usr/bin/scanwall"
[ -f /etc/scanwall/sensor.toml ] || fail "dpkg -r removed a conffile"
dpkg -P scanwall >/dev/null
installed=false
left=()
status=$(dpkg-query -W -f='${Status}' scanwall 2>/dev/null || true)   # purged: no record at all
case "$status" in "" | *not-installed) ;; *) left+=("dpkg status '$status'") ;; esac
getent passwd scanwall >/dev/null && left+=("user scanwall")
getent group scanwall >/dev/null && left+=("group scanwall")
for p in /etc/scanwall /usr/bin/scanwall /usr/share/doc/scanwall \
  /usr/share/bash-completion/completions/scanwall /usr/share/zsh/vendor-completions/_scanwall \
  /usr/share/fish/vendor_completions.d/scanwall.fish "$sensor_unit" "$wall_unit"; do
  [ -e "$p" ] && left+=("$p")
done
while IFS= read -r p; do left+=("$p"); done < <(
  find /usr/share/man/man1 /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked /var/lib/systemd/deb-systemd-user-helper-enabled \
    /var/lib/systemd/deb-systemd-user-helper-masked -name '*scanwall*' 2>/dev/null)
while IFS= read -r p; do left+=("capability: $p"); done < <(
  getcap -r /usr/bin /usr/sbin /usr/local/bin 2>/dev/null | grep scanwall)
[ ${#left[@]} -eq 0 ] || fail "purge left: ${left[*]}"

echo "scripts/package-test.sh: OK in $(($(date +%s) - started)) s" >&2
