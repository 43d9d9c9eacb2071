#!/usr/bin/env python3
"""`ctkit exporter` under hostile HTTP clients: a scrape still gets through
quickly and the exporter's memory stays bounded.

  hostile.py CTKIT FIXTURES

The exporter serves FIXTURES/healthy on a free loopback port. While each
pattern below is active, a normal scrape (a new connection, GET /metrics)
must succeed in under MAX_SCRAPE_S, and the exporter's resident memory
(VmRSS of /proc/PID/status) must stay under MAX_RSS_KIB:

- 300 idle connections, opened and never used (httplib's own server
  would give each a thread of its pool for as long as it stays open);
- 50 slowloris clients dribbling a request head one byte at a time for
  longer than the head deadline (10 s): the exporter must have closed
  every one of them by the end;
- 20 clients sending requests with a 64 KiB header over and over: each is
  answered 431 and closed;
- with basic auth on (a bcrypt cost-10 hash), 200 requests with wrong
  passwords in parallel: each is refused (401, or 429 when too many
  bcrypt checks are already running), none gets in, and a scrape with the
  right password (already checked once, as Prometheus's scrapes are) is
  not slowed down.
Each pattern's slowest scrape and the highest RSS are printed.
"""
import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scrape_lab import expect, failures, free_port, scrape, terminate

ctkit, fixtures = sys.argv[1], sys.argv[2]
tree = os.path.join(fixtures, 'healthy')

MAX_SCRAPE_S = 0.5
# The exporter's own size (about 13 MiB) plus room for every connection it
# allows (512) with a full request head buffer (16 KiB): 8 MiB; 64 MiB
# leaves a wide margin and still catches a buffer that grows per request.
# A sanitizer build (the asan preset runs this test too) keeps freed memory
# in quarantine and shadows all of it, so its RSS says nothing about ours:
# there, RSS is printed but not checked.
MAX_RSS_KIB = 64 * 1024
with open(ctkit, 'rb') as f:
    SANITIZED = b'__asan_init' in f.read()
if SANITIZED:
    print('a sanitizer build: RSS is not checked')


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def timed_get(port, headers=None):
    """A scrape on a new connection: (status, seconds)."""
    start = time.monotonic()
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
        c.request('GET', '/metrics', headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        status = r.status if b'conntrack_entries' in body or r.status != 200 else -1
    except OSError as e:
        status = f'{type(e).__name__}: {e}'
    return status, time.monotonic() - start


class Exporter:
    """The exporter on a free port, and what its scrapes saw."""

    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [ctkit, 'exporter', '--root', tree,
             '--web.listen-address', f'127.0.0.1:{self.port}', *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.peak_rss = 0

    def ready(self, headers=None):
        scrape(self.port, self.proc, headers=headers)

    def check_scrapes(self, pattern, headers=None, count=5, gap=0.2):
        """`count` scrapes while `pattern` is active: each one 200 in under
        MAX_SCRAPE_S; records the RSS."""
        slowest = 0.0
        for _ in range(count):
            status, seconds = timed_get(self.port, headers)
            expect(status == 200, f'{pattern}: a scrape got {status}')
            expect(seconds < MAX_SCRAPE_S,
                   f'{pattern}: a scrape took {seconds:.3f} s (limit {MAX_SCRAPE_S} s)')
            slowest = max(slowest, seconds)
            self.sample_rss(pattern)
            time.sleep(gap)
        print(f'{pattern}: slowest scrape {slowest * 1000:.1f} ms, '
              f'RSS {rss_kib(self.proc.pid)} KiB')

    def sample_rss(self, pattern):
        rss = rss_kib(self.proc.pid)
        self.peak_rss = max(self.peak_rss, rss)
        expect(SANITIZED or rss < MAX_RSS_KIB,
               f'{pattern}: RSS {rss} KiB (limit {MAX_RSS_KIB} KiB)')

    def stop(self):
        rc = terminate(self.proc)
        expect(rc == 0, f'SIGTERM stops the exporter with 0 (got {rc}: {self.proc.stderr.read()})')


def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    return s


def closed_by_peer(s):
    """Whether the exporter has closed `s` (EOF or a reset), without waiting."""
    s.setblocking(False)
    try:
        return s.recv(1) == b''
    except BlockingIOError:
        return False
    except OSError:
        return True


plain = Exporter()
try:
    plain.ready()
    print(f'baseline: RSS {rss_kib(plain.proc.pid)} KiB')
    plain.check_scrapes('no load')

    # 300 idle connections.
    idle = [connect(plain.port) for _ in range(300)]
    time.sleep(0.2)
    plain.check_scrapes('300 idle connections')
    for s in idle:
        s.close()

    # 50 slowloris clients, a byte of their head every 0.2 s each, for 12 s
    # (past the exporter's 10 s head deadline).
    dribblers = [connect(plain.port) for _ in range(50)]
    head = b'GET /metrics HTTP/1.1\r\nHost: localhost\r\n' + b'X-Slow: a\r\n' * 200
    stop = threading.Event()
    cut_off = set()

    def dribble():
        i = 0
        while not stop.wait(0.2):
            for n, s in enumerate(dribblers):
                if n in cut_off:
                    continue
                try:
                    s.send(head[i:i + 1])
                except OSError:
                    cut_off.add(n)
            i = (i + 1) % len(head)

    dribbling = threading.Thread(target=dribble)
    dribbling.start()
    started = time.monotonic()
    try:
        plain.check_scrapes('50 slowloris clients', count=10, gap=0.5)
        while time.monotonic() - started < 12:
            plain.sample_rss('50 slowloris clients')
            time.sleep(0.5)
    finally:
        stop.set()
        dribbling.join()
    still_open = [n for n, s in enumerate(dribblers) if n not in cut_off and not closed_by_peer(s)]
    expect(not still_open,
           f'the head deadline closes dribbling clients ({len(still_open)} of 50 still open after 12 s)')
    for s in dribblers:
        s.close()

    # 20 clients sending 64 KiB headers, over and over.
    big = b'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Big: ' + b'a' * 65536 + b'\r\n\r\n'
    stop = threading.Event()
    answers = []

    def flood_big():
        while not stop.is_set():
            try:
                s = socket.create_connection(('127.0.0.1', plain.port), timeout=5)
                try:
                    s.sendall(big)
                except OSError:
                    pass  # closed once the head limit was reached
                answers.append(s.recv(64).split(b'\r\n')[0])
                s.close()
            except OSError as e:
                answers.append(type(e).__name__.encode())

    flooders = [threading.Thread(target=flood_big) for _ in range(20)]
    for t in flooders:
        t.start()
    try:
        time.sleep(0.3)
        plain.check_scrapes('20 clients sending 64 KiB headers')
    finally:
        stop.set()
        for t in flooders:
            t.join()
    refused = sum(1 for a in answers if a.startswith(b'HTTP/1.1 431'))
    expect(answers and refused >= len(answers) // 2,
           f'64 KiB headers are answered 431 ({refused} of {len(answers)}: {set(answers)})')
    print(f'64 KiB headers: {refused} of {len(answers)} answered 431')
finally:
    plain.stop()
print(f'peak RSS without auth: {plain.peak_rss} KiB')


# Basic auth: a flood of wrong passwords.
with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import crypt
    hashed = crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
with tempfile.TemporaryDirectory() as work:
    config = os.path.join(work, 'web.yml')
    with open(config, 'w') as f:
        f.write(f'basic_auth_users:\n  prometheus: {hashed}\n')
    good = {'Authorization': 'Basic ' + base64.b64encode(b'prometheus:s3cret').decode()}
    authed = Exporter('--web.config.file', config)
    try:
        authed.ready(headers=good)  # the first check pays bcrypt; later ones do not
        status, _ = timed_get(authed.port)
        expect(status == 401, f'no credentials: {status}')
        outcomes = []
        go = threading.Event()

        def bad_auth(n):
            go.wait()
            wrong = {'Authorization': 'Basic ' +
                     base64.b64encode(f'prometheus:guess{n}'.encode()).decode()}
            outcomes.append(timed_get(authed.port, wrong)[0])

        attackers = [threading.Thread(target=bad_auth, args=(n,)) for n in range(200)]
        for t in attackers:
            t.start()
        go.set()
        try:
            authed.check_scrapes('200 bad-auth requests', headers=good, count=5, gap=0.1)
        finally:
            for t in attackers:
                t.join()
        expect(len(outcomes) == 200 and all(o in (401, 429) for o in outcomes),
               f'wrong passwords are refused: {sorted(set(map(str, outcomes)))}')
        print(f'200 bad-auth requests: {outcomes.count(401)} answered 401, '
              f'{outcomes.count(429)} 429 (bcrypt busy)')
        authed.check_scrapes('after the bad-auth flood', headers=good, count=2)
    finally:
        authed.stop()
    print(f'peak RSS with auth: {authed.peak_rss} KiB')

print('hostile: ' + ('ok' if not failures else f'{len(failures)} failure(s)'))
sys.exit(1 if failures else 0)
