#!/usr/bin/env python3
"""ctkit against the kernel that tracked a capture taken on an end host.

  check.py CTKIT [--verbose]

Replays tests/field/endhost.pcap (recorded by record.sh: tcpdump on the end
host itself, checksum offload on) with `ctkit replay` and compares it with
what the end host's own kernel recorded in endhost.kernel.txt:

- the table: every entry's protocol, original and reply tuples, TCP state,
  ASSURED and UNREPLIED must be equal, entry for entry. Timeouts: the
  kernel's were read at wall-clock time after the capture ended (between
  the two `read_between` times), ctkit's at the last packet; so the
  kernel's must equal ctkit's minus that gap, within 1 s either way for the
  whole-second truncation on both sides.
- the verdicts: per `ct state`, the kernel's nftables counters (input and
  output hooks of the end host) against ctkit's verdict counts, for NEW,
  ESTABLISHED, RELATED and INVALID. UNTRACKED is not compared: those hooks
  miss ICMPv6 the end host receives but does not deliver (a router
  solicitation to all-routers) and count MLD reports that pass the output
  hook without reaching the wire.
- no packet is INVALID for a checksum reason, and ctkit's count of offload
  checksums equals the number of TCP/UDP packets whose checksum field
  holds the folded pseudo-header sum, counted here independently.

Prints the comparison; exits 1 on any disagreement.
"""
import json, os, struct, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
ctkit = sys.argv[1]
verbose = '--verbose' in sys.argv
pcap = os.path.join(here, 'endhost.pcap')
kernel_file = os.path.join(here, 'endhost.kernel.txt')
failures = []


def parse_entry(line):
    """A `conntrack -L` line -> (key, fields)."""
    w = line.split()
    proto = w[0]
    timeout = int(w[2])
    i = 3
    state = None
    if '=' not in w[i] and not w[i].startswith('['):
        state = w[i]
        i += 1
    tuples, cur, flags = [], {}, set()
    for tok in w[i:]:
        if tok.startswith('['):
            flags.add(tok.strip('[]'))
            continue
        k, _, v = tok.partition('=')
        if k in ('mark', 'use', 'zone', 'secctx'):
            continue
        if k == 'src' and cur:
            tuples.append(cur)
            cur = {}
        cur[k] = v
    tuples.append(cur)
    orig = tuple(sorted(tuples[0].items()))
    reply = tuple(sorted(tuples[1].items())) if len(tuples) > 1 else ()
    return (proto, orig), {'reply': reply, 'state': state, 'timeout': timeout,
                           'assured': 'ASSURED' in flags,
                           'unreplied': 'UNREPLIED' in flags}


# The kernel's record.
kernel, read_between, ct_state = {}, None, {}
kernel_lines = {}
for line in open(kernel_file):
    line = line.rstrip('\n')
    if line.startswith('# read_between'):
        read_between = [float(x) for x in line.split()[2:4]]
    elif line.startswith('# ct_state'):
        for kv in line.split()[3:]:
            k, _, v = kv.partition('=')
            ct_state[k] = ct_state.get(k, 0) + int(v)
    elif line and not line.startswith('#'):
        key, f = parse_entry(line)
        kernel[key] = f
        kernel_lines[key] = line
if read_between is None or not kernel:
    sys.exit(f'{kernel_file}: no read_between line or no entries')

# ctkit's result.
dump = subprocess.run([ctkit, 'replay', pcap, '--dump', '--no-progress'],
                      capture_output=True, text=True, check=True).stdout
report = json.loads(subprocess.run(
    [ctkit, 'replay', pcap, '--json', '--no-progress'],
    capture_output=True, text=True, check=True).stdout)
ours, our_lines = {}, {}
for line in dump.splitlines():
    key, f = parse_entry(line)
    ours[key] = f
    our_lines[key] = line


# The capture, read here (classic pcap, Ethernet): the last timestamp, and
# the TCP/UDP packets whose checksum is a transmit-offload partial one.
def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def sum16(b):
    if len(b) % 2:
        b += b'\0'
    return sum(struct.unpack(f'>{len(b) // 2}H', b))


data = open(pcap, 'rb').read()
if struct.unpack('<I', data[:4])[0] != 0xa1b2c3d4 or \
        struct.unpack('<I', data[20:24])[0] != 1:
    sys.exit(f'{pcap}: expected a microsecond little-endian Ethernet pcap')
off, last_ts, partial = 24, 0.0, 0
while off < len(data):
    sec, usec, incl, _ = struct.unpack('<IIII', data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    last_ts = max(last_ts, sec + usec * 1e-6)
    ethertype = struct.unpack('>H', frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800:
        ihl = (ip[0] & 15) * 4
        proto, src, dst = ip[9], ip[12:16], ip[16:20]
        l4 = ip[ihl:struct.unpack('>H', ip[2:4])[0]]
    elif ethertype == 0x86dd:
        proto, src, dst = ip[6], ip[8:24], ip[24:40]
        l4 = ip[40:40 + struct.unpack('>H', ip[4:6])[0]]
    else:
        continue
    if proto == 6:
        length, field = len(l4), struct.unpack('>H', l4[16:18])[0]
    elif proto == 17:
        length, field = struct.unpack('>H', l4[4:6])[0], \
            struct.unpack('>H', l4[6:8])[0]
    else:
        continue
    pseudo = sum16(src) + sum16(dst) + proto + length
    if fold(pseudo + sum16(l4[:length])) != 0xffff and field == fold(pseudo):
        partial += 1

# The table.
gap_lo = read_between[0] - last_ts
gap_hi = read_between[1] - last_ts
agree = 0
print(f'end-host table: kernel {len(kernel)} entries, ctkit {len(ours)}; '
      f'kernel read {gap_lo:.3f}..{gap_hi:.3f} s after the last packet')
for key in sorted(set(kernel) | set(ours)):
    k, o = kernel.get(key), ours.get(key)
    why = []
    if k is None:
        why.append('only in ctkit')
    elif o is None:
        why.append('only in the kernel')
    else:
        for field in ('reply', 'state', 'assured', 'unreplied'):
            if k[field] != o[field]:
                why.append(f'{field}: kernel {k[field]}, ctkit {o[field]}')
        # ctkit's timeout at the last packet, less the time until the read.
        lo, hi = o['timeout'] - gap_hi - 1, o['timeout'] - gap_lo + 1
        if not lo <= k['timeout'] <= hi:
            why.append(f'timeout: kernel {k["timeout"]}, ctkit {o["timeout"]} '
                       f'(expected the kernel in [{lo:.1f}, {hi:.1f}])')
    if why:
        failures.append('; '.join(why))
    else:
        agree += 1
    if why or verbose:
        print(f'  kernel: {kernel_lines.get(key, "-")}')
        print(f'  ctkit:  {our_lines.get(key, "-")}')
        print(f'  -> {"; ".join(why) if why else "agree"}')
print(f'entries agreeing: {agree} of {len(set(kernel) | set(ours))}')

# Verdicts against the end host's ct state counters.
verdicts = report['packets']['verdicts']
for state in ('new', 'established', 'related', 'invalid'):
    k, o = ct_state.get(state, 0), verdicts[state.upper()]
    print(f'ct state {state}: kernel {k}, ctkit {o}')
    if k != o:
        failures.append(f'ct state {state}: kernel {k}, ctkit {o}')

# Checksums.
invalid = report['packets']['invalid']
bad = {r: n for r, n in invalid.items() if r.endswith('-checksum')}
if bad:
    failures.append(f'INVALID for a checksum reason: {bad}')
offload = report['packets'].get('offload_checksums')
print(f'offload checksums: ctkit {offload}, counted here {partial}')
if offload != partial or partial == 0:
    failures.append(f'offload checksums: ctkit {offload}, capture {partial}')

for f in failures:
    print('FAIL:', f)
sys.exit(1 if failures else 0)
