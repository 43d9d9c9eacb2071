# Sourced by the record.sh scripts, which name their namespaces
# PREFIX<pid>-x after their own process. A run killed with SIGKILL (a CI
# timeout, an OOM kill) cannot run its EXIT trap, so its namespaces stay
# behind; the next run of the same script removes every PREFIX<pid>-*
# namespace whose <pid> is no longer a running process.
#
#   remove_stale_namespaces PREFIX
remove_stale_namespaces() {
  local prefix=$1 n pid
  for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $n =~ ^$prefix([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    [ -d "/proc/$pid" ] && continue
    echo "removing namespace $n left by killed run $pid" >&2
    ip netns del "$n" 2>/dev/null || true
  done
}
