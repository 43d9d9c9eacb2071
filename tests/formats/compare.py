#!/usr/bin/env python3
"""ctkit's conntrack-tools formats against what conntrack-tools printed.

    compare.py CTKIT DIR NAME...    the recordings DIR/NAME.* (record.sh)
    compare.py CTKIT --live         record one now (root; exit 77 otherwise)

For each recording, `ctkit replay NAME.pcap` with NAME.args must print:
  --events                     NAME.E.txt (conntrack -E) byte for byte,
                               except that an event's timeout may be one
                               second lower in the tool's (see same_event);
  --events --events-timestamp  NAME.E-timestamp.txt (conntrack -E -o
                               timestamp) byte for byte after the
                               "[SECONDS.MICROS]\\t" prefix, which must have
                               the tool's layout and a time within a bound of
                               the tool's: the tool prints when it received
                               the event, ctkit the capture time of the
                               packet behind it;
  --dump                       NAME.L.txt (conntrack -L) as a set of lines
                               (the order follows each side's hash), byte for
                               byte except the numbers that run with wall
                               time: -L ran at NAME.L-time, after the last
                               packet, when ctkit dumps; the timeout and
                               delta-time= must differ by that gap (+-1 s),
                               and an entry that expired in the gap may be
                               missing;
  the summary                  NAME.S.txt (conntrack -S, one line per CPU)
                               summed into one cpu=0 line in the tool's
                               layout, and an INVALID count that is the
                               tool's invalid + error.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TS = re.compile(r'^\[(\d{8,})\.(\d{6})\]\t(.*)$')
STATS_KEYS = ['found', 'invalid', 'insert', 'insert_failed', 'drop',
              'early_drop', 'error', 'search_restart', 'clash_resolve',
              'chaintoolong']


def run(ctkit, pcap, args, extra, errors):
    r = subprocess.run([ctkit, 'replay', pcap, '--threads', '1',
                        '--no-progress'] + args + extra,
                       capture_output=True, text=True)
    if r.returncode != 0:
        errors.append(f'ctkit replay {pcap} {" ".join(extra)} failed '
                      f'({r.returncode}): {r.stderr.strip()}')
    return r.stdout


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


# An event's timeout field: "[NEW] udp      17 30 src=..." (type, protocol
# name, number, seconds left).
EVENT_TIMEOUT = re.compile(r'^( *\[[A-Z]+\] +\S+ +\d+ )(\d+)( .*)$')


def same_event(want, got):
    """conntrack's event line against ctkit's. The kernel sets an entry's
    timeout and then builds the event, which prints the seconds left rounded
    down: when a jiffy passes in between, a fresh 30 s timeout shows as 29.
    ctkit, on a virtual clock, always shows 30; that one second, and only
    that, is allowed."""
    if want == got:
        return True
    w, g = EVENT_TIMEOUT.match(want), EVENT_TIMEOUT.match(got)
    return bool(w and g and w.group(1) == g.group(1) and
                w.group(3) == g.group(3) and
                int(w.group(2)) == int(g.group(2)) - 1)


def same_events(want, got):
    a, b = want.splitlines(), got.splitlines()
    return (len(a) == len(b) and want.endswith('\n') == got.endswith('\n')
            and all(same_event(x, y) for x, y in zip(a, b)))


def first_diff(name, want, got, same=str.__eq__):
    a, b = want.splitlines(), got.splitlines()
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else '<missing>'
        y = b[i] if i < len(b) else '<missing>'
        if not same(x, y):
            return (f'{name}: line {i + 1} differs\n'
                    f'  conntrack: {x!r}\n  ctkit:     {y!r}')
    return f'{name}: differs (line ends?)'


def split_timestamps(text, name, errors):
    stamps, lines = [], []
    for i, line in enumerate(text.splitlines()):
        m = TS.match(line)
        if not m:
            errors.append(f'{name}: line {i + 1} has no [SECONDS.MICROS]\\t '
                          f'prefix: {line!r}')
            continue
        stamps.append(int(m.group(1)) + int(m.group(2)) * 1e-6)
        lines.append(m.group(3))
    return stamps, lines


def last_packet_time(pcap):
    """The timestamp of the last record of a pcap file, in seconds."""
    with open(pcap, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        raise SystemExit(f'{pcap}: not a pcap file')
    frac = 1e-9 if magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d') \
        else 1e-6
    off, last = 24, None
    while off + 16 <= len(data):
        sec, sub, incl, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        if off + 16 + incl > len(data):
            break  # a record cut short when the writer was stopped
        last = sec + sub * frac
        off += 16 + incl
    return last


# The numbers of a -L line that depend on when it was taken.
WALL = re.compile(r'^(\S+ +\d+ )(\d+)( .*?)(?:delta-time=(\d+) )?(use=\d+)$')


def wall_split(line):
    m = WALL.match(line)
    if not m:
        return line, None, None
    key = m.group(1) + 'T' + m.group(3) + (
        'delta-time=D ' if m.group(4) is not None else '') + m.group(5)
    delta = int(m.group(4)) if m.group(4) is not None else None
    return key, int(m.group(2)), delta


def compare(ctkit, d, name, tolerance):
    errors = []
    pcap = os.path.join(d, name + '.pcap')
    args = read(os.path.join(d, name + '.args')).split()

    last = last_packet_time(pcap)
    want_ts = read(os.path.join(d, name + '.E-timestamp.txt'))
    ws, wl = split_timestamps(want_ts, name + ' conntrack -o timestamp',
                              errors)
    # Events conntrack received after the capture ended (the kernel's GC
    # reaping an entry while a loaded machine was slow to stop the
    # listeners) have no packet in the capture: leave them out.
    late = sum(1 for t in ws if t > last + tolerance)
    if late and all(t > last + tolerance for t in ws[len(ws) - late:]):
        print(f'{name}: {late} event(s) after the last packet left out')
        ws, wl = ws[:len(ws) - late], wl[:len(wl) - late]
    else:
        late = 0

    want = read(os.path.join(d, name + '.E.txt'))
    if late:
        want = ''.join(want.splitlines(keepends=True)[:-late])
    got = run(ctkit, pcap, args, ['--events'], errors)
    if not same_events(want, got):
        errors.append(first_diff(name + ' --events', want, got, same_event))

    got_ts = run(ctkit, pcap, args, ['--events', '--events-timestamp'],
                 errors)
    gs, gl = split_timestamps(got_ts, name + ' ctkit --events-timestamp',
                              errors)
    if not same_events('\n'.join(wl), '\n'.join(gl)):
        errors.append(first_diff(name + ' --events-timestamp (lines)',
                                 '\n'.join(wl), '\n'.join(gl), same_event))
    else:
        for i, (w, g, line) in enumerate(zip(ws, gs, wl)):
            # An expired entry's DESTROY (no timeout field) comes from the
            # kernel's GC whenever it passes, at the latest with the packet
            # that finds it: allow the flow's idle gap.
            bound = tolerance
            if line.startswith('[DESTROY]') and not re.match(
                    r'\[DESTROY\] \S+ +\d+ \d+ ', line):
                bound = 5.0
            if abs(w - g) > bound:
                errors.append(f'{name} --events-timestamp line {i + 1}: '
                              f'conntrack {w:.6f}, ctkit {g:.6f} '
                              f'(more than {bound} s apart)')

    # -L ran `gap` seconds after the last packet, at which ctkit dumps:
    # its timeouts are that much lower and its delta-times that much
    # higher, each within a second (both sides show whole seconds).
    gap = float(read(os.path.join(d, name + '.L-time'))) - last
    if gap < 0:
        errors.append(f'{name}.L-time is before the last packet')
    got_l = {}
    for x in run(ctkit, pcap, args, ['--dump'], errors).splitlines():
        k, t, dt = wall_split(x)
        got_l[k] = (t, dt)
    want_l = {}
    for x in read(os.path.join(d, name + '.L.txt')).splitlines():
        k, t, dt = wall_split(x)
        # An entry in its last second may be held by the GC reaping it as
        # -L passes: use=2.
        if t == 0 and k not in got_l:
            k = re.sub(r'use=\d+$', 'use=1', k)
        want_l[k] = (t, dt)
    for k in sorted(set(want_l) | set(got_l)):
        if k not in got_l:
            errors.append(f'{name} --dump: conntrack -L has {k}, ctkit not')
            continue
        gt, gdt = got_l[k]
        if k not in want_l:
            if gt is None or gt > gap + 1:
                errors.append(f'{name} --dump: ctkit has {k}, conntrack -L '
                              f'not')
            continue
        wt, wdt = want_l[k]
        if wt is not None and abs(gt - wt - gap) > 1.01:
            errors.append(f'{name} --dump: timeout {gt}, conntrack -L {wt} '
                          f'{gap:.2f} s later: {k}')
        if wdt is not None and abs(wdt - gdt - gap) > 1.01:
            errors.append(f'{name} --dump: delta-time {gdt}, conntrack -L '
                          f'{wdt} {gap:.2f} s later: {k}')

    want_s = read(os.path.join(d, name + '.S.txt')).splitlines()
    sums = dict.fromkeys(STATS_KEYS, 0)
    layout = None
    for line in want_s:
        m = re.match(r'^cpu=(\d+)( +\t)(.*) $', line)
        fields = m.group(3).split(' ') if m else []
        if not m or [f.split('=')[0] for f in fields] != STATS_KEYS:
            errors.append(f'{name}.S.txt: unexpected line {line!r}')
            continue
        if layout is None:
            layout = 'cpu=0' + (m.group(2) if m.group(1) == '0' else '   \t')
        for f in fields:
            k, v = f.split('=')
            sums[k] += int(v)
    if layout is not None:
        want_line = layout + ' '.join(f'{k}={sums[k]}'
                                      for k in STATS_KEYS) + ' '
        summary = run(ctkit, pcap, args, [], errors)
        got_line = next((x for x in summary.splitlines()
                         if x.startswith('cpu=')), None)
        if got_line != want_line:
            errors.append(f'{name} summary: conntrack -S summed is\n  '
                          f'{want_line!r}\nctkit prints\n  {got_line!r}')
        m = re.search(r'^invalid: +(\d+) packets = conntrack -S invalid (\d+)'
                      r'.* \+ error (\d+)', summary, re.M)
        total = sums['invalid'] + sums['error']
        if total and (not m or [int(x) for x in m.groups()] !=
                      [total, sums['invalid'], sums['error']]):
            errors.append(f'{name} summary: wanted "invalid: {total} packets '
                          f'= conntrack -S invalid {sums["invalid"]} ... + '
                          f'error {sums["error"]}", got '
                          f'{m.group(0) if m else "no such line"!r}')
    return errors


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    ctkit = os.path.abspath(sys.argv[1])
    if sys.argv[2] == '--live':
        if os.geteuid() != 0:
            print('SKIP: needs root (network namespaces)')
            return 77
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([os.path.join(HERE, 'record.sh'), tmp, 'live'])
            if r.returncode == 77:
                return 77
            if r.returncode != 0:
                return 1
            # A loaded machine delays conntrack's reading of the events.
            errors = compare(ctkit, tmp, 'live', 0.5)
            names = ['live']
    else:
        errors = []
        names = sys.argv[3:]
        for name in names:
            errors += compare(ctkit, sys.argv[2], name, 0.1)
    for e in errors:
        print(e)
    print(f'{"FAIL" if errors else "ok"}: {", ".join(names)}: '
          f'{len(errors)} difference(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
