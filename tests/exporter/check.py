#!/usr/bin/env python3
"""`ctkit exporter` as Prometheus and an operator meet it.

  check.py CTKIT FIXTURES

- `--once --root FIXTURES/healthy` prints metrics that promtool (Debian's
  prometheus package) accepts with no lint complaint, with the tree's
  numbers in them;
- the server on a free loopback port answers /metrics with the 0.0.4
  content type, gzip-compressed when the client asks, 404 elsewhere, and
  exits 0 on SIGTERM;
- a malformed --web.listen-address is a usage error (2), a port in use an
  error (1), both with one line on stderr;
- the fill forecast is absent for a flat table and about right for one
  that grows between scrapes (a 2 s --forecast.window);
- the kernel log (a FIFO for /dev/kmsg) is followed: table-full lines by
  namespace and the suppressed count.
"""
import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scrape_lab import expect, failures, free_port, scrape, terminate

ctkit, fixtures = sys.argv[1], sys.argv[2]


# --once through promtool.
once = subprocess.run([ctkit, 'exporter', '--once', '--root', os.path.join(fixtures, 'healthy')],
                      capture_output=True, text=True)
expect(once.returncode == 0, f'--once exits 0 (got {once.returncode}: {once.stderr})')
expect('conntrack_entries{netns="unknown"} 200\n' in once.stdout, '--once shows the tree\'s count')
expect('conntrack_entries_limit{netns="unknown"} 262144\n' in once.stdout, '--once shows the limit')
check = subprocess.run(['promtool', 'check', 'metrics'], input=once.stdout,
                       capture_output=True, text=True)
expect(check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(),
       f'promtool check metrics: rc {check.returncode}: {check.stdout}{check.stderr}')


# --compat node: node_exporter's names beside ctkit's.
node = subprocess.run([ctkit, 'exporter', '--once', '--compat', 'node', '--root',
                       os.path.join(fixtures, 'healthy')], capture_output=True, text=True)
expect('node_nf_conntrack_entries 200\n' in node.stdout
       and 'conntrack_entries{netns="unknown"} 200\n' in node.stdout,
       '--compat node adds node_exporter\'s names')
check = subprocess.run(['promtool', 'check', 'metrics'], input=node.stdout,
                       capture_output=True, text=True)
expect(check.returncode == 0, f'promtool on --compat node: {check.stdout}{check.stderr}')


port = free_port()
kmsg_dir = tempfile.mkdtemp()
kmsg = os.path.join(kmsg_dir, 'kmsg')
os.mkfifo(kmsg)
server = subprocess.Popen([ctkit, 'exporter', '--web.listen-address', f'127.0.0.1:{port}',
                           '--kernel-log', kmsg],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    base = f'http://127.0.0.1:{port}'
    hdrs, raw = scrape(port, server)
    body, ctype = raw.decode(), hdrs.get('Content-Type')
    expect(ctype == 'text/plain; version=0.0.4; charset=utf-8', f'content type {ctype}')
    expect('# TYPE conntrack_entries gauge\n' in body, 'the server shows the count')

    # The kernel log (a FIFO standing in for /dev/kmsg): a table-full line
    # of the initial namespace (PID 1's), two of another, and suppressed
    # ones; counted from the exporter's start.
    try:
        init_label = str(os.stat('/proc/1/ns/net').st_ino)
    except OSError:  # PID 1 not ours to look at (a container): "init"
        init_label = 'init'
    if init_label != 'init' and os.path.isdir('/run/netns'):
        for n in os.listdir('/run/netns'):
            if os.stat(os.path.join('/run/netns', n)).st_ino == int(init_label):
                init_label = n
    with open(kmsg, 'w') as w:
        w.write('4,1,5000000,-;nf_conntrack: nf_conntrack: table full, dropping packet\n'
                '4,2,5000001,-;nf_conntrack: nf_conntrack: table full in netns 4026599999, dropping packet\n'
                '4,3,5000002,-;nf_conntrack: nf_conntrack: table full in netns 4026599999, dropping packet\n'
                '4,4,9000000,-;net_ratelimit: 77 callbacks suppressed\n')
    want = [f'conntrack_table_full_messages_total{{netns="{init_label}"}} 1',
            'conntrack_table_full_messages_total{netns="4026599999"} 2',
            'conntrack_kernel_log_suppressed_total 77']
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(base + '/metrics', timeout=5) as r:
            lines = r.read().decode().splitlines()
        if all(x in lines for x in want) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for x in want:
        expect(x in lines, f'the kernel log: {x}')

    req = urllib.request.Request(base + '/metrics', headers={'Accept-Encoding': 'gzip'})
    with urllib.request.urlopen(req, timeout=5) as r:
        enc = r.headers.get('Content-Encoding')
        raw = r.read()
    expect(enc == 'gzip', f'gzip when asked (Content-Encoding {enc})')
    if enc == 'gzip':
        expect('# TYPE conntrack_entries gauge\n' in gzip.decompress(raw).decode(),
               'the gzip body decompresses to the metrics')

    try:
        urllib.request.urlopen(base + '/nope', timeout=5)
        expect(False, '/nope is not found')
    except urllib.error.HTTPError as e:
        expect(e.code == 404, f'/nope: {e.code}')

    # Not growing: no forecast.
    expect('conntrack_seconds_until_full' not in body, 'no forecast for a flat table')

    # The port is taken now: a second exporter cannot listen.
    busy = subprocess.run([ctkit, 'exporter', '--web.listen-address', f'127.0.0.1:{port}'],
                          capture_output=True, text=True, timeout=10)
    expect(busy.returncode == 1 and busy.stderr.startswith('ctkit: error: cannot listen'),
           f'a port in use: rc {busy.returncode}: {busy.stderr}')
finally:
    rc = terminate(server, timeout=5)
expect(rc == 0, f'SIGTERM stops the server with 0 (got {rc})')
shutil.rmtree(kmsg_dir)

# The table scan's attribution, on a tree whose table (ctkit/conntrack-L.txt)
# holds 460 ESTABLISHED entries, 400 of them from one source: the numbers
# are counted here from the file itself.
dominated = os.path.join(fixtures, 'source-dominating')
with open(os.path.join(dominated, 'ctkit/conntrack-L.txt')) as fh:
    rows = [ln.split() for ln in fh if ln.startswith(('tcp', 'udp', 'icmp'))]
sources = {}
for r in rows:
    src = next(w for w in r if w.startswith('src='))[4:]
    sources[src] = sources.get(src, 0) + 1
top_src, top_n = max(sources.items(), key=lambda kv: kv[1])
attr = subprocess.run([ctkit, 'exporter', '--once', '--top-k', '3', '--root', dominated],
                      capture_output=True, text=True, timeout=30).stdout
samples = {}
for ln in attr.splitlines():
    if ln and not ln.startswith('#'):
        name, value = ln.rsplit(' ', 1)
        samples[name] = float(value)
label = 'netns="unknown"'
expect(samples.get(f'conntrack_entries_by_state{{{label},protocol="tcp",state="ESTABLISHED"}}')
       == len(rows), f'by state: {len(rows)} ESTABLISHED entries')
expect(samples.get(f'conntrack_top_source_entries{{{label},source="{top_src}"}}') == top_n,
       f'the top source {top_src} holds {top_n}')
shown = sum(v for k, v in samples.items() if k.startswith('conntrack_top_source_entries{'))
expect(shown == len(rows), f'top-3 sources plus other add up to the {len(rows)} entries ({shown})')
expect(sum(1 for k in samples if k.startswith('conntrack_top_source_entries{')) == 4,
       '--top-k 3: three sources and other')
expect(samples.get(f'conntrack_entry_remaining_lifetime_seconds_count{{{label},'
                   'sysctl="nf_conntrack_tcp_timeout_established"}') == len(rows),
       'every ESTABLISHED entry in the established lifetime histogram')
expect(samples.get(f'conntrack_scan_complete{{{label}}}') == 1, 'the scan is complete')
lint = subprocess.run(['promtool', 'check', 'metrics'], input=attr, capture_output=True,
                      text=True, timeout=30)
expect(lint.returncode == 0, f'promtool accepts the attribution metrics: {lint.stderr}')

# --root and the HTTP server: what --once prints.
port = free_port()
rooted = subprocess.Popen([ctkit, 'exporter', '--root', os.path.join(fixtures, 'healthy'),
                           '--web.listen-address', f'127.0.0.1:{port}'],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    # The first scan runs on its own thread from the start: a scrape that
    # comes before it ends has no attribution yet (slow builds see that).
    deadline = time.monotonic() + 20
    body = scrape(port, rooted)[1].decode()
    while 'conntrack_scan_complete{' not in body and time.monotonic() < deadline:
        time.sleep(0.1)
        body = scrape(port, rooted)[1].decode()

    def namespace_part(text):  # all but the exporter's own timings
        return [ln for ln in text.splitlines()
                if not any(t in ln for t in ('conntrack_scrape_', 'conntrack_scan_duration',
                                             'conntrack_scan_timestamp'))]
    expect(namespace_part(body) == namespace_part(once.stdout),
           'the server serves what --once prints')
    expect('conntrack_entries{netns="unknown"} 200\n' in body, 'the server shows the count')
finally:
    rooted.send_signal(signal.SIGTERM)
    rooted.wait(timeout=5)

# A table that grows by 1000 entries between scrapes 0.5 s apart towards a
# limit of 262144, with a 2 s forecast window: the forecast is present and
# is the time the fitted growth needs to reach the limit.
with tempfile.TemporaryDirectory() as tree:
    shutil.copytree(os.path.join(fixtures, 'healthy'), tree, dirs_exist_ok=True)
    count_file = os.path.join(tree, 'proc/sys/net/netfilter/nf_conntrack_count')
    port = free_port()
    grow = subprocess.Popen([ctkit, 'exporter', '--root', tree, '--forecast.window', '2',
                             '--web.listen-address', f'127.0.0.1:{port}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        values, times = [], []
        for i in range(4):
            with open(count_file, 'w') as fh:
                fh.write(f'{200000 + 1000 * i}\n')
            text = scrape(port, grow)[1].decode()
            times.append(time.monotonic())
            line = [ln for ln in text.splitlines() if ln.startswith('conntrack_seconds_until_full{')]
            values.append(float(line[0].split()[-1]) if line else None)
            time.sleep(0.5)
        expect(values[0] is None, f'one scrape gives no forecast ({values})')
        # 3000 entries over the scrapes' span (about 1.5 s, longer on a
        # loaded machine): 262144 - 203000 = 59144 left at that rate.
        want = 59144 / (3000 / (times[-1] - times[0]))
        expect(values[-1] is not None and 0.7 * want < values[-1] < 1.3 * want,
               f'a growing table has a forecast of about {want:.0f} s ({values})')
    finally:
        grow.send_signal(signal.SIGTERM)
        grow.wait(timeout=5)

bad = subprocess.run([ctkit, 'exporter', '--web.listen-address', 'nonsense'],
                     capture_output=True, text=True, timeout=10)
expect(bad.returncode == 2 and 'expected HOST:PORT' in bad.stderr,
       f'a malformed address: rc {bad.returncode}: {bad.stderr}')

print('exporter: ' + ('ok' if not failures else f'{len(failures)} failure(s)'))
sys.exit(1 if failures else 0)
