#!/bin/bash
# remove_stale_namespaces removes the namespaces of a killed run and keeps
# those of a running one. Needs root (exit 77 otherwise).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
. "$(dirname "$0")/lab.sh"
dead=4000000; while [ -d /proc/$dead ]; do dead=$((dead + 1)); done
alive=$$
KILLED=ctkstaletest$dead-x RUNNING=ctkstaletest$alive-x OTHER=ctkstaletestx-$dead
trap 'for n in $KILLED $RUNNING $OTHER; do ip netns del $n 2>/dev/null || true; done' EXIT
for n in $KILLED $RUNNING $OTHER; do ip netns add $n; done
remove_stale_namespaces ctkstaletest 2>/dev/null
have() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
fail=0
have $KILLED && { echo "FAIL: $KILLED (pid $dead is not running) was kept"; fail=1; }
have $RUNNING || { echo "FAIL: $RUNNING (pid $alive runs) was removed"; fail=1; }
have $OTHER || { echo "FAIL: $OTHER (not PREFIX<pid>-) was removed"; fail=1; }
[ $fail = 0 ] && echo "ok: the killed run's namespace removed, the others kept"
exit $fail
