#!/bin/bash
# Records an end-host capture and the kernel's own conntrack table for it:
# tcpdump runs on the host that sends and receives the traffic (not on a
# router), with the veth's default transmit checksum and segmentation
# offload on, so the host's outgoing packets (and, on veth, the peer's too)
# carry partial checksums and GSO super-packets, as a capture taken with
# tcpdump on a server does. Real programs make the traffic: curl and
# python3 http.server both ways, dig against dnsmasq, ping both ways, a
# refused connection, a datagram to a closed port (ICMP error), and a
# connection still open when the table is read. IPv4 and IPv6.
#
#   tests/field/record.sh
#
# Writes tests/field/endhost.pcap and tests/field/endhost.kernel.txt: the
# kernel's table as `conntrack -L` prints it inside the end host's
# namespace right after the capture stops, the wall-clock time it was read
# (the capture's clock), and the end host's nftables counters of each
# packet's `ct state` (its input and output hooks, where the `ct state`
# rules also switch conntrack on in that namespace). tests/field/check.py
# compares `ctkit replay` of the capture with both.
#
# Needs root and the Debian packages tcpdump dnsmasq-base bind9-dnsutils
# iputils-ping curl conntrack iproute2 nftables python3. Everything it
# creates (namespaces, the /run/netns mount if it was absent, processes) is
# removed on every exit path.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/../lib/lab.sh"
lab_begin ctkfield
H=ctkfield$$-h P=ctkfield$$-p

[ "$(id -u)" = 0 ] || { echo "record.sh: needs root" >&2; exit 1; }
for t in tcpdump dnsmasq dig ping curl conntrack nft python3; do
  command -v $t >/dev/null || { echo "record.sh: $t is not installed" >&2; exit 1; }
done

wait_port() {  # $1 = netns, $2 = port, $3 = t (tcp) or u (udp)
  for _ in $(seq 100); do
    nsx "$1" ss -Hln"${3:-t}" "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2; exit 1
}

# The end host H and its peer P on one veth pair with the kernel's default
# offloads (tx checksumming, TSO and GSO on).
lab_netns $H $P
ip -n $H link add h0 type veth peer name p0 netns $P
ip -n $H addr add 10.7.0.1/24 dev h0; ip -n $P addr add 10.7.0.2/24 dev p0
ip -n $H addr add fd07::1/64 dev h0 nodad; ip -n $P addr add fd07::2/64 dev p0 nodad
ip -n $H link set h0 up; ip -n $P link set p0 up
nsx $H ethtool -k h0 2>/dev/null | grep -E '^(tx-checksumming|tcp-segmentation-offload):' || true

# Conntrack in the end host: a `ct state` rule in input and output, which
# also counts each packet's state.
nsx $H nft -f - <<'NFT'
table inet ctkfield {
  chain in {
    type filter hook input priority 0;
    ct state new counter
    ct state established counter
    ct state related counter
    ct state invalid counter
    ct state untracked counter
  }
  chain out {
    type filter hook output priority 0;
    ct state new counter
    ct state established counter
    ct state related counter
    ct state invalid counter
    ct state untracked counter
  }
}
NFT

mkdir -p "$WORK/p" "$WORK/h"
echo hello > "$WORK/p/index.html"; echo "end host" > "$WORK/h/index.html"
# Large enough for a GSO super-packet, small enough to keep the capture small.
head -c 20000 /dev/urandom > "$WORK/p/20k.bin"
(cd "$WORK/p" && exec ip netns exec $P python3 -m http.server 8080 --bind :: ) >/dev/null 2>&1 &
PIDS+=($!)
(cd "$WORK/h" && exec ip netns exec $H python3 -m http.server 8081 --bind :: ) >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec $P dnsmasq --no-daemon --no-resolv --no-hosts --port 53 \
    --listen-address=10.7.0.2 --listen-address=fd07::2 --bind-interfaces \
    --address=/example.test/192.0.2.7 --address=/example.test/2001:db8::7 \
    >/dev/null 2>&1 &
PIDS+=($!)
wait_port $P 8080; wait_port $H 8081; wait_port $P 53 u

OUT=$WORK/endhost.pcap
ip netns exec $H tcpdump -Z root -q -i h0 -w "$OUT" -U >/dev/null 2>"$WORK/tcpdump.err" &
CAP=$!; PIDS+=($CAP)
for _ in $(seq 100); do
  grep -q 'listening on' "$WORK/tcpdump.err" 2>/dev/null && break
  sleep 0.1
done
grep -q 'listening on' "$WORK/tcpdump.err" || { cat "$WORK/tcpdump.err" >&2; exit 1; }
# Count only what the capture can see (router solicitations and MLD reports
# went out before it started).
nsx $H nft reset counters table inet ctkfield >/dev/null
sleep 0.2

# Connections the end host opens.
nsx $H curl -fsS -o /dev/null http://10.7.0.2:8080/
nsx $H curl -fsS -o /dev/null http://10.7.0.2:8080/20k.bin
nsx $H curl -fsS -o /dev/null "http://[fd07::2]:8080/"
nsx $H dig +short +tries=1 +time=2 @10.7.0.2 a.example.test A >/dev/null
nsx $H dig +short +tries=1 +time=2 @10.7.0.2 b.example.test A >/dev/null
nsx $H dig +short +tries=1 +time=2 @fd07::2 c.example.test AAAA >/dev/null
nsx $H ping -q -c 3 -i 0.2 10.7.0.2 >/dev/null
nsx $H ping -q -c 2 -i 0.2 fd07::2 >/dev/null
# A datagram to a closed port: the peer's port unreachable is RELATED.
nsx $H python3 -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.sendto(b'x',('10.7.0.2',33434))"
# Connections the end host accepts.
nsx $P curl -fsS -o /dev/null http://10.7.0.1:8081/
nsx $P curl -fsS -o /dev/null "http://[fd07::1]:8081/"
nsx $P ping -q -c 2 -i 0.2 10.7.0.1 >/dev/null
nsx $P ping -q -c 2 -i 0.2 fd07::1 >/dev/null
# A connection still open when the table is read: a request never finished.
ip netns exec $H python3 -c "
import socket, sys, time
s = socket.create_connection(('10.7.0.2', 8080))
s.sendall(b'GET / HTTP/1.1\r\n')
sys.stdout.write('open\n'); sys.stdout.flush()
time.sleep(60)
" > "$WORK/hold.out" &
HOLD=$!; PIDS+=($HOLD)
for _ in $(seq 100); do grep -q open "$WORK/hold.out" && break; sleep 0.1; done
# Last, so that its CLOSE entry (10 s) is still there when the table is read:
# a refused connection (the peer answers the SYN with RST).
nsx $H curl -sS -o /dev/null --max-time 2 http://10.7.0.2:8089/ 2>/dev/null || true
sleep 0.5

# Stop the capture, then read the kernel's table at once, between two
# clock readings (the timeouts it shows count down in wall-clock time).
kill $CAP; wait $CAP 2>/dev/null || true
nsx $H sh -c 'date +%s.%N; conntrack -L -f ipv4; conntrack -L -f ipv6; date +%s.%N' \
    > "$WORK/table" 2>/dev/null
{
  echo "# The end host's conntrack table, as conntrack -L printed it inside its namespace"
  echo "# right after the capture stopped (tests/field/record.sh, kernel $(uname -r))."
  echo "# read_between $(head -1 "$WORK/table") $(tail -1 "$WORK/table")"
  for chain in in out; do
    printf '# ct_state %s' $chain
    nsx $H nft list chain inet ctkfield $chain |
      sed -n 's/.*ct state \([a-z]*\) counter packets \([0-9]*\).*/ \1=\2/p' | tr -d '\n'
    echo
  done
  sed '1d;$d' "$WORK/table" | sort
} > "$WORK/endhost.kernel.txt"
kill $HOLD 2>/dev/null || true

n=$(tcpdump -r "$OUT" 2>/dev/null | wc -l)
[ "$n" -ge 80 ] || { echo "only $n packets caught" >&2; exit 1; }
cp "$OUT" "$HERE/endhost.pcap"
cp "$WORK/endhost.kernel.txt" "$HERE/endhost.kernel.txt"
echo "recorded $n packets, $(grep -vc '^#' "$HERE/endhost.kernel.txt") kernel entries"
