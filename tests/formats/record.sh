#!/bin/bash
# Records what conntrack-tools prints for a known packet sequence on this
# kernel, and the capture of that same traffic, so ctkit's formats can be
# compared byte for byte (tests/formats/compare.py).
#
#   tests/formats/record.sh OUTDIR NAME [SYSCTL=VALUE...]
#
# Three namespaces: a client and a server joined by a router whose nftables
# `ct state` rule turns conntrack on; the sysctls apply in the router. While
# `conntrack -E` and `conntrack -E -o timestamp` listen in the router and
# tcpdump records its client-side link, real programs exchange: a TCP
# session closed by the server (TIME_WAIT), a second SYN from the same port
# (the TIME_WAIT entry is reopened), a SYN to a closed port (RST: the entry
# is killed), a UDP request/reply and a UDP stream (ASSURED after 2 s), UDP
# to a closed port (ICMP port unreachable, RELATED), ping and ping -6, three
# crafted packets conntrack calls INVALID (TCP SYN+FIN, a UDP checksum
# error, an ICMP error quoting no known flow), a TCP connection set up
# before conntrack was on (picked up mid-stream, closed by RST) and last a
# generic-protocol flow (IP protocol 253) that expires and comes back
# (nf_conntrack_generic_timeout=2 unless given). Then `conntrack -L` and
# `conntrack -S`. Writes OUTDIR/NAME.{pcap,E.txt,E-timestamp.txt,L.txt,
# L-time,S.txt,args}: .L-time is when -L ran (seconds since the epoch),
# .args the replay options (one per line).
#
# Needs root and conntrack, tcpdump, ethtool, iproute2, nftables, python3.
# Exits 77 when not root or a tool is missing. Every namespace it creates is
# removed on every exit path.
set -euo pipefail
OUTDIR=$(realpath "$1"); NAME=$2; shift 2
SYSCTLS=("$@")
[ "$(id -u)" = 0 ] || { echo "record.sh: needs root" >&2; exit 77; }
for t in conntrack tcpdump ethtool ip nft python3; do
  command -v $t >/dev/null || { echo "record.sh: $t is not installed" >&2; exit 77; }
done
# The system's interpreter when there is one: a version manager's shim can
# take seconds to start, which would stretch the gaps the events depend on.
PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# Everything on one CPU. The kernel delivers an entry's events when the
# packet that caused them leaves the hook, built from the entry as it is
# then: with the client and the server sending from two CPUs, the other
# side's packet can change the entry in between, and the event shows the
# later state (recorded once: LAST_ACK on the update the server's FIN made,
# FIN_WAIT). Senders on one CPU make the kernel handle packets one by one,
# as ctkit does. Every program started below inherits the affinity.
taskset -pc 0 $$ >/dev/null
. "$(dirname "$0")/../lib/lab.sh"
lab_begin formats
P=formats$$
C=$P-c R=$P-r S=$P-s
lab_netns $C $R $S
lab_router $C $R $S

# The router's settings, and the same ones for the replay.
ARGS=()
have_generic=0
for s in "${SYSCTLS[@]}"; do
  case $s in *generic_timeout=*) have_generic=1;; esac
done
[ $have_generic = 1 ] || SYSCTLS+=(nf_conntrack_generic_timeout=2)
for s in "${SYSCTLS[@]}"; do
  nsx $R sysctl -qw "net.netfilter.${s#net.netfilter.}"
  ARGS+=(--sysctl "$s")
done

# Servers: TCP 8080 answers one line per connection and closes first; TCP
# 8081 echoes until the client goes; UDP 5353 answers; UDP 7000 reads only.
ip netns exec $S $PY - >/dev/null 2>&1 <<'PY' &
import socket, threading
def tcp_once():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080)); s.listen()
    while True:
        c, _ = s.accept(); c.recv(100); c.sendall(b"pong\n"); c.close()
def tcp_echo():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8081)); s.listen()
    c, _ = s.accept()
    while True:
        try:
            d = c.recv(100)
        except OSError:
            return
        if not d: return
        c.sendall(d)
def udp_answer():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
    while True:
        d, a = s.recvfrom(100); s.sendto(b"r", a)
def udp_silent():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7000))
    while True: s.recvfrom(100)
for f in (tcp_once, tcp_echo, udp_answer, udp_silent):
    threading.Thread(target=f, daemon=True).start()
threading.Event().wait()
PY
PIDS+=($!)
for port in 8080t 8081t 5353u 7000u; do
  for _ in $(seq 100); do
    nsx $S ss -Hln"${port: -1}" "sport = :${port%?}" | grep -q . && break
    sleep 0.1
  done
done

# A TCP connection set up before conntrack is on: its next packets are
# picked up mid-stream. The client waits for "go" on a FIFO.
mkfifo "$WORK/go"
ip netns exec $C $PY - "$WORK/go" "$WORK/ready" >/dev/null 2>&1 <<'PY' &
import socket, sys, time
c = socket.create_connection(("10.2.0.2", 8081)); c.sendall(b"a"); c.recv(10)
open(sys.argv[2], "w").close()
open(sys.argv[1]).read()
c.sendall(b"b"); c.recv(10); time.sleep(0.05)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, bytes([1, 0, 0, 0, 0, 0, 0, 0]))
c.close()  # RST
PY
PICKUP=$!; PIDS+=($PICKUP)
for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.1; done
[ -e "$WORK/ready" ] || { echo "record.sh: the pickup connection did not start" >&2; exit 1; }

# The listeners exist before the first entry (nf_conntrack_events=2). They
# are started without the nsx function so that $! is the program itself
# (ip netns exec execs it): a function in the background is a subshell,
# and killing that would leave tcpdump capturing after the "end".
ip netns exec $R conntrack -E > "$WORK/E.txt" 2>"$WORK/E.err" & PIDS+=($!); EV1=$!
ip netns exec $R conntrack -E -o timestamp > "$WORK/Ets.txt" 2>"$WORK/Ets.err" & PIDS+=($!); EV2=$!
# --immediate-mode: each packet leaves the kernel's capture ring at once,
# so the last ones are not lost in a ring block when tcpdump is stopped.
ip netns exec $R tcpdump -Z root -i rc -w "$WORK/cap.pcap" -U --immediate-mode \
    --time-stamp-precision=nano \
    >/dev/null 2>"$WORK/tcpdump.err" & CAP=$!; PIDS+=($CAP)
for _ in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump.err" && break; sleep 0.1; done
grep -q 'listening on' "$WORK/tcpdump.err" || { echo "record.sh: tcpdump did not start" >&2; exit 1; }
sleep 0.5
nsx $R nft -f - <<'NFT'
table inet formats {
  chain forward {
    type filter hook forward priority 0
    ct state established,related,new,invalid counter accept
  }
}
NFT
sleep 0.2

nsx $C $PY - <<'PY'
import socket, struct, time

def tcp_session(sport):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("0.0.0.0", sport)); c.connect(("10.2.0.2", 8080))
    c.sendall(b"ping\n"); c.recv(100); c.close()
    time.sleep(0.2)

tcp_session(41000)          # the server closes first: TIME_WAIT
tcp_session(41000)          # SYN on the TIME_WAIT entry: reopened
try:                        # closed port: RST, entry killed
    socket.create_connection(("10.2.0.2", 9), timeout=2)
except OSError:
    pass
time.sleep(0.2)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 40001))
u.settimeout(2); u.sendto(b"q", ("10.2.0.2", 5353)); u.recv(100)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 40002))
s.settimeout(2)
for i in range(3):          # a stream: ASSURED once a packet comes > 2 s on
    s.sendto(b"q", ("10.2.0.2", 5353)); s.recv(100)
    if i < 2: time.sleep(1.3)
x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); x.bind(("0.0.0.0", 40003))
x.sendto(b"x", ("10.2.0.2", 9))   # ICMP port unreachable comes back
time.sleep(0.2)
PY
nsx $C ping -q -c 1 -W 2 10.2.0.2 >/dev/null
nsx $C ping -q -c 1 -W 2 fd00:2::2 >/dev/null
sleep 0.2

# Three packets conntrack calls INVALID, sent raw.
nsx $C $PY - <<'PY'
import socket, struct, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
src, dst = socket.inet_aton("10.1.0.2"), socket.inet_aton("10.2.0.2")
def ip(proto, payload, s=src, d=dst):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64,
                       proto, 0, s, d) + payload
def l4sum(proto, seg, s=src, d=dst):
    return csum(s + d + struct.pack("!BBH", 0, proto, len(seg)) + seg)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
# TCP SYN+FIN (a flag combination conntrack rejects), correct checksum.
t = struct.pack("!HHIIBBHHH", 42000, 8080, 1, 0, 5 << 4, 0x03, 64240, 0, 0)
t = t[:16] + struct.pack("!H", l4sum(6, t)) + t[18:]
r.sendto(ip(6, t), ("10.2.0.2", 0)); time.sleep(0.1)
# UDP with a wrong checksum.
u = struct.pack("!HHHH", 42001, 5353, 9, 0) + b"q"
good = l4sum(17, u)
u = u[:6] + struct.pack("!H", good ^ 0x5555 or 1) + u[8:]
r.sendto(ip(17, u), ("10.2.0.2", 0)); time.sleep(0.1)
# ICMP port unreachable quoting a UDP packet 10.2.0.2:42002 -> 10.1.0.2:53
# that was never seen: no flow to relate it to.
q = ip(17, struct.pack("!HHHH", 42002, 53, 8, 0), s=dst, d=src)
i = struct.pack("!BBHI", 3, 3, 0, 0) + q
i = i[:2] + struct.pack("!H", csum(i)) + i[4:]
r.sendto(ip(1, i), ("10.2.0.2", 0)); time.sleep(0.1)
PY

# The connection that predates conntrack: picked up, then RST.
echo go > "$WORK/go"
wait $PICKUP || true
sleep 0.2

# A generic flow: one packet, idle past its timeout, then another.
nsx $C $PY - <<'PY'
import socket, time
g = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
g.sendto(b"generic", ("10.2.0.2", 0))
time.sleep(3.5)
g.sendto(b"generic", ("10.2.0.2", 0))
PY
sleep 0.5

# The capture and the events end here; the table and the counters are read
# after, at a wall time kept in .L-time (the -L timeouts count down from
# the last packet by that much).
kill $CAP $EV1 $EV2; wait $CAP $EV1 $EV2 2>/dev/null || true
date +%s.%N > "$WORK/L-time"
nsx $R conntrack -L > "$WORK/L.txt" 2>/dev/null
nsx $R conntrack -S > "$WORK/S.txt"
n=$(tcpdump -r "$WORK/cap.pcap" 2>/dev/null | wc -l)
[ "$n" -ge 30 ] || { echo "record.sh: only $n packets captured" >&2; exit 1; }

mkdir -p "$OUTDIR"
cp "$WORK/cap.pcap" "$OUTDIR/$NAME.pcap"
cp "$WORK/E.txt" "$OUTDIR/$NAME.E.txt"
cp "$WORK/Ets.txt" "$OUTDIR/$NAME.E-timestamp.txt"
cp "$WORK/L.txt" "$OUTDIR/$NAME.L.txt"
cp "$WORK/L-time" "$OUTDIR/$NAME.L-time"
cp "$WORK/S.txt" "$OUTDIR/$NAME.S.txt"
printf '%s\n' "${ARGS[@]}" > "$OUTDIR/$NAME.args"
echo "recorded $NAME: $n packets, $(wc -l < "$WORK/E.txt") events ($(conntrack --version 2>&1), kernel $(uname -r))"
