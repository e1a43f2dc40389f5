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
