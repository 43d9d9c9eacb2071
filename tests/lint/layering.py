#!/usr/bin/env python3
"""Which layer may include which: every `#include "LAYER/..."` in the tree
against the table below, so a dependency pointing the wrong way fails CI
even where no link error would show it (a header-only use).

    layering.py ROOT          check the tree at ROOT; exit 1 on a violation
    layering.py --self-test   check this checker on a small made-up tree

The layers (docs/design.md): net <- gen; net <- proto <- core <- report,
report <- replay <- plan, and report <- kernel <- host. `ctkit/` is the public
include directory, which any layer may use and which itself uses nothing
else. The packet generator (gen) is for tests, benchmarks and `ctkit gen`:
no library layer may include it. A layer's tests (x_test.cc) may also use
gen and the test helpers in testing/, which live nowhere else (a
x_test_util.h under src/ is flagged). testing/ may use any layer; the CLI
(tools/) any layer but testing/; bench/ (`ctkit bench`'s library and the
micro-benchmarks) any layer but testing/ and tools/; tests/ and fuzz/
anything.
"""
import os
import re
import sys
import tempfile

BELOW = {
    'ctkit': [],
    'net': [],
    'gen': ['net'],
    'proto': ['net'],
    'core': ['proto', 'net'],
    'report': ['core', 'proto', 'net'],
    'replay': ['report', 'core', 'proto', 'net'],
    'kernel': ['report', 'core', 'proto', 'net'],
    'host': ['kernel', 'report', 'core', 'proto', 'net'],
    'plan': ['replay', 'report', 'core', 'proto', 'net'],
    'watch': ['host', 'kernel', 'report', 'core', 'proto', 'net'],
}
# The directories above the layers, and what each of them may not use.
ON_TOP = {
    'testing': [],
    'tools': ['testing'],
    'tests': [],
    'bench': ['testing', 'tools'],
    'fuzz': [],
}
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([a-z_]+)/', re.M)


def allowed(layer, is_test):
    ok = {layer, 'ctkit'} | set(BELOW[layer])
    if is_test:
        ok |= {'gen', 'testing'}
    return ok


def check(root):
    """Returns the violations as 'file:line: message' strings."""
    bad = []
    for top in ['include', 'src'] + list(ON_TOP):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(('.h', '.cc')):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                parts = rel.split(os.sep)
                if top == 'include':
                    layer, ok = 'ctkit', {'ctkit'}
                elif top == 'src':
                    layer = parts[1] if len(parts) > 2 else None
                    if layer not in BELOW:
                        bad.append(f'{rel}:1: {layer!r} is not a layer in '
                                   f'tests/lint/layering.py')
                        continue
                    if name.endswith('_test_util.h'):
                        bad.append(f'{rel}:1: test helpers live in testing/')
                        continue
                    is_test = name.endswith('_test.cc')
                    ok = allowed(layer, is_test)
                else:
                    layer, ok = top, None  # anything but ON_TOP[top]
                with open(path, encoding='utf-8') as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    used = m.group(1)
                    if ok is None:
                        if used in ON_TOP[top]:
                            line = text.count('\n', 0, m.start()) + 1
                            bad.append(f'{rel}:{line}: {top}/ may not include '
                                       f'"{used}/..."')
                        continue
                    if used not in ok:
                        line = text.count('\n', 0, m.start()) + 1
                        bad.append(f'{rel}:{line}: {layer} may not include '
                                   f'"{used}/..." (it may use: '
                                   f'{", ".join(sorted(ok))})')
    return bad


def self_test():
    files = {
        'src/core/table.h': '#include "proto/tcp.h"\n#include "ctkit/x.h"\n',
        'src/core/engine_test_util.h': '#include "gen/packet_builder.h"\n',
        'src/core/engine_tcp_test.cc': '#include "testing/engine_test_util.h"\n',
        'src/core/engine.cc': '#include "testing/engine_test_util.h"\n',
        'testing/engine_test_util.h': '#include "gen/packet_builder.h"\n',
        'src/net/decode.cc': '\n#include "core/engine.h"\n',
        'src/replay/replay.cc': '#include "gen/workloads.h"\n',
        'src/report/replay_output.h': '#include "replay/replay.h"\n',
        'src/plan/whatif.h': '#include "replay/replay.h"\n',
        'include/ctkit/engine.h': '#include "core/flow.h"\n',
        'tools/ctkit/main.cc': '#include "host/doctor.h"\n',
        'tools/ctkit/gen.cc': '#include "gen/workloads.h"\n'
                              '#include "testing/engine_test_util.h"\n',
    }
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            with open(os.path.join(d, rel), 'w', encoding='utf-8') as f:
                f.write(text)
        got = sorted(x.split(':')[0] + ':' + x.split(':')[1]
                     for x in check(d))
    want = ['include/ctkit/engine.h:1', 'src/core/engine.cc:1',
            'src/core/engine_test_util.h:1', 'src/net/decode.cc:2',
            'src/replay/replay.cc:1', 'src/report/replay_output.h:1',
            'tools/ctkit/gen.cc:2']
    if got != want:
        print(f'self-test: flagged {got}, wanted {want}')
        return 1
    print(f'self-test: the {len(want)} wrong-way includes flagged, '
          'the rest allowed')
    return 0


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bad = check(sys.argv[1])
    for b in bad:
        print(b)
    if bad:
        print(f'layering: {len(bad)} include(s) against the layer table')
        return 1
    print('layering: every include follows the layer table')
    return 0


if __name__ == '__main__':
    sys.exit(main())
