#!/usr/bin/env python3
"""deploy/grafana/ctkit-conntrack.json against a real Prometheus.

  dashboard.py CTKIT SOURCE_DIR

`ctkit exporter --root` serves a copy of tests/doctor/healthy whose count
and statistics this script moves between scrapes (the table grows, drops
and insert failures happen), over loopback; Prometheus (Debian's) scrapes
it every second with deploy/prometheus/conntrack.rules.yml. Then every
panel query of the dashboard, with its variables set to "all", must return
data, and so must its variables' label queries. The dashboard's JSON is
checked for what Grafana needs to show each panel (ids, positions, a data
source, a refId per query).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scrape_lab import expect, failures, free_port, start_prometheus

ctkit, src = sys.argv[1], sys.argv[2]


dash = json.load(open(os.path.join(src, 'deploy/grafana/ctkit-conntrack.json')))
panels = dash['panels']
expect(len({p['id'] for p in panels}) == len(panels), 'panel ids are unique')
for p in panels:
    expect({'x', 'y', 'w', 'h'} <= set(p.get('gridPos', {})), f'panel {p["id"]} has a position')
    expect(p.get('datasource', {}).get('uid') == '${datasource}', f'panel {p["id"]} uses $datasource')
    refs = [t.get('refId') for t in p.get('targets', [])]
    expect(refs and len(set(refs)) == len(refs) and all(t.get('expr') for t in p['targets']),
           f'panel {p["id"]} has queries with distinct refIds')


STAT_HEADER = ('entries clashres found new invalid ignore delete chainlength insert '
               'insert_failed drop early_drop icmp_error expect_new expect_create '
               'expect_delete search_restart\n')


def write_state(tree, step):
    """Step `step` of the story: the count grows by 500 a step, and every
    statistic the panels rate moves."""
    with open(os.path.join(tree, 'proc/sys/net/netfilter/nf_conntrack_count'), 'w') as f:
        f.write(f'{100000 + 500 * step}\n')
    cols = {'clashres': step, 'invalid': 3 * step, 'chainlength': step, 'insert_failed': 2 * step,
            'drop': 5 * step, 'early_drop': 4 * step, 'icmp_error': step}
    names = STAT_HEADER.split()
    line = ' '.join(f'{cols.get(n, 0):08x}' for n in names)
    with open(os.path.join(tree, 'proc/net/stat/nf_conntrack'), 'w') as f:
        f.write(STAT_HEADER + line + '\n')


with tempfile.TemporaryDirectory() as work:
    tree = os.path.join(work, 'tree')
    shutil.copytree(os.path.join(src, 'tests/doctor/healthy'), tree)
    write_state(tree, 0)
    pe, pp = free_port(), free_port()
    while pp == pe:
        pp = free_port()
    exporter = subprocess.Popen([ctkit, 'exporter', '--root', tree,
                                 '--web.listen-address', f'127.0.0.1:{pe}'],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rules = os.path.join(src, 'deploy/prometheus/conntrack.rules.yml')
    prom = start_prometheus(work, pe, pp, rules)
    stop = threading.Event()

    def story():
        step = 0
        while not stop.wait(0.5):
            step += 1
            write_state(tree, step)

    mover = threading.Thread(target=story)
    mover.start()

    def get(path, **params):
        url = f'http://127.0.0.1:{pp}{path}?' + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return json.load(r)['data']
        except Exception:
            return None

    def all_values(expr):
        return re.sub(r'\$(instance|netns)', '.*', expr)

    queries = [(p['id'], p['title'], all_values(t['expr'])) for p in panels for t in p['targets']]
    try:
        missing = queries
        deadline = time.monotonic() + 60
        while missing and time.monotonic() < deadline:
            time.sleep(1)
            missing = [q for q in missing if not (get('/api/v1/query', query=q[2]) or {}).get('result')]
        for pid, title, expr in missing:
            expect(False, f'panel {pid} ({title}): no data for {expr}')
        print(f'{len(queries) - len(missing)} of {len(queries)} panel queries return data')
        # The variables: label_values(conntrack_entries, instance) and netns.
        inst = get('/api/v1/label/instance/values', **{'match[]': 'conntrack_entries'}) or []
        expect(inst == [f'127.0.0.1:{pe}'], f'$instance values {inst}')
        netns = get('/api/v1/label/netns/values', **{'match[]': 'conntrack_entries'}) or []
        expect(netns == ['unknown'], f'$netns values {netns}')
    finally:
        stop.set()
        mover.join()
        for p in (prom, exporter):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    if failures:
        print(open(os.path.join(work, 'prometheus.log')).read()[-2000:])

print('dashboard: ' + ('ok' if not failures else f'{len(failures)} failure(s)'))
sys.exit(1 if failures else 0)
