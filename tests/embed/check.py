#!/usr/bin/env python3
"""The engine as an outside program sees it: install the build's
ctkit_engine component into a temporary prefix, build examples/embed.cc
against that prefix twice (CMake's find_package(ctkit CONFIG) and
`pkg-config --cflags --libs --static ctkit`), run both, and check what they
print against the kernel's behaviour for the example's packets.

    check.py CMAKE BUILD_DIR SOURCE_DIR CXX [CXXFLAGS [LDFLAGS]]

CXXFLAGS and LDFLAGS are the build's own (the asan preset's sanitizers):
a program linking an instrumented archive needs them too.

Nothing from the source tree but examples/ is used, so a public header that
reached into src/, or a link dependency missing from the package, fails.
"""
import os
import shutil
import subprocess
import sys
import tempfile

# What the kernel does with the example's packets (docs/kernel-model.md):
# a handshake's SYN is NEW, the SYN/ACK and the final ACK ESTABLISHED; a
# UDP query is NEW and its answer ESTABLISHED; likewise an echo request and
# its reply; an RST that opens no known connection is INVALID (only a SYN,
# or an ACK with nf_conntrack_tcp_loose=1, may create a TCP entry).
WANT_HEAD = [
    'packet 1 NEW',
    'packet 2 ESTABLISHED',
    'packet 3 ESTABLISHED',
    'packet 4 NEW',
    'packet 5 ESTABLISHED',
    'packet 6 NEW',
    'packet 7 ESTABLISHED',
    'packet 8 INVALID',
    'count 3',
    'stats invalid=1 drop=0 early_drop=0',
    'counters packets=8 created=3',
    'invalid tcp-new-not-syn 1',
]
# The table 1 s after the first packet (the packets come 10 ms apart from
# t=1 s, the dump is at t=2 s). The handshake's last ACK (t=1.02 s) moves the
# entry from SYN_RECV to ESTABLISHED and makes it ASSURED:
# tcp_timeout_established 432000 s, 431999.02 s left. The UDP answer
# (t=1.04 s) came < 2 s after the query, so the entry is not a stream yet:
# udp_timeout 30 s, 29.04 s left. The echo reply (t=1.06 s): icmp_timeout
# 30 s, 29.06 s left. Whole seconds, floored, as conntrack -L shows them.
# The order of a dump is the hash table's, which depends on the (random)
# key: compared sorted.
WANT_FLOWS = sorted([
    'flow tcp 192.0.2.1:40000 -> 198.51.100.1:80 ESTABLISHED 431999s '
    'ASSURED',
    'flow udp 192.0.2.1:5353 -> 198.51.100.53:53 - 29s',
    'flow icmp 192.0.2.1 -> 198.51.100.1 type=8 id=7 - 29s',
])


def run(cmd, env=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, check=False)
    if p.returncode != 0:
        sys.exit(f'FAILED ({p.returncode}): {" ".join(cmd)}\n{p.stdout}')
    return p.stdout


def check_output(how, out):
    lines = out.splitlines()
    head = [x for x in lines if not x.startswith('flow ')]
    flows = sorted(x for x in lines if x.startswith('flow '))
    ok = True
    if head != WANT_HEAD:
        print(f'{how}: got\n  ' + '\n  '.join(head) + '\nwanted\n  ' +
              '\n  '.join(WANT_HEAD))
        ok = False
    if flows != WANT_FLOWS:
        print(f'{how}: dump got\n  ' + '\n  '.join(flows) + '\nwanted\n  ' +
              '\n  '.join(WANT_FLOWS))
        ok = False
    if ok:
        print(f'{how}: {len(lines)} lines as expected')
    return ok


def main():
    if not 5 <= len(sys.argv) <= 7:
        sys.exit(__doc__)
    cmake, build, source, cxx = sys.argv[1:5]
    cxxflags = sys.argv[5] if len(sys.argv) > 5 else ''
    ldflags = sys.argv[6] if len(sys.argv) > 6 else ''
    examples = os.path.join(source, 'examples')
    tmp = tempfile.mkdtemp(prefix='ctkit-embed-')
    try:
        prefix = os.path.join(tmp, 'prefix')
        run([cmake, '--install', build, '--prefix', prefix, '--component',
             'ctkit_engine'])
        # Only the public headers are installed.
        installed = sorted(os.listdir(os.path.join(prefix, 'include')))
        if installed != ['ctkit']:
            sys.exit(f'include/ holds {installed}, wanted only ctkit/')

        # 1. CMake: find_package(ctkit CONFIG) from the prefix alone.
        cm = os.path.join(tmp, 'cmake')
        run([cmake, '-S', examples, '-B', cm, '-G', 'Ninja',
             f'-DCMAKE_CXX_COMPILER={cxx}', f'-DCMAKE_PREFIX_PATH={prefix}',
             f'-DCMAKE_CXX_FLAGS={cxxflags}',
             f'-DCMAKE_EXE_LINKER_FLAGS={ldflags}',
             '-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF'])
        with open(os.path.join(cm, 'CMakeCache.txt'), encoding='utf-8') as f:
            cache = f.read()
        want_dir = os.path.join(prefix, 'lib', 'cmake', 'ctkit')
        if f'ctkit_DIR:PATH={want_dir}' not in cache:
            sys.exit(f'find_package(ctkit) did not use {want_dir}')
        run([cmake, '--build', cm])
        ok = check_output('find_package', run([os.path.join(cm, 'embed')]))

        # 2. pkg-config, static flags (the archive's own dependencies).
        env = dict(os.environ)
        env['PKG_CONFIG_PATH'] = os.path.join(prefix, 'lib', 'pkgconfig')
        flags = run(['pkg-config', '--cflags', '--libs', '--static', 'ctkit'],
                    env=env).split()
        if any(os.path.realpath(source) in os.path.realpath(x.lstrip('-IL'))
               for x in flags if x.startswith(('-I', '-L'))):
            sys.exit(f'ctkit.pc points into the source tree: {flags}')
        exe = os.path.join(tmp, 'embed-pc')
        run([cxx, '-std=c++20'] + cxxflags.split() +
            [os.path.join(examples, 'embed.cc'), '-o', exe] + flags +
            ldflags.split())
        ok = check_output('pkg-config', run([exe])) and ok
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
