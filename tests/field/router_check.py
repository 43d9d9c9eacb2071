#!/usr/bin/env python3
"""The end-host capture through a router's conntrack (root).

  router_check.py CTKIT

check.py compares tests/field/endhost.pcap with the end host's own table.
This runs the same capture through `ctkit kernel-replay` (a router
namespace whose conntrack verifies checksums at prerouting) and diffs it
with `ctkit replay`: two thirds of the capture's packets carry offload
partial checksums, which the router would call INVALID had kernel-replay
sent them as captured; it sends the complete checksum the sender's NIC
would have written, so the router tracks what the end host tracked and the
two must agree on every verdict, entry and counter (`ctkit diff` exit 0),
and kernel-replay must say how many checksums it completed.

Exits 77 (skip) when not root, 1 on any disagreement.
"""
import json, os, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))


def main():
    if os.geteuid() != 0:
        print('SKIP: kernel-replay needs root (network namespaces)')
        return 77
    ctkit = sys.argv[1]
    pcap = os.path.join(here, 'endhost.pcap')
    with tempfile.TemporaryDirectory() as tmp:
        mine = os.path.join(tmp, 'ctkit.json')
        kernel = os.path.join(tmp, 'kernel.json')
        with open(mine, 'w') as f:
            subprocess.run([ctkit, 'replay', pcap, '--json', '--verdicts',
                            '--dump'], stdout=f, check=True)
        with open(kernel, 'w') as f:
            subprocess.run([ctkit, 'kernel-replay', pcap, '--json'], stdout=f,
                           check=True)
        text = subprocess.run([ctkit, 'kernel-replay', pcap],
                              capture_output=True, text=True, check=True).stdout
        d = subprocess.run([ctkit, 'diff', mine, kernel], capture_output=True,
                           text=True)
        print(d.stdout, end='')
        failures = []
        if d.returncode != 0:
            failures.append(f'ctkit diff exit {d.returncode}: {d.stderr}')
        with open(kernel) as f:
            verdicts = json.load(f)['verdicts']
        if 'INVALID' in verdicts:
            failures.append('the router called a packet INVALID: '
                            f'{verdicts.count("INVALID")} of {len(verdicts)}')
        want = 'checksums: 77 packets carried offload checksums'
        if want not in text:
            failures.append(f'kernel-replay summary lacks "{want}":\n{text}')
        for f in failures:
            print('FAIL:', f)
        return 1 if failures else 0


sys.exit(main())
