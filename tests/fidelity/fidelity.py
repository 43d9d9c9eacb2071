#!/usr/bin/env python3
"""Fidelity of ctkit against the kernel over tests/fidelity/.

  fidelity.py CTKIT [--live] [--check]

For each NAME.pcap: runs `ctkit replay` with the flags in NAME.args and
compares it (ctkit diff --json) with the kernel's result: the recorded
NAME.kernel.json, or with --live a fresh `ctkit kernel-replay` (root; exits
77 = skipped otherwise). Prints the per-protocol fidelity table. With
--check, exits 1 when a capture disagrees in a way not listed in
known-differences.txt (NAME: one line per accepted disagreement prefix).
"""
import json, os, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
ctkit = sys.argv[1]
live = '--live' in sys.argv
check = '--check' in sys.argv
if live and os.geteuid() != 0:
    print('SKIP: live kernel fidelity needs root')
    sys.exit(77)

known = {}
kf = os.path.join(here, 'known-differences.txt')
if os.path.exists(kf):
    for line in open(kf):
        line = line.strip()
        if line and not line.startswith('#'):
            name, _, prefix = line.partition(': ')
            known.setdefault(name, []).append(prefix)

total = {}
bad = []
n_known = n_unexplained = 0
with tempfile.TemporaryDirectory() as tmp:
    for f in sorted(os.listdir(here)):
        if not f.endswith('.pcap'):
            continue
        name = f[:-5]
        pcap = os.path.join(here, f)
        args = []
        ap = os.path.join(here, name + '.args')
        if os.path.exists(ap):
            args = [a for a in open(ap).read().split('\n') if a]
        # The engine takes the settings; --allow-global and --speed (how
        # the kernel is driven) are kernel-replay's alone.
        eng_args = []
        skip = False
        for a in args:
            if skip:
                skip = False
            elif a == '--speed':
                skip = True
            elif a != '--allow-global':
                eng_args.append(a)
        eng = os.path.join(tmp, name + '.ctkit.json')
        with open(eng, 'w') as out:
            subprocess.run([ctkit, 'replay', pcap, '--json', '--dump', '--verdicts',
                            '--no-progress'] + eng_args, stdout=out, check=True)
        ker = os.path.join(here, name + '.kernel.json')
        if live:
            ker = os.path.join(tmp, name + '.kernel.json')
            with open(ker, 'w') as out:
                subprocess.run([ctkit, 'kernel-replay', pcap, '--json', '--dump',
                                '--verdicts'] + args, stdout=out, check=True)
        r = subprocess.run([ctkit, 'diff', '--json', eng, ker],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):  # 2: not two results of one capture
            sys.exit(f'{name}: ctkit diff failed: {r.stderr.strip()}')
        d = json.loads(r.stdout)
        for proto, p in d['by_protocol'].items():
            t = total.setdefault(proto, dict.fromkeys(p, 0))
            for k, v in p.items():
                t[k] += v
        unexplained = [x for x in d['disagreements']
                       if not any(x.startswith(k) for k in known.get(name, []))
                       and not any(k == '*' for k in known.get(name, []))]
        for x in d['disagreements']:
            tag = '' if x in unexplained else ' (known, docs/kernel-differences.md)'
            print(f'{name}: {x}{tag}')
        n_unexplained += len(unexplained)
        n_known += len(d['disagreements']) - len(unexplained)
        if unexplained:
            bad.append(name)

def pct(n, d):
    return '-' if d == 0 else f'{100.0 * n / d:.1f} %'

print(f"{'protocol':<9}{'packets':>8}{'verdicts':>10}{'entries':>8}"
      f"{'state':>9}{'flags':>9}{'timeout':>9}")
rows = sorted(total.items())
agg = dict.fromkeys(['packets', 'verdicts_agree', 'entries', 'state_agree',
                     'flags_agree', 'timeout_agree'], 0)
for proto, p in rows:
    for k in agg:
        agg[k] += p[k]
for proto, p in rows + [('total', agg)]:
    print(f"{proto:<9}{p['packets']:>8}{pct(p['verdicts_agree'], p['packets']):>10}"
          f"{p['entries']:>8}{pct(p['state_agree'], p['entries']):>9}"
          f"{pct(p['flags_agree'], p['entries']):>9}"
          f"{pct(p['timeout_agree'], p['entries']):>9}")
print(f'{n_known + n_unexplained} disagreement line(s): {n_known} known '
      f'(known-differences.txt), {n_unexplained} unexplained')
if check and bad:
    print('unexplained disagreements in: ' + ', '.join(bad))
    sys.exit(1)
