# Shared by the bench-*.sh scripts (sourced, not run).

# Median wall-clock seconds of three runs of a command (its output discarded).
median() {
  local times=()
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

# A veth pair NEAR <-> FAR with FAR in the network namespace NS (which must
# exist), both up, and returns once NEAR's carrier is (a new veth drops what
# is sent before that). No IPv6 on the pair: the kernel's own neighbour
# discovery would add packets to the counts (and name addresses outside
# 127.0.0.0/8).
veth_into_namespace() {
  local ns=$1 near=$2 far=$3
  ip link add "$near" type veth peer name "$far"
  ip link set "$far" netns "$ns"
  sysctl -qw "net.ipv6.conf.$near.disable_ipv6=1"
  ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$far.disable_ipv6=1"
  ip link set "$near" up
  ip netns exec "$ns" ip link set "$far" up
  for _ in $(seq 50); do
    [ "$(cat "/sys/class/net/$near/operstate")" = up ] && return 0
    sleep 0.2
  done
  echo "no carrier on $near after 10 s" >&2
  return 1
}
