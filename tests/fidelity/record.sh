#!/bin/bash
# Records the fidelity corpus: real programs (python3 http.server + curl,
# dnsmasq, ping, hping3) talk through a router namespace and tcpdump records
# the router's client-side link; then `ctkit kernel-replay` records the
# kernel's verdicts, table and counters as each capture's expected result.
#
#   tests/fidelity/record.sh CTKIT_BINARY [SCENARIO...]
#
# Scenarios: http dns icmp synflood bulk (default: all). Needs root and the
# Debian packages dnsmasq-base hping3 iputils-ping ethtool tcpdump curl.
# Everything it creates (namespaces, links, the /run/netns mount if it was
# absent) is removed on every exit path.
set -euo pipefail
CTKIT=$(realpath "$1"); shift
HERE=$(cd "$(dirname "$0")" && pwd)
SCEN=("$@"); [ ${#SCEN[@]} -eq 0 ] && SCEN=(http dns icmp synflood bulk)
P=ctkrec$$
C=$P-c R=$P-r S=$P-s
HAD_RUN_NETNS=0; [ -d /run/netns ] && HAD_RUN_NETNS=1
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  for n in $C $R $S; do ip netns del "$n" 2>/dev/null; done
  if [ $HAD_RUN_NETNS = 0 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

setup() {
  for n in $C $R $S; do ip netns add "$n"; nsx "$n" ip link set lo up; done
  ip -n $R link add rc type veth peer name c0 netns $C
  ip -n $R link add rs type veth peer name s0 netns $S
  nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  for n in $C $S; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 \
      net.ipv6.conf.default.accept_dad=0; done
  nsx $R sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n $R addr add 10.1.0.1/24 dev rc; ip -n $R addr add 10.2.0.1/24 dev rs
  ip -n $R addr add fd00:1::1/64 dev rc nodad; ip -n $R addr add fd00:2::1/64 dev rs nodad
  ip -n $C addr add 10.1.0.2/24 dev c0; ip -n $S addr add 10.2.0.2/24 dev s0
  ip -n $C addr add fd00:1::2/64 dev c0 nodad; ip -n $S addr add fd00:2::2/64 dev s0 nodad
  for l in "$R rc" "$R rs" "$C c0" "$S s0"; do
    set -- $l
    ip -n "$1" link set "$2" up
    # Real checksums and no segmentation offload, so the capture holds the
    # packets as they crossed the wire.
    nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n $C route add default via 10.1.0.1; ip -n $S route add default via 10.2.0.1
  ip -n $C -6 route add default via fd00:1::1; ip -n $S -6 route add default via fd00:2::1
  sleep 1
}

capture_start() {  # $1 = output pcap
  ip netns exec $R tcpdump -Z root -q -i rc -w "$1" -U >/dev/null 2>&1 &
  CAP=$!; PIDS+=($CAP); sleep 2
}
capture_stop() { sleep 0.5; kill $CAP; wait $CAP 2>/dev/null || true; }

expect() {  # $1 = name; rest: kernel-replay flags (also kept in NAME.args)
  local name=$1; shift
  printf '%s\n' "$@" > "$HERE/$name.args"
  "$CTKIT" kernel-replay "$HERE/$name.pcap" "$@" --json --dump --verdicts \
      > "$HERE/$name.kernel.json"
  echo "recorded $name: $(jq -r '.verdicts|length' "$HERE/$name.kernel.json" 2>/dev/null) packets"
}

rec_http() {
  mkdir -p "$WORK/www"; echo hello > "$WORK/www/index.html"
  (cd "$WORK/www" && exec ip netns exec $S python3 -m http.server 8080 --bind :: ) >/dev/null 2>&1 &
  PIDS+=($!); sleep 1
  capture_start "$HERE/http.pcap"
  for i in $(seq 1 15); do nsx $C curl -s -o /dev/null http://10.2.0.2:8080/; done
  for i in $(seq 1 5); do nsx $C curl -s -o /dev/null "http://[fd00:2::2]:8080/"; done
  nsx $C curl -s -o /dev/null --max-time 1 http://10.2.0.2:8081/ || true  # RST
  capture_stop
  expect http
}

rec_dns() {
  ip netns exec $S dnsmasq --no-daemon --no-resolv --no-hosts --port 53 \
      --listen-address=10.2.0.2 --bind-interfaces --address=/example.test/192.0.2.7 \
      >/dev/null 2>&1 &
  PIDS+=($!); sleep 1
  capture_start "$HERE/dns.pcap"
  nsx $C python3 - <<'PY'
import socket, struct, random
for i in range(20):
    q = struct.pack('>HHHHHH', random.randrange(65536), 0x0100, 1, 0, 0, 0)
    q += b''.join(bytes([len(p)]) + p.encode() for p in f'h{i}.example.test'.split('.')) + b'\0'
    q += struct.pack('>HH', 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1); s.sendto(q, ('10.2.0.2', 53)); s.recvfrom(512); s.close()
PY
  capture_stop
  expect dns
}

rec_icmp() {
  capture_start "$HERE/icmp.pcap"
  nsx $C ping -q -c 4 -i 0.2 10.2.0.2 >/dev/null
  nsx $C ping -q -c 3 -i 0.2 fd00:2::2 >/dev/null
  nsx $C ping -q -c 2 -i 0.2 -t 1 10.2.0.2 >/dev/null || true   # time exceeded from R
  nsx $C python3 -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); [s.sendto(b'x',('10.2.0.2',33434+i)) for i in range(3)]"
  nsx $C python3 -c "import socket; s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); s.sendto(b'x',('fd00:2::2',33500))"
  capture_stop
  expect icmp
}

rec_synflood() {
  # The server's stack stays silent (as a real victim under load would for
  # most SYNs), and the table is made small so it fills.
  printf 'table inet f {\n chain i {\n type filter hook input priority 0;\n tcp dport 80 drop\n }\n}\n' \
    | nsx $S nft -f -
  capture_start "$HERE/synflood.pcap"
  nsx $C hping3 -q -S -p 80 -i u2000 -c 300 10.2.0.2 >/dev/null 2>&1 || true
  capture_stop
  nsx $S nft delete table inet f
  expect synflood --allow-global --sysctl net.netfilter.nf_conntrack_max=128
}

rec_bulk() {
  head -c 600000 /dev/urandom > "$WORK/big.bin"
  mkdir -p "$WORK/bulk"; mv "$WORK/big.bin" "$WORK/bulk/"
  (cd "$WORK/bulk" && exec ip netns exec $S python3 -m http.server 8090 --bind 10.2.0.2) >/dev/null 2>&1 &
  PIDS+=($!); sleep 1
  # Loss on the router's forward path, both directions (no netem here).
  printf 'table inet loss {\n chain f {\n type filter hook forward priority 0;\n numgen random mod 100 < 3 drop\n }\n}\n' \
    | nsx $R nft -f -
  capture_start "$HERE/bulk.pcap"
  nsx $C curl -s -o /dev/null --max-time 30 http://10.2.0.2:8090/big.bin
  capture_stop
  nsx $R nft delete table inet loss
  expect bulk
}

setup
for s in "${SCEN[@]}"; do "rec_$s"; done
