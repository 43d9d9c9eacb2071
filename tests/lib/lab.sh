# The network lab the record.sh scripts build, sourced by them: namespaces
# named after the script's process (PREFIX<pid>-x), background programs, a
# scratch directory, and one cleanup that removes them all on every exit
# path the shell can see.
#
#   lab_begin PREFIX     remove what killed runs of PREFIX left; set WORK
#                        (a scratch directory), PIDS (background programs to
#                        stop) and the EXIT/INT/TERM traps
#   lab_netns NAME...    create namespaces (loopback up, no IPv6 DAD),
#                        removed by the cleanup
#   lab_router C R S     veth links client C - router R - server S:
#                        10.1.0.0/24 and fd00:1::/64 on the client side,
#                        10.2.0.0/24 and fd00:2::/64 on the server side (.1
#                        and ::1 the router), forwarding on in R, and no
#                        checksum or segmentation offload, so a capture holds
#                        the packets as they crossed the wire
#   nsx NAME CMD...      CMD in namespace NAME
#
# SIGKILL (a CI timeout, the OOM killer) runs no trap: the namespaces, and
# any server running in them, stay behind until the next lab_begin of the
# same PREFIX stops the processes in, and removes, every PREFIX<pid>-
# namespace whose <pid> no longer runs. The cleanup also stops whatever
# still runs in its namespaces (a program started through a shell function
# is not the PID the trap knows).

LAB_NAMESPACES=()
LAB_HAD_RUN_NETNS=0

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

# Every process still running in namespace $1 (a server a killed run
# started keeps its namespace, and its port, alive after `ip netns del`).
lab_kill_netns_pids() {
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in $(ip netns pids "$1" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}

remove_stale_namespaces() {
  local prefix=$1 n pid
  for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $n =~ ^$prefix([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    # Still running (a zombie is not: its parent may be slow to reap it).
    if [ -d "/proc/$pid" ] &&
       [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      continue
    fi
    echo "removing namespace $n left by killed run $pid" >&2
    lab_kill_netns_pids "$n"
    ip netns del "$n" 2>/dev/null || true
  done
}

lab_cleanup() {
  set +e
  local p n
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in "${LAB_NAMESPACES[@]}"; do
    lab_kill_netns_pids "$n"
    ip netns del "$n" 2>/dev/null
  done
  # `ip netns add` mounts /run/netns when it is not there: unmount it again
  # when nothing else uses it.
  if [ $LAB_HAD_RUN_NETNS = 0 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null
  fi
  rm -rf "$WORK"
}

lab_begin() {
  remove_stale_namespaces "$1"
  [ -d /run/netns ] && LAB_HAD_RUN_NETNS=1
  WORK=$(mktemp -d)
  PIDS=()
  trap lab_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

lab_netns() {
  local n
  for n in "$@"; do
    ip netns add "$n"
    LAB_NAMESPACES+=("$n")
    nsx "$n" ip link set lo up
    nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_dad=0
  done
}

lab_router() {
  local c=$1 r=$2 s=$3 l
  ip -n "$r" link add rc type veth peer name c0 netns "$c"
  ip -n "$r" link add rs type veth peer name s0 netns "$s"
  nsx "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  ip -n "$r" addr add 10.1.0.1/24 dev rc; ip -n "$r" addr add 10.2.0.1/24 dev rs
  ip -n "$r" addr add fd00:1::1/64 dev rc nodad; ip -n "$r" addr add fd00:2::1/64 dev rs nodad
  ip -n "$c" addr add 10.1.0.2/24 dev c0; ip -n "$s" addr add 10.2.0.2/24 dev s0
  ip -n "$c" addr add fd00:1::2/64 dev c0 nodad; ip -n "$s" addr add fd00:2::2/64 dev s0 nodad
  for l in "$r rc" "$r rs" "$c c0" "$s s0"; do
    set -- $l
    ip -n "$1" link set "$2" up
    nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n "$c" route add default via 10.1.0.1; ip -n "$s" route add default via 10.2.0.1
  ip -n "$c" -6 route add default via fd00:1::1; ip -n "$s" -6 route add default via fd00:2::1
}
