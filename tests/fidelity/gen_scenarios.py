#!/usr/bin/env python3
"""Writes the small synthetic fidelity captures: one per engine behaviour.

  gen_scenarios.py DIR

For each scenario writes DIR/s-NAME.pcap (raw IP, microsecond pcap, correct
checksums) and DIR/s-NAME.args (the kernel-replay/replay flags, one a line).
The expected result of each is the kernel's, recorded by `record.sh
scenarios` (ctkit kernel-replay); nothing here states what conntrack should
do. Deterministic: the same bytes on every run. Packets are 1 ms apart
unless a behaviour needs a gap (the kernel runs the gaps in wall time, so
gaps are kept to the few seconds a behaviour needs).
"""
import ipaddress
import os
import struct
import sys

T0 = 1700000000.0

C4, S4, R4 = '10.1.0.2', '10.2.0.2', '10.2.0.254'
C6, S6, R6 = '2001:db8:1::2', '2001:db8:2::2', '2001:db8:2::fe'


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack(f'>{len(b) // 2}H', b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def v6(a):
    return ':' in a


_ident = [0]


def ip_packet(src, dst, proto, l4, l4_csum_off=None, ttl=64):
    """IPv4 or IPv6 packet carrying l4; fills the L4 checksum at
    l4_csum_off (pseudo-header included) when given."""
    sb = ipaddress.ip_address(src).packed
    db = ipaddress.ip_address(dst).packed
    l4 = bytearray(l4)
    if l4_csum_off is not None:
        l4[l4_csum_off:l4_csum_off + 2] = b'\0\0'
        if v6(src):
            pseudo = sb + db + struct.pack('>IxxxB', len(l4), proto)
        else:
            pseudo = sb + db + struct.pack('>xBH', proto, len(l4))
        c = csum(pseudo + bytes(l4))
        if c == 0 and proto == 17:
            c = 0xffff
        l4[l4_csum_off:l4_csum_off + 2] = struct.pack('>H', c)
    if v6(src):
        return struct.pack('>IHBB', 6 << 28, len(l4), proto, ttl) + sb + db + bytes(l4)
    _ident[0] += 1  # distinct IP ids: identical retransmissions stay distinct
    h = struct.pack('>BBHHHBBH', 0x45, 0, 20 + len(l4), _ident[0], 0x4000, ttl, proto, 0) + sb + db
    h = h[:10] + struct.pack('>H', csum(h)) + h[12:]
    return h + bytes(l4)


def udp(src, sport, dst, dport, data=b'x' * 8, proto=17):
    l4 = struct.pack('>HHHH', sport, dport, 8 + len(data), 0) + data
    return ip_packet(src, dst, proto, l4, 6)


def icmp_echo(src, dst, ident, seq, reply=False):
    if v6(src):
        t = 129 if reply else 128
        return ip_packet(src, dst, 58, struct.pack('>BBHHH', t, 0, 0, ident, seq) + b'p' * 16, 2)
    t = 0 if reply else 8
    m = bytearray(struct.pack('>BBHHH', t, 0, 0, ident, seq) + b'p' * 16)
    m[2:4] = struct.pack('>H', csum(bytes(m)))
    return ip_packet(src, dst, 1, bytes(m))


def icmp_error(src, dst, inner, typ, code, mtu=0):
    """An ICMP/ICMPv6 error from src to dst quoting `inner`."""
    if v6(src):
        m = struct.pack('>BBHI', typ, code, 0, mtu) + inner[:1232]
        return ip_packet(src, dst, 58, m, 2)
    m = bytearray(struct.pack('>BBHI', typ, code, 0, mtu) + inner[:28])
    m[2:4] = struct.pack('>H', csum(bytes(m)))
    return ip_packet(src, dst, 1, bytes(m), ttl=64)


def raw_l4(src, dst, proto, data):
    return ip_packet(src, dst, proto, data)


class Tcp:
    """One TCP connection's two ends; each call emits a segment and keeps
    each side's next sequence number and the ack of the peer's."""

    def __init__(self, cap, c, cport, s, sport, isn_c=1000, isn_s=50000, win=64000):
        self.cap, self.c, self.cport, self.s, self.sport = cap, c, cport, s, sport
        self.nxt = {'c': isn_c, 's': isn_s}
        self.win = {'c': win, 's': win}

    def seg(self, side, flags, data=b'', seq=None, ack=None, win=None, opts=b'', gap=0.001):
        src, sp, dst, dp = ((self.c, self.cport, self.s, self.sport) if side == 'c'
                            else (self.s, self.sport, self.c, self.cport))
        peer = 's' if side == 'c' else 'c'
        if seq is None:
            seq = self.nxt[side]
        if ack is None:
            ack = self.nxt[peer] if 'A' in flags else 0
        fl = 0
        for ch, bit in (('F', 1), ('S', 2), ('R', 4), ('P', 8), ('A', 16)):
            if ch in flags:
                fl |= bit
        if 'S' in flags and not opts:
            opts = struct.pack('>BBH', 2, 4, 1460)  # MSS only: no window scaling
        doff = (20 + len(opts)) // 4
        l4 = struct.pack('>HHIIBBHHH', sp, dp, seq & 0xffffffff, ack & 0xffffffff,
                         doff << 4, fl, self.win[side] if win is None else win, 0, 0)
        l4 += opts + data
        self.cap.add(ip_packet(src, dst, 6, l4, 16), gap)
        end = seq + len(data) + (1 if 'S' in flags else 0) + (1 if 'F' in flags else 0)
        if end - self.nxt[side] > 0:
            self.nxt[side] = end
        return self

    def handshake(self):
        return self.seg('c', 'S').seg('s', 'SA').seg('c', 'A')

    def exchange(self):
        """A request and a response, each acknowledged."""
        self.seg('c', 'PA', b'GET / HTTP/1.0\r\n\r\n').seg('s', 'A')
        return self.seg('s', 'PA', b'HTTP/1.0 200 OK\r\n\r\nhello\n').seg('c', 'A')


class Capture:
    def __init__(self):
        self.t = T0
        self.pkts = []

    def add(self, pkt, gap=0.001):
        self.t += gap
        self.pkts.append((self.t, pkt))
        return self

    def write(self, path):
        with open(path, 'wb') as f:
            f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
            for t, p in self.pkts:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                f.write(struct.pack('<IIII', sec, usec, len(p), len(p)) + p)


SCENARIOS = {}


def scenario(name, *args):
    def reg(fn):
        SCENARIOS[name] = (fn, list(args))
        return fn
    return reg


# ---- TCP ---------------------------------------------------------------

@scenario('tcp-handshake')
def _(cap):
    # SYN, SYN/ACK, ACK (ASSURED on the third), data both ways; a second
    # connection whose last segment leaves data unacknowledged.
    Tcp(cap, C4, 40000, S4, 80).handshake().exchange()
    t = Tcp(cap, C4, 40001, S4, 80, isn_c=7000, isn_s=9000).handshake()
    t.seg('c', 'PA', b'unacknowledged data')


@scenario('tcp-fin-client-first')
def _(cap):
    t = Tcp(cap, C4, 40010, S4, 80).handshake().exchange()
    t.seg('c', 'FA').seg('s', 'A').seg('s', 'FA').seg('c', 'A')


@scenario('tcp-fin-server-first')
def _(cap):
    t = Tcp(cap, C4, 40020, S4, 80).handshake().exchange()
    t.seg('s', 'FA').seg('c', 'A').seg('c', 'FA').seg('s', 'A')
    # Simultaneous close on a second connection.
    t = Tcp(cap, C4, 40021, S4, 80).handshake().exchange()
    cf, sf = t.nxt['c'], t.nxt['s']
    t.seg('c', 'FA', ack=sf).seg('s', 'FA', ack=cf)
    t.seg('c', 'A').seg('s', 'A')


@scenario('tcp-half-close')
def _(cap):
    # The client closes its side, the server keeps sending (CLOSE_WAIT /
    # FIN_WAIT), then the last ACK never comes (LAST_ACK).
    t = Tcp(cap, C4, 40030, S4, 80).handshake()
    t.seg('c', 'PA', b'req').seg('c', 'FA').seg('s', 'A')
    t.seg('s', 'PA', b'more data').seg('c', 'A')
    t2 = Tcp(cap, C4, 40031, S4, 80).handshake().exchange()
    t2.seg('c', 'FA').seg('s', 'FA')


@scenario('tcp-rst-refused')
def _(cap):
    # A SYN answered by RST/ACK (nothing listens), and a client that sends
    # RST before any reply.
    t = Tcp(cap, C4, 40040, S4, 81)
    t.seg('c', 'S').seg('s', 'RA', seq=0, ack=t.nxt['c'])
    t = Tcp(cap, C4, 40041, S4, 80)
    t.seg('c', 'S').seg('c', 'R', seq=t.nxt['c'])


@scenario('tcp-rst-states')
def _(cap):
    # RST in SYN_RECV (from the client), in ESTABLISHED (exact sequence),
    # and in ESTABLISHED from the server after data.
    t = Tcp(cap, C4, 40050, S4, 80)
    t.seg('c', 'S').seg('s', 'SA').seg('c', 'R')
    Tcp(cap, C4, 40051, S4, 80).handshake().exchange().seg('c', 'RA')
    Tcp(cap, C4, 40052, S4, 80).handshake().exchange().seg('s', 'R')


@scenario('tcp-rst-bad-seq')
def _(cap):
    _rst_bad_seq(cap)


@scenario('tcp-rst-bad-seq-ignore', '--sysctl', 'nf_conntrack_tcp_ignore_invalid_rst=1')
def _(cap):
    _rst_bad_seq(cap)


def _rst_bad_seq(cap):
    # An RST inside the window but not at the expected sequence (the
    # challenge-ACK case), then the exact one; and an RST far outside the
    # window.
    t = Tcp(cap, C4, 40060, S4, 80).handshake().exchange()
    t.seg('c', 'R', seq=t.nxt['c'] + 100).seg('s', 'A').seg('c', 'R')
    t = Tcp(cap, C4, 40061, S4, 80).handshake().exchange()
    t.seg('s', 'R', seq=t.nxt['s'] + 0x40000000).seg('c', 'PA', b'still open')


@scenario('tcp-syn-retransmit')
def _(cap):
    # A SYN retransmitted 3 s later (does it refresh SYN_SENT's timeout?),
    # and a SYN/ACK retransmitted in SYN_RECV.
    t = Tcp(cap, C4, 40070, S4, 80)
    t.seg('c', 'S')
    t2 = Tcp(cap, C4, 40071, S4, 80)
    t2.seg('c', 'S').seg('s', 'SA')
    t.seg('c', 'S', seq=t.nxt['c'] - 1, gap=3.0)
    t2.seg('s', 'SA', seq=t2.nxt['s'] - 1)


@scenario('tcp-simultaneous-open')
def _(cap):
    t = Tcp(cap, C4, 40080, S4, 5001)
    t.seg('c', 'S').seg('s', 'S')
    t.seg('c', 'SA').seg('s', 'SA')
    t.seg('c', 'A').seg('s', 'PA', b'data').seg('c', 'A')


@scenario('tcp-reopen')
def _(cap):
    # A new SYN on the tuple of a connection in TIME_WAIT, and on one in
    # CLOSE (after RST).
    t = Tcp(cap, C4, 40090, S4, 80).handshake().exchange()
    t.seg('c', 'FA').seg('s', 'FA').seg('c', 'A')
    Tcp(cap, C4, 40090, S4, 80, isn_c=900000, isn_s=700000).handshake().exchange()
    t = Tcp(cap, C4, 40091, S4, 80).handshake().exchange()
    t.seg('c', 'RA')
    Tcp(cap, C4, 40091, S4, 80, isn_c=800000, isn_s=600000).handshake()


@scenario('tcp-syn-ack-no-entry')
def _(cap):
    # A SYN/ACK, a FIN and an RST for connections the router never saw.
    Tcp(cap, S4, 80, C4, 40100).seg('c', 'SA', ack=12345)
    Tcp(cap, C4, 40101, S4, 80).seg('c', 'FA', ack=777)
    Tcp(cap, C4, 40102, S4, 80).seg('c', 'R')


def _pickup(cap):
    # Mid-stream segments of a connection set up before the capture.
    t = Tcp(cap, C4, 40110, S4, 80, isn_c=5000, isn_s=90000)
    t.seg('c', 'PA', b'mid-stream').seg('s', 'A').seg('s', 'PA', b'reply').seg('c', 'A')
    # Picked up by a FIN.
    t = Tcp(cap, C4, 40111, S4, 80, isn_c=6000, isn_s=91000)
    t.seg('c', 'FA').seg('s', 'FA').seg('c', 'A')


@scenario('tcp-pickup-loose')
def _(cap):
    _pickup(cap)


@scenario('tcp-pickup-strict', '--sysctl', 'nf_conntrack_tcp_loose=0')
def _(cap):
    _pickup(cap)


def _window(cap):
    # Segments past the receiver's window, and an ACK for data never sent.
    t = Tcp(cap, C4, 40120, S4, 80, win=8000).handshake().exchange()
    t.seg('c', 'PA', b'far ahead', seq=t.nxt['c'] + 200000)
    t.seg('c', 'PA', b'in order')
    t.seg('s', 'A', ack=t.nxt['c'] + 300000)
    t.seg('s', 'A')
    # Old data, far behind the window.
    t.seg('c', 'PA', b'ancient', seq=t.nxt['c'] - 500000)


@scenario('tcp-window')
def _(cap):
    _window(cap)


@scenario('tcp-window-liberal', '--sysctl', 'nf_conntrack_tcp_be_liberal=1')
def _(cap):
    _window(cap)


@scenario('tcp-max-retrans')
def _(cap):
    # The same unacknowledged segment sent five times: past
    # nf_conntrack_tcp_max_retrans (3) the timeout drops to
    # timeout_max_retrans.
    t = Tcp(cap, C4, 40130, S4, 80).handshake().exchange()
    seq = t.nxt['c']
    for _ in range(5):
        t.seg('c', 'PA', b'retransmitted', seq=seq, gap=0.2)


@scenario('tcp-max-retrans-low', '--sysctl', 'nf_conntrack_tcp_max_retrans=1',
          '--sysctl', 'nf_conntrack_tcp_timeout_max_retrans=100')
def _(cap):
    t = Tcp(cap, C4, 40131, S4, 80).handshake().exchange()
    seq = t.nxt['c']
    for _ in range(3):
        t.seg('c', 'PA', b'retransmitted', seq=seq, gap=0.2)


@scenario('tcp-flags')
def _(cap):
    # New flows opened by invalid flag combinations, a bare FIN/PSH/no
    # flags/ACK (pickup); then a SYN and a SYN/ACK inside an established
    # connection.
    for i, fl in enumerate(['SF', 'SR', 'F', 'P', '', 'SAFR', 'A']):
        Tcp(cap, C4, 44000 + i, S4, 80).seg('c', fl)
    t = Tcp(cap, C4, 44100, S4, 80).handshake().exchange()
    t.seg('c', 'S', seq=t.nxt['c']).seg('s', 'SA').seg('c', 'A')


@scenario('tcp-window-scale')
def _(cap):
    # Window scaling (shift 7 both ways): a segment past the unscaled
    # window but inside the scaled one, then one past the scaled one.
    opt = struct.pack('>BBHBBBB', 2, 4, 1460, 1, 3, 3, 7)
    t = Tcp(cap, C4, 44200, S4, 80, win=512)
    t.seg('c', 'S', opts=opt, win=64240).seg('s', 'SA', opts=opt, win=65160).seg('c', 'A')
    t.seg('c', 'PA', b'q' * 100).seg('s', 'A')
    t.seg('s', 'PA', b'r' * 1400).seg('s', 'PA', b'r' * 1400, seq=t.nxt['s'] + 20000)
    t.seg('c', 'A').seg('s', 'PA', b'r' * 100, seq=t.nxt['s'] + 70000)


@scenario('tcp-time-wait')
def _(cap):
    # An RST in TIME_WAIT; a late ACK and a retransmitted FIN in TIME_WAIT.
    t = Tcp(cap, C4, 44300, S4, 80).handshake().exchange()
    t.seg('c', 'FA').seg('s', 'FA').seg('c', 'A').seg('s', 'R')
    t = Tcp(cap, C4, 44301, S4, 80).handshake().exchange()
    t.seg('c', 'FA').seg('s', 'FA').seg('c', 'A').seg('c', 'A')
    t.seg('s', 'FA', seq=t.nxt['s'] - 1)


@scenario('tcp-syn-sent-bad-ack')
def _(cap):
    # In SYN_SENT: an ACK, a SYN/ACK and an RST/ACK acknowledging the wrong
    # sequence; then the right SYN/ACK.
    t = Tcp(cap, C4, 44400, S4, 80)
    t.seg('c', 'S').seg('s', 'A', ack=t.nxt['c'] + 1000)
    t.seg('s', 'SA', ack=t.nxt['c'] + 5).seg('s', 'SA').seg('c', 'A')
    t = Tcp(cap, C4, 44401, S4, 80)
    t.seg('c', 'S').seg('s', 'RA', seq=0, ack=t.nxt['c'] + 7)


# ---- UDP ---------------------------------------------------------------

@scenario('udp-unreplied')
def _(cap):
    cap.add(udp(C4, 50000, S4, 53))
    cap.add(udp(C4, 50000, S4, 53))
    cap.add(udp(C4, 50001, S4, 9999, b'z' * 40))


@scenario('udp-replied')
def _(cap):
    cap.add(udp(C4, 50010, S4, 53)).add(udp(S4, 53, C4, 50010, b'answer'))
    cap.add(udp(C4, 50011, S4, 123)).add(udp(S4, 123, C4, 50011))
    cap.add(udp(C4, 50011, S4, 123))


@scenario('udp-stream')
def _(cap):
    # Replied, then still active more than 2 s after the first packet:
    # ASSURED, stream timeout. A second flow goes on within 2 s only.
    cap.add(udp(C4, 50020, S4, 4500)).add(udp(S4, 4500, C4, 50020))
    cap.add(udp(C4, 50021, S4, 4500)).add(udp(S4, 4500, C4, 50021))
    cap.add(udp(C4, 50021, S4, 4500), 1.0)
    cap.add(udp(C4, 50020, S4, 4500), 1.2)
    cap.add(udp(S4, 4500, C4, 50020))


@scenario('udp-expiry', '--sysctl', 'nf_conntrack_udp_timeout=1')
def _(cap):
    # With a 1 s timeout the flow has expired when its next packet comes.
    cap.add(udp(C4, 50030, S4, 53)).add(udp(S4, 53, C4, 50030))
    cap.add(udp(C4, 50031, S4, 53))
    cap.add(udp(C4, 50030, S4, 53), 1.6)
    cap.add(udp(S4, 53, C4, 50030))


@scenario('udplite')
def _(cap):
    cap.add(udp(C4, 50040, S4, 5000, proto=136)).add(udp(S4, 5000, C4, 50040, proto=136))
    cap.add(udp(C4, 50041, S4, 5000, proto=136))


def udplite(src, sport, dst, dport, size, coverage, checksum):
    """A UDP-Lite datagram of 8 + size bytes. coverage: 0 (all) or a byte
    count. checksum: 'as17' (UDP's protocol number and the true length in
    the pseudo-header), 'cut' (IPv4's length cut to 8 bits: length and
    protocol summing to 17 + length mod 256), 'rfc' (136) or 'zero'."""
    data = bytes((i * 7) & 0xff for i in range(size))
    l4 = bytearray(struct.pack('>HHHH', sport, dport, coverage, 0) + data)
    sb = ipaddress.ip_address(src).packed
    db = ipaddress.ip_address(dst).packed
    covered = bytes(l4) if coverage == 0 else bytes(l4[:coverage])
    n = len(l4)
    if checksum == 'zero':
        c = 0
    else:
        if v6(src):
            proto = 136 if checksum == 'rfc' else 17
            pseudo = sb + db + struct.pack('>IxxxB', n, proto)
        elif checksum == 'cut':
            pseudo = sb + db + struct.pack('>xBH', n & 0xff, 17)
        else:
            pseudo = sb + db + struct.pack('>xBH', 136 if checksum == 'rfc' else 17, n)
        c = csum(pseudo + covered) or 0xffff
    l4[6:8] = struct.pack('>H', c)
    return ip_packet(src, dst, 136, bytes(l4))


def _udplite_checksums(cap):
    # kernel-model §7 (measured): coverage honoured; IPv6 as UDP; IPv4 from
    # 256 bytes with the length cut to 8 bits; a zero checksum is INVALID
    # even unchecked. One flow per datagram.
    port = 51000
    for src, dst in ((C4, S4), (C6, S6)):
        for size in (12, 300):
            for coverage in (0, 20):
                for checksum in ('as17', 'cut', 'rfc', 'zero'):
                    if v6(src) and checksum == 'cut':
                        continue
                    port += 1
                    cap.add(udplite(src, port, dst, 5000, size, coverage, checksum))


@scenario('udplite-checksums')
def _(cap):
    _udplite_checksums(cap)


@scenario('udplite-checksums-unchecked', '--sysctl', 'nf_conntrack_checksum=0')
def _(cap):
    _udplite_checksums(cap)


@scenario('udp-malformed')
def _(cap):
    # Port 0 either side; a length field longer than the datagram.
    cap.add(udp(C4, 0, S4, 53)).add(udp(C4, 54300, S4, 0))
    u = bytearray(udp(C4, 54301, S4, 53))
    u[24:26] = struct.pack('>H', 100)
    cap.add(bytes(u))


@scenario('ipv4-options')
def _(cap):
    # A datagram with an IPv4 option (router alert), and its answer.
    sb, db = ipaddress.ip_address(C4).packed, ipaddress.ip_address(S4).packed
    u = udp(C4, 54000, S4, 53)[20:]
    h = struct.pack('>BBHHHBBH', 0x46, 0, 24 + len(u), 999, 0x4000, 64, 17, 0) + sb + db
    h += b'\x94\x04\x00\x00'
    h = h[:10] + struct.pack('>H', csum(h)) + h[12:]
    cap.add(h + u).add(udp(S4, 53, C4, 54000))


# ---- ICMP --------------------------------------------------------------

@scenario('icmp-echo')
def _(cap):
    for seq in range(1, 4):
        cap.add(icmp_echo(C4, S4, 77, seq)).add(icmp_echo(S4, C4, 77, seq, reply=True))
    cap.add(icmp_echo(C4, S4, 78, 1))            # never answered
    cap.add(icmp_echo(S4, C4, 79, 1, reply=True))  # a reply with no request


@scenario('icmp-error-related')
def _(cap):
    # Port unreachable for a UDP flow, time exceeded from a router on the
    # path for a TCP SYN, fragmentation needed for an established flow.
    u = udp(C4, 50050, S4, 33434)
    cap.add(u).add(icmp_error(S4, C4, u, 3, 3))
    t = Tcp(cap, C4, 40140, S4, 80)
    t.seg('c', 'S')
    syn = cap.pkts[-1][1]
    cap.add(icmp_error(R4, C4, syn, 11, 0))
    t = Tcp(cap, C4, 40141, S4, 80).handshake()
    t.seg('s', 'PA', b'y' * 600)
    big = cap.pkts[-1][1]
    cap.add(icmp_error(R4, S4, big, 3, 4, mtu=576))


@scenario('icmp-error-unknown')
def _(cap):
    # Errors quoting packets of flows the router never saw, and an echo
    # request quoted in an error.
    cap.add(icmp_error(S4, C4, udp(C4, 50060, S4, 33434), 3, 3))
    cap.add(icmp_error(R4, C4, Tcp(Capture(), C4, 40150, S4, 80).seg('c', 'S').cap.pkts[0][1], 11, 0))
    e = icmp_echo(C4, S4, 91, 1)
    cap.add(e).add(icmp_error(R4, C4, e, 11, 0))


def _icmp4(typ, code, rest):
    m = bytearray(struct.pack('>BBH', typ, code, 0) + rest)
    m[2:4] = struct.pack('>H', csum(bytes(m)))
    return bytes(m)


@scenario('icmp-edge')
def _(cap):
    # A second echo reply; an error quoting only 4 bytes of the UDP header;
    # timestamp request and reply; an echo request with code 1; an error
    # about an error; an error quoting the reply direction of a flow.
    cap.add(icmp_echo(C4, S4, 60, 1)).add(icmp_echo(S4, C4, 60, 1, reply=True))
    cap.add(icmp_echo(S4, C4, 60, 2, reply=True))
    u = udp(C4, 54200, S4, 53)
    cap.add(u).add(ip_packet(S4, C4, 1, _icmp4(3, 3, b'\0' * 4 + u[:24])))
    cap.add(ip_packet(C4, S4, 1, _icmp4(13, 0, struct.pack('>HH', 5, 1) + b'\0' * 12)))
    cap.add(ip_packet(S4, C4, 1, _icmp4(14, 0, struct.pack('>HH', 5, 1) + b'\0' * 12)))
    cap.add(ip_packet(C4, S4, 1, _icmp4(8, 1, struct.pack('>HH', 61, 1))))
    cap.add(icmp_error(R4, C4, icmp_error(S4, C4, u, 3, 3), 11, 0))
    cap.add(icmp_error(R4, S4, udp(S4, 53, C4, 54200), 3, 1))


@scenario('icmpv6-edge')
def _(cap):
    # Time exceeded for a SYN; router solicitation, MLD query, node
    # information query.
    Tcp(cap, C6, 44500, S6, 80).handshake()
    cap.add(icmp_error(R6, C6, cap.pkts[0][1], 3, 0))
    cap.add(icmp_echo(C6, S6, 70, 1)).add(icmp_echo(S6, C6, 70, 1, reply=True))
    cap.add(ip_packet(C6, S6, 58, struct.pack('>BBHI', 133, 0, 0, 0), 2, ttl=255))
    cap.add(ip_packet(C6, S6, 58, struct.pack('>BBHHH', 130, 0, 0, 0, 0) + b'\0' * 16, 2, ttl=1))
    cap.add(ip_packet(C6, S6, 58, struct.pack('>BBHHH', 139, 0, 0, 0, 0) + b'\0' * 8, 2))


# ---- Generic -------------------------------------------------------------

@scenario('generic')
def _(cap):
    # Protocols without a tracker of their own in either: 253 (experiment)
    # both ways, 89 (OSPF-like) one way.
    cap.add(raw_l4(C4, S4, 253, b'exp' * 4)).add(raw_l4(S4, C4, 253, b'pxe' * 4))
    cap.add(raw_l4(C4, S4, 253, b'again'))
    cap.add(raw_l4(C4, S4, 89, b'\x02\x01' + b'\0' * 22))


# ---- GRE ------------------------------------------------------------------

def gre0(key=None, inner=b'\x45' + b'\0' * 19):
    """Version 0 GRE carrying IPv4 (RFC 2784), with an RFC 2890 key if given."""
    if key is None:
        return struct.pack('>HH', 0, 0x0800) + inner
    return struct.pack('>HHI', 0x2000, 0x0800, key) + inner


def gre1(call_id, proto=0x880b, flags=0x2001, seq=None):
    """Version 1 ("enhanced", PPTP) GRE: key bit, PPP, payload length 0,
    the peer's call id; a sequence number if given."""
    if seq is not None:
        flags |= 0x1000
    h = struct.pack('>HHHH', flags, proto, 0, call_id)
    return h + (struct.pack('>I', seq) if seq is not None else b'')


def _gre_tunnels(cap, c, s):
    # A version 0 tunnel: a packet, its answer (still the short timeout),
    # then one more (the long one, ASSURED).
    cap.add(raw_l4(c, s, 47, gre0())).add(raw_l4(s, c, 47, gre0()))
    cap.add(raw_l4(c, s, 47, gre0()))
    # A PPTP call: each side names the other's call id, so without the PPTP
    # helper the two directions are two entries.
    cap.add(raw_l4(c, s, 47, gre1(0x5678, seq=1)))
    cap.add(raw_l4(s, c, 47, gre1(0x00ef, seq=1)))
    cap.add(raw_l4(c, s, 47, gre1(0x5678, seq=2)))


@scenario('gre')
def _(cap):
    _gre_tunnels(cap, C4, S4)
    # RFC 2890 keys are not part of a version 0 tuple: one entry for both.
    other = '10.2.0.3'
    cap.add(raw_l4(C4, other, 47, gre0(key=7))).add(raw_l4(C4, other, 47, gre0(key=8)))
    # Version 1 without the key bit still has its call id read; version 7
    # (reserved) is keyed like version 0; a 2-byte header is tracked.
    cap.add(raw_l4(C4, '10.2.0.4', 47, gre1(0xabcd, flags=0x0001)))
    cap.add(raw_l4(C4, '10.2.0.5', 47, gre1(0xabcd, flags=0x2007)))
    cap.add(raw_l4(C4, '10.2.0.6', 47, b'\0\0'))
    # Version 1 cut before its call id: keys 0, even when not PPP.
    cap.add(raw_l4(C4, '10.2.0.7', 47, struct.pack('>HH', 0x2001, 0x0800)))
    # Version 1 not carrying PPP: INVALID, on a tracked tuple as well.
    cap.add(raw_l4(C4, '10.2.0.8', 47, gre1(0x1111, proto=0x0800)))
    cap.add(raw_l4(C4, S4, 47, gre1(0x5678, proto=0x0800)))
    # Version 1 with call id 0 both ways inverts: one entry, ASSURED.
    cap.add(raw_l4(C4, '10.2.0.9', 47, gre1(0))).add(raw_l4('10.2.0.9', C4, 47, gre1(0)))
    cap.add(raw_l4(C4, '10.2.0.9', 47, gre1(0)))


@scenario('gre-ipv6')
def _(cap):
    _gre_tunnels(cap, C6, S6)


@scenario('gre-timeouts', '--sysctl', 'nf_conntrack_gre_timeout=2',
          '--sysctl', 'nf_conntrack_gre_timeout_stream=5')
def _(cap):
    # The two GRE sysctls: after 3 s the unreplied and the merely replied
    # entries are gone (a packet on either tuple makes a new entry), the
    # ASSURED one lives on.
    cap.add(raw_l4(C4, S4, 47, gre0()))
    cap.add(raw_l4(C4, '10.2.0.3', 47, gre0())).add(raw_l4('10.2.0.3', C4, 47, gre0()))
    cap.add(raw_l4(C4, '10.2.0.4', 47, gre0())).add(raw_l4('10.2.0.4', C4, 47, gre0()))
    cap.add(raw_l4(C4, '10.2.0.4', 47, gre0()))
    cap.add(raw_l4(C4, S4, 47, gre0()), 3.0)
    cap.add(raw_l4('10.2.0.3', C4, 47, gre0()))
    cap.add(raw_l4('10.2.0.4', C4, 47, gre0()))


# ---- Zones -----------------------------------------------------------------

@scenario('zones', '--zone-map', 'net:10.2.0.3=7', '--zone-map', 'net:10.2.0.4=8/original',
          '--zone-map', 'net:10.2.0.5=9/reply', '--zone-map', 'net:2001:db8:2::3/128=7')
def _(cap):
    # Flows to four servers: .3 in zone 7 both ways, .4 in zone 8 for the
    # original direction only, .5 in zone 9 for the reply direction only, .2
    # in the default zone; each answered, so every lookup must find its
    # entry in its zone. An ICMP error from zone 7 is RELATED to the flow it
    # quotes there; IPv6 flows in zone 7 too.
    for server in ('10.2.0.3', '10.2.0.4', '10.2.0.5', S4):
        Tcp(cap, C4, 44000, server, 80).handshake().exchange()
        cap.add(udp(C4, 54000, server, 53)).add(udp(server, 53, C4, 54000))
        cap.add(icmp_echo(C4, server, 21, 1)).add(icmp_echo(server, C4, 21, 1, reply=True))
    u = udp(C4, 54001, '10.2.0.3', 33434)
    cap.add(u).add(icmp_error('10.2.0.3', C4, u, 3, 3))
    t = Tcp(cap, C6, 44001, '2001:db8:2::3', 443).handshake()
    cap.add(udp(C6, 54002, '2001:db8:2::3', 53)).add(udp('2001:db8:2::3', 53, C6, 54002))


# ---- IPv6 -----------------------------------------------------------------

@scenario('ipv6')
def _(cap):
    t = Tcp(cap, C6, 41000, S6, 443).handshake().exchange()
    t.seg('c', 'FA').seg('s', 'FA').seg('c', 'A')
    Tcp(cap, C6, 41001, S6, 443).handshake().exchange()
    t = Tcp(cap, C6, 41002, S6, 444)
    t.seg('c', 'S').seg('s', 'RA', seq=0, ack=t.nxt['c'])
    cap.add(udp(C6, 51000, S6, 53)).add(udp(S6, 53, C6, 51000))
    cap.add(udp(C6, 51001, S6, 53))
    cap.add(icmp_echo(C6, S6, 5, 1)).add(icmp_echo(S6, C6, 5, 1, reply=True))
    u = udp(C6, 51002, S6, 33434)
    cap.add(u).add(icmp_error(S6, C6, u, 1, 4))  # port unreachable
    t = Tcp(cap, C6, 41003, S6, 443).handshake()
    t.seg('s', 'PA', b'z' * 1300)
    cap.add(icmp_error(R6, S6, cap.pkts[-1][1], 2, 0, mtu=1280))  # too big
    cap.add(icmp_error(S6, C6, udp(C6, 51003, S6, 9), 1, 4))  # unknown flow
    # Neighbour solicitation (unicast, hop limit 255): not tracked.
    ns = struct.pack('>BBHI', 135, 0, 0, 0) + ipaddress.ip_address(S6).packed
    cap.add(ip_packet(C6, S6, 58, ns, 2, ttl=255))
    cap.add(raw_l4(C6, S6, 253, b'generic over v6'))


# ---- Table full ------------------------------------------------------------

@scenario('full-assured', '--allow-global', '--sysctl', 'nf_conntrack_max=4')
def _(cap):
    # Four ASSURED connections fill the table: early drop finds no victim,
    # so every new flow is dropped while they last.
    conns = [Tcp(cap, C4, 42000 + i, S4, 80).handshake().exchange() for i in range(4)]
    Tcp(cap, C4, 42010, S4, 80).seg('c', 'S')
    cap.add(udp(C4, 52000, S4, 53))
    cap.add(icmp_echo(C4, S4, 9, 1))
    conns[0].seg('c', 'PA', b'old flow').seg('s', 'A')


@scenario('ipv6-ext-headers')
def _(cap):
    # A query behind a hop-by-hop header, its answer behind a destination
    # options header (conntrack walks the chain to UDP).
    for src, sp, dst, dp, nh in ((C6, 54100, S6, 53, 0), (S6, 53, C6, 54100, 60)):
        p = udp(src, sp, dst, dp)
        ext = struct.pack('>BB', 17, 0) + b'\x01\x04\0\0\0\0'  # PadN
        cap.add(struct.pack('>IHBB', 6 << 28, len(ext) + len(p) - 40, nh, 64) + p[8:40] + ext + p[40:])


# ---- Checksums ---------------------------------------------------------------

def _corrupt(pkt, off):
    """pkt with the byte at L4 offset `off` flipped (a bad L4 checksum)."""
    ihl = 40 if pkt[0] >> 4 == 6 else (pkt[0] & 15) * 4
    b = bytearray(pkt)
    b[ihl + off] ^= 0x5a
    return bytes(b)


def _checksums(cap):
    # A SYN, a UDP datagram, an echo request and an ICMPv6 echo with bad L4
    # checksums; a UDP datagram without one (IPv4 allows 0).
    t = Tcp(Capture(), C4, 43000, S4, 80).seg('c', 'S')
    cap.add(_corrupt(t.cap.pkts[0][1], 16))
    cap.add(_corrupt(udp(C4, 53000, S4, 53), 6))
    cap.add(_corrupt(icmp_echo(C4, S4, 12, 1), 2))
    cap.add(_corrupt(icmp_echo(C6, S6, 13, 1), 2))
    u = bytearray(udp(C4, 53001, S4, 53))
    u[26:28] = b'\0\0'
    cap.add(bytes(u))


@scenario('bad-checksum')
def _(cap):
    _checksums(cap)


@scenario('bad-checksum-unchecked', '--sysctl', 'nf_conntrack_checksum=0')
def _(cap):
    _checksums(cap)


# ---- Injection speed -------------------------------------------------------------

@scenario('speed', '--speed', '4')
def _(cap):
    # A 12 s gap replayed in 3 s (kernel-replay --speed 4): the kernel's
    # timers see 3 s go by; kernel-replay reports its timeouts in capture
    # time, so they agree with the engine's.
    cap.add(udp(C4, 53100, S4, 53))
    cap.add(udp(C4, 53101, S4, 53)).add(udp(S4, 53, C4, 53101))
    t = Tcp(cap, C4, 43100, S4, 80).handshake()
    cap.add(icmp_echo(C4, S4, 14, 1))
    cap.add(udp(C4, 53101, S4, 53), 12.0)
    t.seg('c', 'PA', b'after the gap').seg('s', 'A')


# ---- Fragments (reassembled before tracking) ---------------------------------

def _fragments(pkt, pieces, ident, data=None):
    """Fragments of the whole packet `pkt`: for each (from, to) range of
    what follows its IP header (to None: the end), in the order given; IPv6
    gets a fragment header with `ident`. `data`, if given, replaces the
    payload bytes (same length) of every fragment."""
    v6_ = pkt[0] >> 4 == 6
    hl = 40 if v6_ else 20
    body = pkt[hl:] if data is None else data
    out = []
    for a, b in pieces:
        b = len(body) if b is None else b
        part, more = body[a:b], b < len(body)
        h = bytearray(pkt[:hl])
        if v6_:
            fh = struct.pack('>BBHI', h[6], 0, (a // 8) << 3 | more, ident)
            h[4:6] = struct.pack('>H', 8 + len(part))
            h[6] = 44
            out.append(bytes(h) + fh + part)
        else:
            h[2:4] = struct.pack('>H', 20 + len(part))
            h[4:6] = struct.pack('>H', ident)
            h[6:8] = struct.pack('>H', (0x2000 if more else 0) | a // 8)
            h[10:12] = b'\0\0'
            h[10:12] = struct.pack('>H', csum(bytes(h)))
            out.append(bytes(h) + part)
    return out


_THIRDS = [(0, 488), (488, 976), (976, None)]


def _big_udp(src, sport, dst, dport):
    return udp(src, sport, dst, dport, bytes((i * 7 + 3) & 0xff for i in range(1200)))


def _frag_both_ways(cap, c, s, ident):
    # A 1200-byte query in three fragments, its short answer, a second
    # query: the datagram is tracked once, on its last fragment, with its
    # full length (accounting on).
    for f in _fragments(_big_udp(c, 5000, s, 53), _THIRDS, ident):
        cap.add(f)
    cap.add(udp(s, 53, c, 5000))
    for f in _fragments(_big_udp(c, 5000, s, 53), _THIRDS, ident + 1):
        cap.add(f)
    # An echo request in fragments.
    m = bytearray(struct.pack('>BBHHH', 128 if v6(c) else 8, 0, 0, 77, 1) + b'p' * 1200)
    if not v6(c):
        m[2:4] = struct.pack('>H', csum(bytes(m)))
        echo = ip_packet(c, s, 1, bytes(m))
    else:
        echo = ip_packet(c, s, 58, bytes(m), 2)
    for f in _fragments(echo, _THIRDS, ident + 2):
        cap.add(f)


@scenario('frag-udp4', '--sysctl', 'nf_conntrack_acct=1')
def _(cap):
    _frag_both_ways(cap, C4, S4, 0x100)
    # A TCP segment in fragments, after the handshake.
    t = Tcp(Capture(), C4, 44000, S4, 80).handshake().seg('c', 'PA', bytes(1200))
    for _, p in t.cap.pkts[:3]:
        cap.add(p)
    for f in _fragments(t.cap.pkts[3][1], _THIRDS, 0x110):
        cap.add(f)


@scenario('frag-udp6', '--sysctl', 'nf_conntrack_acct=1')
def _(cap):
    _frag_both_ways(cap, C6, S6, 0x100)


@scenario('frag-reorder')
def _(cap):
    # Last, first, middle; middle, last, first; two datagrams interleaved;
    # duplicates (first and last sent twice).
    fs = _fragments(_big_udp(C4, 5001, S4, 53), _THIRDS, 0x200)
    for i in (2, 0, 1):
        cap.add(fs[i])
    fs = _fragments(_big_udp(C6, 5001, S6, 53), _THIRDS, 0x200)
    for i in (1, 2, 0):
        cap.add(fs[i])
    a = _fragments(_big_udp(C4, 5003, S4, 53), _THIRDS, 0x201)
    b = _fragments(_big_udp(C4, 5004, S4, 53), _THIRDS, 0x202)
    for x, y in zip(a, b):
        cap.add(x).add(y)
    for fam_c, fam_s in ((C4, S4), (C6, S6)):
        fs = _fragments(_big_udp(fam_c, 5020, fam_s, 53), _THIRDS, 0x203)
        for i in (0, 0, 1, 2, 2):
            cap.add(fs[i])


@scenario('frag-incomplete')
def _(cap):
    # Datagrams whose last or first fragment never comes: never tracked.
    for c, s in ((C4, S4), (C6, S6)):
        fs = _fragments(_big_udp(c, 5010, s, 53), _THIRDS, 0x300)
        cap.add(fs[0]).add(fs[1])
        fs = _fragments(_big_udp(c, 5011, s, 53), _THIRDS, 0x301)
        cap.add(fs[1]).add(fs[2])
        cap.add(udp(c, 5012, s, 53))


@scenario('frag-overlap')
def _(cap):
    # A partial overlap gives the whole datagram up (IPv4 and IPv6); a
    # fragment inside one held fragment, or inside a run held in order, is
    # a duplicate; across two runs held out of order it is an overlap; a
    # superset overlaps; a second last fragment with another end gives the
    # datagram up. A short datagram after each marks the place.
    for c, s in ((C4, S4), (C6, S6)):
        p = _big_udp(c, 5030, s, 53)
        for f in _fragments(p, [(0, 488), (400, 976), (976, None)], 0x400):
            cap.add(f)
        cap.add(udp(c, 5035, s, 53))
        p = _big_udp(c, 5031, s, 53)
        for f in _fragments(p, [(0, 488), (8, 480), (488, 976), (976, None)], 0x401):
            cap.add(f)
        p = _big_udp(c, 5032, s, 53)
        for f in _fragments(p, [(0, 488), (488, 976), (400, 600), (976, None)], 0x402):
            cap.add(f)
        p = _big_udp(c, 5033, s, 53)
        for f in _fragments(p, [(488, 976), (0, 488), (400, 600), (976, None)], 0x403):
            cap.add(f)
        cap.add(udp(c, 5036, s, 53))
        p = _big_udp(c, 5034, s, 53)
        for f in _fragments(p, [(0, 488), (0, 976), (976, None)], 0x404):
            cap.add(f)
        cap.add(udp(c, 5037, s, 53))
    p = _big_udp(C4, 5038, S4, 53)
    fs = _fragments(p, [(0, 488), (976, None), (488, 976)], 0x405)
    cap.add(fs[0]).add(fs[1])
    last = bytearray(fs[1][:100])
    last[2:4] = struct.pack('>H', 100)
    last[10:12] = b'\0\0'
    last[10:12] = struct.pack('>H', csum(bytes(last[:20])))
    cap.add(bytes(last)).add(fs[2])
    cap.add(udp(C4, 5039, S4, 53))


@scenario('frag-timeout', '--sysctl', 'nf_conntrack_frag6_timeout=2')
def _(cap):
    # nf_conntrack_frag6_timeout=2: an IPv6 datagram whose fragments come
    # 1.5 s apart times out from its first fragment; IPv4's 30 s does not.
    a = _fragments(_big_udp(C4, 5060, S4, 53), _THIRDS, 0x500)
    b = _fragments(_big_udp(C6, 5060, S6, 53), _THIRDS, 0x500)
    cap.add(a[0]).add(b[0])
    cap.add(a[1], 1.5).add(b[1])
    cap.add(a[2], 1.5).add(b[2])


@scenario('frag-memory', '--sysctl', 'nf_conntrack_frag6_low_thresh=10000',
          '--sysctl', 'nf_conntrack_frag6_high_thresh=30000')
def _(cap):
    # IPv6 reassembly over a 30000-byte budget: an early datagram's first
    # two thirds, 20 datagrams whose second half never comes, then the
    # early one's last third and a new datagram: once the charge passes
    # the threshold every fragment is refused, the completing ones too.
    e = _fragments(_big_udp(C6, 5050, S6, 53), _THIRDS, 0x600)
    cap.add(e[0]).add(e[1])
    for i in range(20):
        p = udp(C6, 7000 + i, S6, 53, bytes(2960))
        cap.add(_fragments(p, [(0, 1480)], 0x700 + i)[0])
    cap.add(e[2])
    for f in _fragments(_big_udp(C6, 5051, S6, 53), _THIRDS, 0x601):
        cap.add(f)
    cap.add(udp(C6, 5052, S6, 53))
# ---- SCTP --------------------------------------------------------------------

def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(b):
    c = 0xffffffff
    for x in b:
        c = _CRC32C[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


def chunk(typ, flags=0, value=b''):
    c = struct.pack('>BBH', typ, flags, 4 + len(value)) + value
    return c + b'\0' * (-len(c) % 4)


def sctp_init(tag, typ=1):
    return chunk(typ, 0, struct.pack('>IIHHI', tag, 65536, 10, 10, 1))


SCTP_DATA = chunk(0, 3, struct.pack('>IHHI', 1, 0, 0, 0) + b'payload!')
SCTP_SACK = chunk(3, 0, struct.pack('>IIHH', 1, 65536, 0, 0))
SCTP_HB = chunk(4, 0, struct.pack('>HH', 1, 12) + b'hbinfo12')
SCTP_HB_ACK = chunk(5, 0, struct.pack('>HH', 1, 12) + b'hbinfo12')
SCTP_SHUTDOWN = chunk(7, 0, struct.pack('>I', 1))
SCTP_SHUTDOWN_ACK = chunk(8)
SCTP_COOKIE_ECHO = chunk(10, 0, b'cookie12')
SCTP_COOKIE_ACK = chunk(11)


def sctp_abort(t=False):
    return chunk(6, 1 if t else 0)


def sctp_shutdown_complete(t=False):
    return chunk(14, 1 if t else 0)


def sctp(src, sport, dst, dport, vtag, chunks, bad_crc=False):
    """An SCTP packet; its CRC32c goes least significant byte first."""
    l4 = struct.pack('>HHII', sport, dport, vtag, 0) + b''.join(chunks)
    c = crc32c(l4) ^ (0x1234 if bad_crc else 0)
    return ip_packet(src, dst, 132, l4[:8] + struct.pack('<I', c) + l4[12:])


class Sctp:
    """One association: the client's tag is what the server's packets carry,
    and the other way round."""

    def __init__(self, cap, c, cport, s, sport, tc=0x11111111, ts=0x22222222):
        self.cap, self.c, self.cport, self.s, self.sport = cap, c, cport, s, sport
        self.tc, self.ts = tc, ts

    def send(self, side, chunks, vtag=None, gap=0.001, bad_crc=False):
        if side == 'c':
            p = sctp(self.c, self.cport, self.s, self.sport,
                     self.ts if vtag is None else vtag, chunks, bad_crc)
        else:
            p = sctp(self.s, self.sport, self.c, self.cport,
                     self.tc if vtag is None else vtag, chunks, bad_crc)
        self.cap.add(p, gap)
        return self

    def handshake(self):
        self.send('c', [sctp_init(self.tc)], vtag=0)
        self.send('s', [sctp_init(self.ts, 2)])
        return self.send('c', [SCTP_COOKIE_ECHO]).send('s', [SCTP_COOKIE_ACK])


def _sctp_association(cap, c, s):
    # A whole association: handshake, data, heartbeats both ways, shutdown
    # from the client. Then one left ESTABLISHED, one shut down by the
    # server, one half-way through the handshake, one unanswered INIT.
    a = Sctp(cap, c, 6001, s, 7000).handshake()
    a.send('c', [SCTP_DATA]).send('s', [SCTP_SACK])
    a.send('c', [SCTP_HB]).send('s', [SCTP_HB_ACK])
    a.send('s', [SCTP_HB]).send('c', [SCTP_HB_ACK])
    a.send('s', [SCTP_DATA, SCTP_SACK]).send('c', [SCTP_SACK])
    a.send('c', [SCTP_SHUTDOWN]).send('s', [SCTP_SHUTDOWN_ACK])
    a.send('c', [sctp_shutdown_complete()])
    Sctp(cap, c, 6002, s, 7000).handshake().send('c', [SCTP_DATA]).send('s', [SCTP_SACK])
    b = Sctp(cap, c, 6003, s, 7000).handshake()
    b.send('s', [SCTP_SHUTDOWN]).send('c', [SCTP_SHUTDOWN_ACK])
    d = Sctp(cap, c, 6004, s, 7000)
    d.send('c', [sctp_init(d.tc)], vtag=0).send('s', [sctp_init(d.ts, 2)])
    e = Sctp(cap, c, 6005, s, 7000)
    e.send('c', [sctp_init(e.tc)], vtag=0)
    e.send('c', [sctp_init(e.tc)], vtag=0, gap=1.0)  # retransmitted: no refresh


@scenario('sctp-association')
def _(cap):
    _sctp_association(cap, C4, S4)


@scenario('sctp-abort')
def _(cap):
    # ABORT from each side, with and without the T bit (the reflected tag),
    # with a wrong tag (refused), during the handshake; and packets that
    # cannot start an entry: ABORT, COOKIE-ACK, SHUTDOWN-COMPLETE, DATA.
    a = Sctp(cap, C4, 6101, S4, 7000).handshake()
    a.send('c', [sctp_abort()], vtag=0xdeadbeef).send('s', [sctp_abort()])
    b = Sctp(cap, C4, 6102, S4, 7000).handshake()
    b.send('c', [sctp_abort(True)], vtag=b.ts).send('c', [sctp_abort(True)], vtag=b.tc)
    d = Sctp(cap, C4, 6103, S4, 7000)
    d.send('c', [sctp_init(d.tc)], vtag=0).send('s', [sctp_init(d.ts, 2)])
    d.send('c', [sctp_abort()])
    e = Sctp(cap, C4, 6104, S4, 7000).handshake()
    e.send('c', [SCTP_DATA, sctp_abort()])
    for port, ch in ((6105, sctp_abort()), (6106, SCTP_COOKIE_ACK),
                     (6107, sctp_shutdown_complete()), (6108, SCTP_DATA)):
        Sctp(cap, C4, port, S4, 7000).send('c', [ch], vtag=0)


def _sctp_invalid(cap):
    # Wrong tags and bad CRCs on an association; malformed chunk layouts;
    # a header too short; a SHUTDOWN that starts an entry only with tag 0.
    a = Sctp(cap, C4, 6201, S4, 7000).handshake()
    a.send('c', [SCTP_DATA], vtag=0xdeadbeef).send('s', [SCTP_DATA], vtag=a.ts)
    a.send('c', [SCTP_DATA], bad_crc=True).send('s', [SCTP_SACK], bad_crc=True)
    a.send('c', [SCTP_COOKIE_ECHO], vtag=7).send('c', [SCTP_DATA, SCTP_COOKIE_ECHO])
    a.send('c', [SCTP_DATA, b'\0\0\0\0']).send('c', [])
    a.send('c', [SCTP_SHUTDOWN_ACK], vtag=0xdeadbeef)
    a.send('s', [sctp_init(a.ts, 2)], vtag=a.tc)
    a.send('c', [SCTP_DATA])
    b = Sctp(cap, C4, 6202, S4, 7000)
    b.send('c', [sctp_init(b.tc)], vtag=0, bad_crc=True)
    b.send('c', [sctp_init(b.tc), SCTP_DATA], vtag=0)
    b.send('c', [chunk(1, 0, b'\0\0\0\1')], vtag=0)
    b.send('c', [sctp_init(b.tc)], vtag=5)
    b.send('c', [sctp_init(b.tc)], vtag=0)
    b.send('s', [sctp_init(b.ts, 2)], vtag=0xdeadbeef)
    cap.add(ip_packet(C4, S4, 132, struct.pack('>HHI', 6203, 7000, 0)))
    Sctp(cap, C4, 6204, S4, 7000).send('c', [SCTP_SHUTDOWN], vtag=0x22222222)
    Sctp(cap, C4, 6205, S4, 7000).send('c', [SCTP_SHUTDOWN], vtag=0)
    f = Sctp(cap, C4, 6206, S4, 7000)
    f.send('c', [SCTP_SHUTDOWN_ACK]).send('s', [sctp_shutdown_complete()])
    f.send('s', [sctp_shutdown_complete()], vtag=f.ts)


@scenario('sctp-invalid')
def _(cap):
    _sctp_invalid(cap)


@scenario('sctp-unchecked', '--sysctl', 'nf_conntrack_checksum=0')
def _(cap):
    _sctp_invalid(cap)


@scenario('sctp-heartbeat')
def _(cap):
    # An entry started by a HEARTBEAT (HEARTBEAT_SENT), answered; one never
    # answered; a HEARTBEAT with a new tag on an association (let through
    # without a refresh), its HEARTBEAT-ACK with a new tag replacing the
    # tags, and the old tags refused after it.
    a = Sctp(cap, C4, 6301, S4, 7000)
    a.send('c', [SCTP_HB]).send('c', [SCTP_DATA]).send('s', [SCTP_SACK])
    a.send('s', [SCTP_HB_ACK]).send('s', [SCTP_SACK])
    Sctp(cap, C4, 6302, S4, 7000).send('c', [SCTP_HB])
    b = Sctp(cap, C4, 6303, S4, 7000).handshake()
    b.send('c', [SCTP_HB], vtag=0x33333333, gap=1.0)
    b.send('c', [SCTP_HB, SCTP_DATA], vtag=0x33333333)
    b.send('s', [SCTP_HB_ACK], vtag=0x44444444)
    b.send('s', [SCTP_DATA], vtag=0x44444444).send('s', [SCTP_DATA])
    b.send('c', [SCTP_DATA]).send('c', [SCTP_HB], vtag=0x33333333)
    b.send('c', [SCTP_DATA], vtag=0x33333333)
    c = Sctp(cap, C4, 6304, S4, 7000).handshake()
    c.send('s', [SCTP_HB_ACK], vtag=0x55555555)


@scenario('sctp-chunk-mix')
def _(cap):
    # Sixty associations given random packets: one to three chunks of any
    # kind, tags mostly right, sometimes 0, the other side's or unknown,
    # now and then a bad CRC (a fixed seed: the same bytes every run).
    import random
    rnd = random.Random(15)
    kinds = [lambda t: sctp_init(t), lambda t: sctp_init(t, 2), lambda t: sctp_abort(),
             lambda t: sctp_abort(True), lambda t: SCTP_SHUTDOWN, lambda t: SCTP_SHUTDOWN_ACK,
             lambda t: chunk(9, 0, struct.pack('>HH', 1, 8) + b'\0' * 4),
             lambda t: SCTP_COOKIE_ECHO, lambda t: SCTP_COOKIE_ACK,
             lambda t: sctp_shutdown_complete(), lambda t: sctp_shutdown_complete(True),
             lambda t: SCTP_HB, lambda t: SCTP_HB_ACK, lambda t: SCTP_DATA, lambda t: SCTP_SACK,
             lambda t: chunk(15, 0, b'\0' * 8)]
    for i in range(60):
        a = Sctp(cap, C4, 6500 + i, S4, 7000)
        if rnd.random() < 0.5:
            a.handshake()
        for _ in range(rnd.randint(1, 5)):
            side = 'c' if rnd.random() < 0.55 else 's'
            own, right, other = ((a.tc, a.ts, a.tc) if side == 'c' else (a.ts, a.tc, a.ts))
            chs = [rnd.choice(kinds)(own if rnd.random() < 0.7 else 0x77777777)
                   for _ in range(1 if rnd.random() < 0.75 else rnd.randint(2, 3))]
            r = rnd.random()
            vt = right if r < 0.6 else 0 if r < 0.8 else other if r < 0.9 else 0x33333333
            a.send(side, chs, vtag=vt, bad_crc=rnd.random() < 0.03)


@scenario('sctp-ipv6')
def _(cap):
    _sctp_association(cap, C6, S6)
    a = Sctp(cap, C6, 6401, S6, 7000)
    a.send('c', [SCTP_HB]).send('s', [SCTP_HB_ACK])
    Sctp(cap, C6, 6402, S6, 7000).send('c', [sctp_init(1)], vtag=0, bad_crc=True)
    Sctp(cap, C6, 6403, S6, 7000).handshake().send('c', [SCTP_DATA], vtag=9)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, (fn, args) in SCENARIOS.items():
        _ident[0] = 0  # each capture's bytes independent of the others
        cap = Capture()
        fn(cap)
        cap.write(os.path.join(out, f's-{name}.pcap'))
        with open(os.path.join(out, f's-{name}.args'), 'w') as f:
            f.write(''.join(a + '\n' for a in args) or '\n')


if __name__ == '__main__':
    main()
