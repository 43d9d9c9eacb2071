#!/usr/bin/env python3
"""The README's engine-against-kernel workflow, run as written, and what
`ctkit kernel-replay` prints.

  workflow.py CTKIT

  - `ctkit replay capture.pcap --json --verdicts --dump > ctkit.json`,
    `ctkit kernel-replay capture.pcap --json > kernel.json`,
    `ctkit diff ctkit.json kernel.json`: exit 0, "agree" (a capture whose
    every verdict and entry the kernel and ctkit agree on: one TCP session
    and one UDP exchange);
  - kernel.json carries the verdicts (one per packet) and the entries
    without --verdicts/--dump, and names its tool and capture;
  - the summary names `ctkit kernel-replay` and shows no engine-only figure
    (peak, fill time, created entries, memory) and no garbage;
  - `ctkit replay --sysctl-file FILE --compare-kernel` hands the file's
    settings to the kernel run too;
  - progress: on a terminal (a pty) stderr shows the injection advancing in
    capture time, also at --speed 2; not with --no-progress, never on a pipe.

Root only: exits 77 (CTest: skipped) with a message otherwise.
"""
import json
import os
import pty
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'fidelity'))
import gen_scenarios as g  # noqa: E402  (the fidelity corpus' packet builders)


def on_pty(argv):
    """Runs argv with stderr on a pty; returns (exit code, stderr text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the child has closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(), out.decode(errors='replace')


def main():
    if os.geteuid() != 0:
        print('SKIP: kernel-replay workflow test needs root (network namespaces)')
        return 77
    ctkit = os.path.abspath(sys.argv[1])
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        cap = g.Capture()
        g.Tcp(cap, g.C4, 40000, g.S4, 80).handshake()
        cap.add(g.udp(g.C4, 50000, g.S4, 53))
        cap.add(g.udp(g.S4, 53, g.C4, 50000))
        cap.write(os.path.join(tmp, 'capture.pcap'))

        def sh(argv, out=None):
            with open(os.path.join(tmp, out), 'w') if out else open(os.devnull, 'w') as f:
                r = subprocess.run(argv, cwd=tmp, stdout=f if out else subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            return r

        # The README, word for word.
        r1 = sh([ctkit, 'replay', 'capture.pcap', '--json', '--verdicts', '--dump'],
                'ctkit.json')
        r2 = sh([ctkit, 'kernel-replay', 'capture.pcap', '--json'], 'kernel.json')
        r3 = sh([ctkit, 'diff', 'ctkit.json', 'kernel.json'])
        if (r1.returncode, r2.returncode) != (0, 0):
            failures.append(f'replay/kernel-replay failed: {r1.stderr}{r2.stderr}')
        if r3.returncode != 0 or not r3.stdout.endswith('agree\n'):
            failures.append(f'diff: exit {r3.returncode}: {r3.stdout}{r3.stderr}')
        with open(os.path.join(tmp, 'kernel.json')) as f:
            k = json.load(f)
        if k.get('tool') != 'ctkit kernel-replay' or k.get('capture') != 'capture.pcap':
            failures.append(f'kernel.json: tool/capture {k.get("tool")!r} {k.get("capture")!r}')
        if k.get('verdicts') != ['NEW', 'ESTABLISHED', 'ESTABLISHED', 'NEW', 'ESTABLISHED']:
            failures.append(f'kernel.json verdicts: {k.get("verdicts")}')
        if len(k.get('entries', [])) != 2:
            failures.append(f'kernel.json entries: {k.get("entries")}')
        if k.get('capture_digest', {}).get('packets') != 5:
            failures.append(f'kernel.json capture_digest: {k.get("capture_digest")}')

        # --compare-kernel runs the kernel with the settings the engine ran
        # with, from a sysctl.d file too: with nf_conntrack_udp_timeout=10
        # both show the UDP entry at 10 s (had the kernel kept its 30 s, the
        # timeouts would differ by 20 s and diff exit 1).
        with open(os.path.join(tmp, 'conntrack.conf'), 'w') as f:
            f.write('# a real sysctl.d file\nnet.ipv4.ip_forward = 1\n'
                    'net.netfilter.nf_conntrack_udp_timeout = 10\n')
        r = sh([ctkit, 'replay', 'capture.pcap', '--sysctl-file', 'conntrack.conf',
                '--compare-kernel'])
        if r.returncode != 0 or not r.stdout.endswith('agree\n'):
            failures.append(f'--compare-kernel with --sysctl-file: exit {r.returncode}: '
                            f'{r.stdout}{r.stderr}')

        # The summary.
        r = sh([ctkit, 'kernel-replay', 'capture.pcap'])
        text = r.stdout
        lines = text.splitlines()
        if r.returncode != 0 or not lines or lines[0] != 'ctkit kernel-replay: capture.pcap':
            failures.append(f'summary header: exit {r.returncode}: {text}{r.stderr}')
        for want in ('packets:   read 5, sent 5, skipped 0\n',
                     'verdicts:  NEW 2 ESTABLISHED 3 RELATED 0 INVALID 0 UNTRACKED 0 DROP 0\n',
                     'table full: never (conntrack -S drop = 0)\n',
                     'entries:   2 at the end, of nf_conntrack_max '):
            if want not in text:
                failures.append(f'summary lacks {want!r}:\n{text}')
        for unknown in ('peak', 'fill time', 'created', 'MiB', 'invalid:', 'ctkit replay'):
            if unknown in text:
                failures.append(f'summary shows {unknown!r}:\n{text}')
        if re.search(r'-\d{6,}', text):
            failures.append(f'summary shows a garbage number:\n{text}')

        # Progress: a 1.2 s gap, so the 200 ms updates show the injection
        # waiting in it.
        cap = g.Capture()
        cap.add(g.udp(g.C4, 50001, g.S4, 53))
        cap.add(g.udp(g.C4, 50001, g.S4, 53), 1.2)
        cap.add(g.udp(g.S4, 53, g.C4, 50001))
        slow = os.path.join(tmp, 'slow.pcap')
        cap.write(slow)
        rc, err = on_pty([ctkit, 'kernel-replay', slow])
        if rc != 0 or 'kernel-replay: injected 1 of 3 packets, 0.0 of 1.2 s' not in err \
                or 'injected 3 of 3 packets, 1.2 of 1.2 s' not in err:
            failures.append(f'progress on a terminal: exit {rc}: {err!r}')
        cap = g.Capture()
        cap.add(g.udp(g.C4, 50002, g.S4, 53))
        cap.add(g.udp(g.C4, 50002, g.S4, 53), 2.0)
        fast = os.path.join(tmp, 'fast.pcap')
        cap.write(fast)
        rc, err = on_pty([ctkit, 'kernel-replay', fast, '--speed', '2'])
        if rc != 0 or 'injected 1 of 2 packets, 0.0 of 2.0 s' not in err \
                or 'injected 2 of 2 packets, 2.0 of 2.0 s' not in err:
            failures.append(f'progress at --speed 2: exit {rc}: {err!r}')
        rc, err = on_pty([ctkit, 'kernel-replay', slow, '--no-progress'])
        if rc != 0 or 'injected' in err:
            failures.append(f'--no-progress on a terminal: exit {rc}: {err!r}')
        r = subprocess.run([ctkit, 'kernel-replay', slow], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr != '':
            failures.append(f'stderr not a terminal: exit {r.returncode}: {r.stderr!r}')

    for f in failures:
        print('FAIL: ' + f)
    print('workflow: ' + ('FAILED' if failures else 'ok'))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
