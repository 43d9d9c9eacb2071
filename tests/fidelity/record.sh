#!/bin/bash
# Records the fidelity corpus: real programs (python3 http.server + curl,
# dnsmasq, ping, hping3) talk through a router namespace and tcpdump records
# the router's client-side link; then `ctkit kernel-replay` records the
# kernel's verdicts, table and counters as each capture's expected result.
#
#   tests/fidelity/record.sh CTKIT_BINARY [SCENARIO...]
#
# Scenarios: http dns icmp synflood bulk reorder scenarios (default: all).
# Needs root and the Debian packages dnsmasq-base hping3 iputils-ping ethtool
# tcpdump curl iproute2 nftables. `scenarios` writes the small synthetic
# captures of gen_scenarios.py (one per engine behaviour) and records the
# kernel's result for each; the others record real programs' traffic.
# Everything it creates (namespaces, links, the /run/netns mount if it was
# absent) is removed on every exit path.
set -euo pipefail
CTKIT=$(realpath "$1"); shift
HERE=$(cd "$(dirname "$0")" && pwd)
SCEN=("$@"); [ ${#SCEN[@]} -eq 0 ] && SCEN=(http dns icmp synflood bulk reorder scenarios)
. "$(dirname "$0")/../lib/lab.sh"
lab_begin ctkrec
P=ctkrec$$
C=$P-c R=$P-r S=$P-s

setup() {
  lab_netns $C $R $S
  lab_router $C $R $S
  sleep 1
}

# tcpdump on the router's client-side link. Waits until tcpdump says it is
# listening (a fixed sleep lost the first packets, or all of them, on a
# loaded machine), and on stop checks that packets were caught: a silent
# empty capture would be recorded as a (trivially agreeing) empty result.
capture_start() {  # $1 = output pcap
  CAPFILE=$1; rm -f "$CAPFILE"
  ip netns exec $R tcpdump -Z root -q -i rc -w "$CAPFILE" -U \
      >/dev/null 2>"$WORK/tcpdump.err" &
  CAP=$!; PIDS+=($CAP)
  for _ in $(seq 100); do
    grep -q 'listening on' "$WORK/tcpdump.err" 2>/dev/null && break
    kill -0 $CAP 2>/dev/null || { cat "$WORK/tcpdump.err" >&2; exit 1; }
    sleep 0.1
  done
  grep -q 'listening on' "$WORK/tcpdump.err" || { echo "tcpdump did not start" >&2; exit 1; }
  sleep 0.2
}
capture_stop() {
  sleep 0.5; kill $CAP; wait $CAP 2>/dev/null || true
  local n; n=$(tcpdump -r "$CAPFILE" 2>/dev/null | wc -l)
  if [ "$n" -lt "${1:-1}" ]; then
    echo "$CAPFILE: only $n packets caught (wanted at least ${1:-1})" >&2; exit 1
  fi
}

# Waits until something listens on TCP/UDP port $2 in namespace $1.
wait_port() {  # $1 = netns, $2 = port, $3 = t (tcp) or u (udp)
  for _ in $(seq 100); do
    nsx "$1" ss -Hln"${3:-t}" "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2; exit 1
}

expect() {  # $1 = name; rest: kernel-replay flags (also kept in NAME.args)
  local name=$1; shift
  printf '%s\n' "$@" > "$HERE/$name.args"
  "$CTKIT" kernel-replay "$HERE/$name.pcap" "$@" --json --dump --verdicts \
      > "$HERE/$name.kernel.json"
  echo "recorded $name: $(jq -r '.verdicts|length' "$HERE/$name.kernel.json" 2>/dev/null) packets"
}

rec_http() {
  mkdir -p "$WORK/www"; echo hello > "$WORK/www/index.html"
  # Bound to :: (dual stack): answers both the IPv4 and the IPv6 clients.
  (cd "$WORK/www" && exec ip netns exec $S python3 -m http.server 8080 --bind :: ) >/dev/null 2>&1 &
  PIDS+=($!); wait_port $S 8080
  capture_start "$HERE/http.pcap"
  # Many short connections: one request each, then the client's FIN.
  for i in $(seq 1 30); do nsx $C curl -fsS -o /dev/null http://10.2.0.2:8080/; done
  for i in $(seq 1 10); do nsx $C curl -fsS -o /dev/null "http://[fd00:2::2]:8080/"; done
  # Several requests on one connection, then a 404.
  nsx $C curl -fsS -o /dev/null -o /dev/null http://10.2.0.2:8080/ http://10.2.0.2:8080/
  nsx $C curl -sS -o /dev/null http://10.2.0.2:8080/missing
  nsx $C curl -s -o /dev/null --max-time 1 http://10.2.0.2:8081/ || true  # RST
  capture_stop 400
  expect http
}

rec_dns() {
  ip netns exec $S dnsmasq --no-daemon --no-resolv --no-hosts --port 53 \
      --listen-address=10.2.0.2 --listen-address=fd00:2::2 --bind-interfaces \
      --address=/example.test/192.0.2.7 --address=/example.test/2001:db8::7 \
      >/dev/null 2>&1 &
  PIDS+=($!); wait_port $S 53 u
  capture_start "$HERE/dns.pcap"
  # A stub resolver's pattern: one fresh socket (port) per query, A and
  # AAAA, over IPv4 and IPv6; then one socket reused for several queries
  # (one entry, replied, a third packet after the reply), and a query to a
  # port nobody listens on (ICMP port unreachable, RELATED).
  nsx $C python3 - <<'PY'
import socket, struct, random
def q(name, qtype):
    m = struct.pack('>HHHHHH', random.randrange(65536), 0x0100, 1, 0, 0, 0)
    m += b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0'
    return m + struct.pack('>HH', qtype, 1)
def ask(fam, addr, msgs, port=53, want=True):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(2)
    for m in msgs:
        s.sendto(m, (addr, port))
        if want: s.recvfrom(512)
    s.close()
for i in range(20):
    ask(socket.AF_INET, '10.2.0.2', [q(f'h{i}.example.test', 1 if i % 2 else 28)])
for i in range(8):
    ask(socket.AF_INET6, 'fd00:2::2', [q(f'v{i}.example.test', 28 if i % 2 else 1)])
ask(socket.AF_INET, '10.2.0.2', [q(f'k{i}.example.test', 1) for i in range(4)])
ask(socket.AF_INET, '10.2.0.2', [q('x.example.test', 1)], port=5353, want=False)
PY
  capture_stop 60
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
  PIDS+=($!); wait_port $S 8090
  # Loss on the router's forward path, both directions (no netem here).
  printf 'table inet loss {\n chain f {\n type filter hook forward priority 0;\n numgen random mod 100 < 3 drop\n }\n}\n' \
    | nsx $R nft -f -
  capture_start "$HERE/bulk.pcap"
  nsx $C curl -s -o /dev/null --max-time 30 http://10.2.0.2:8090/big.bin
  capture_stop
  nsx $R nft delete table inet loss
  expect bulk
}

rec_reorder() {
  # Reordering without netem: a second, slow lane from the server to the
  # router (veth s1 <-> rs2 behind a 3 Mbit/s token bucket), and the
  # server's output steers a random eighth of its segments onto it (nft
  # mark + policy route), so they arrive milliseconds late, behind later
  # ones. 1 % loss on the router's forward path too, and a client with a
  # small receive buffer reading slowly (curl --limit-rate), so the sender
  # keeps running into the edge of the window: duplicate ACKs, SACKs, fast
  # and timeout retransmissions, window probes.
  ip -n $R link add rs2 type veth peer name s1 netns $S
  for l in "$R rs2" "$S s1"; do
    set -- $l
    ip -n "$1" link set "$2" up
    nsx "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n $R addr add 10.3.0.1/24 dev rs2; ip -n $S addr add 10.3.0.2/24 dev s1
  nsx $R sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.rs2.rp_filter=0
  nsx $S sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.s1.rp_filter=0
  nsx $S tc qdisc add dev s1 root tbf rate 3mbit burst 3000 latency 400ms
  nsx $S ip rule add fwmark 1 table 100
  nsx $S ip route add default via 10.3.0.1 dev s1 table 100
  printf 'table ip lane {\n chain o {\n type route hook output priority 0;\n tcp sport 8091 numgen random mod 8 == 0 meta mark set 1\n }\n}\n' \
    | nsx $S nft -f -
  printf 'table inet loss {\n chain f {\n type filter hook forward priority 0;\n numgen random mod 100 < 1 drop\n }\n}\n' \
    | nsx $R nft -f -
  nsx $C sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
  mkdir -p "$WORK/reorder"; head -c 250000 /dev/urandom > "$WORK/reorder/r.bin"
  (cd "$WORK/reorder" && exec ip netns exec $S python3 -m http.server 8091 --bind 10.2.0.2) >/dev/null 2>&1 &
  PIDS+=($!); wait_port $S 8091
  capture_start "$HERE/reorder.pcap"
  nsx $C curl -fsS -o /dev/null --limit-rate 300k --max-time 30 http://10.2.0.2:8091/r.bin
  capture_stop 150
  nsx $R nft delete table inet loss
  nsx $S nft delete table ip lane
  expect reorder
}

rec_scenarios() {
  # Small synthetic captures, one per engine behaviour (gen_scenarios.py
  # writes s-NAME.pcap and s-NAME.args); the kernel's result for each.
  python3 "$HERE/gen_scenarios.py" "$HERE"
  for p in "$HERE"/s-*.pcap; do
    local name; name=$(basename "$p" .pcap)
    mapfile -t args < "$HERE/$name.args"
    local a=(); for x in "${args[@]}"; do [ -n "$x" ] && a+=("$x"); done
    expect "$name" "${a[@]}"
  done
}

setup
for s in "${SCEN[@]}"; do "rec_$s"; done
