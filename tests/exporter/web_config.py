#!/usr/bin/env python3
"""`ctkit exporter --web.config.file`: TLS and basic auth as Prometheus and
an operator meet them.

  web_config.py CTKIT SOURCE_DIR

- A self-signed certificate (the openssl CLI) and a bcrypt hash (Python's
  crypt, cost 10) in a web config that names its files relatively: over
  https with the right password the metrics come (200, with the
  configured header); with a wrong password or none, 401 with
  WWW-Authenticate: Basic; plain http to the TLS port gets no metrics (a
  400 that says to use https).
- Clients that hang up as soon as they have asked do not stop it.
- A real Prometheus (Debian's) scrapes it with scheme https, the
  certificate as its CA and basic auth: up == 1.
- client_auth_type RequireAndVerifyClientCert: a client with a
  certificate of the configured CA gets in, one without is refused in the
  handshake.
- Wrong configurations stop the exporter before it listens, with exit 1
  and one line naming the file, the line and the key.
"""
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scrape_lab import expect, failures, free_port, start_prometheus, terminate

ctkit, src = sys.argv[1], sys.argv[2]
tree = os.path.join(src, 'tests/doctor/healthy')


def make_certificate(work, name, cn, san):
    """A self-signed P-256 certificate: work/NAME.crt and work/NAME.key."""
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
                    '-keyout', os.path.join(work, name + '.key'),
                    '-out', os.path.join(work, name + '.crt'),
                    '-subj', f'/CN={cn}', '-addext', f'subjectAltName={san}'],
                   check=True, capture_output=True)
    return os.path.join(work, name + '.crt'), os.path.join(work, name + '.key')


def get(port, headers=None, context=None, tls=True):
    """GET /metrics on a new connection: (status, headers, body) or the
    exception's name."""
    try:
        if tls:
            c = http.client.HTTPSConnection('127.0.0.1', port, timeout=5, context=context)
        else:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
        c.request('GET', '/metrics', headers=headers or {})
        r = c.getresponse()
        out = (r.status, r.headers, r.read().decode(errors='replace'))
        c.close()
        return out
    except (OSError, http.client.HTTPException) as e:
        return (type(e).__name__, {}, str(e))


def start(config, *, context):
    """The exporter with `config`, once it answers over https."""
    port = free_port()
    proc = subprocess.Popen([ctkit, 'exporter', '--root', tree, '--web.config.file', config,
                             '--web.listen-address', f'127.0.0.1:{port}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if isinstance(get(port, context=context)[0], int):
            break
        time.sleep(0.05)
    return port, proc


def stop(proc):
    rc = terminate(proc)
    expect(rc == 0, f'SIGTERM stops the exporter with 0 (got {rc}: {proc.stderr.read()})')


with warnings.catch_warnings():
    warnings.simplefilter('ignore', DeprecationWarning)
    import crypt
    hashed = crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))


def basic(user, password):
    return {'Authorization': 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()}


with tempfile.TemporaryDirectory() as work:
    crt, key = make_certificate(work, 'server', 'localhost', 'DNS:localhost,IP:127.0.0.1')
    config = os.path.join(work, 'web.yml')
    with open(config, 'w') as f:
        f.write(f'''# relative names: from this file's directory
tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: {hashed}
''')
    trusting = ssl.create_default_context(cafile=crt)
    port, exporter = start(config, context=trusting)
    prom = None
    try:
        status, headers, body = get(port, basic('prometheus', 's3cret'), trusting)
        expect(status == 200 and 'conntrack_entries{netns="unknown"} 200\n' in body,
               f'https with the right password: {status} {body[:200]}')
        expect(headers.get('X-Content-Type-Options') == 'nosniff',
               f'the configured header: {dict(headers)}')
        for what, auth in [('a wrong password', basic('prometheus', 'guess')),
                           ('an unknown user', basic('mallory', 's3cret')),
                           ('no credentials', {})]:
            status, headers, body = get(port, auth, trusting)
            expect(status == 401 and headers.get('WWW-Authenticate', '').startswith('Basic'),
                   f'{what}: {status} {dict(headers)}')
            expect('conntrack_entries' not in body, f'{what}: no metrics')
        status, _, body = get(port, basic('prometheus', 's3cret'), tls=False)
        expect(status != 200 and 'conntrack_entries' not in body,
               f'plain http to the TLS port: {status} {body[:200]}')
        expect(status == 400 and 'HTTPS' in body,
               f'plain http to the TLS port is told to use https: {status} {body[:200]}')
        # Clients that hang up right after asking: the exporter's answer
        # meets a closed socket (EPIPE, not a SIGPIPE that would end it).
        for _ in range(20):
            raw = socket.create_connection(('127.0.0.1', port), timeout=5)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            tls = trusting.wrap_socket(raw, server_hostname='127.0.0.1')
            tls.sendall(b'GET /metrics HTTP/1.1\r\nAuthorization: ' +
                        basic('prometheus', 's3cret')['Authorization'].encode() + b'\r\n\r\n')
            tls.close()  # a reset: the answer finds nobody
        time.sleep(0.5)
        status, _, _ = get(port, basic('prometheus', 's3cret'), trusting)
        expect(exporter.poll() is None and status == 200,
               f'clients that hang up do not stop the exporter: {status}, rc {exporter.poll()}')
        untrusting = ssl.create_default_context()
        status, _, _ = get(port, basic('prometheus', 's3cret'), untrusting)
        expect(status == 'SSLCertVerificationError',
               f'a client that does not trust the certificate: {status}')

        # A real Prometheus, scraping over https with basic auth.
        pp = free_port()
        while pp == port:
            pp = free_port()
        prom = start_prometheus(work, port, pp,
                                os.path.join(src, 'deploy/prometheus/conntrack.rules.yml'),
                                job_settings=f'''    scheme: https
    tls_config:
      ca_file: {crt}
    basic_auth:
      username: prometheus
      password: s3cret
''')
        up = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                url = f'http://127.0.0.1:{pp}/api/v1/query?' + urllib.parse.urlencode(
                    {'query': 'up{job="ctkit"}'})
                with urllib.request.urlopen(url, timeout=3) as r:
                    result = json.load(r)['data']['result']
                if result:
                    up = result[0]['value'][1]
                    if up == '1':
                        break
            except OSError:
                pass
            time.sleep(0.5)
        expect(up == '1', f'Prometheus scrapes over https with basic auth: up = {up}')
        if up != '1':
            print(open(os.path.join(work, 'prometheus.log')).read()[-2000:])
    finally:
        if prom is not None:
            prom.send_signal(signal.SIGTERM)
            try:
                prom.wait(timeout=10)
            except subprocess.TimeoutExpired:
                prom.kill()
        stop(exporter)

    # Client certificates: RequireAndVerifyClientCert against a CA.
    client_crt, client_key = make_certificate(work, 'client', 'scraper', 'DNS:scraper')
    mtls = os.path.join(work, 'mtls.yml')
    with open(mtls, 'w') as f:
        f.write(f'''tls_server_config:
  cert_file: {crt}
  key_file: {key}
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: {client_crt}
  client_allowed_sans: [scraper]
''')
    with_cert = ssl.create_default_context(cafile=crt)
    with_cert.load_cert_chain(client_crt, client_key)
    port, exporter = start(mtls, context=with_cert)
    try:
        status, _, body = get(port, context=with_cert)
        expect(status == 200 and 'conntrack_entries' in body, f'a verified client certificate: {status}')
        status, _, body = get(port, context=trusting)
        expect(status != 200 and 'conntrack_entries' not in body,
               f'no client certificate: {status}')
    finally:
        stop(exporter)

    # Wrong configurations: exit 1 before listening, one line naming the
    # file, the line and the key.
    other_crt, other_key = make_certificate(work, 'other', 'other', 'DNS:other')
    wrong = [
        ('tls_server_config:\n  cert_file: server.crt\n  key_fil: server.key\n',
         'web.yml:3: tls_server_config.key_fil: unknown key'),
        ('tls_server_config:\n  cert_file: server.crt\n',
         'web.yml:2: tls_server_config: a certificate without a key'),
        ('basic_auth_users:\n  prometheus: s3cret\n',
         'web.yml:2: basic_auth_users.prometheus: not a bcrypt hash'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n',
         f'web.yml:3: tls_server_config.key_file: cannot read {work}/missing.key'),
        (f'tls_server_config:\n  cert_file: server.crt\n  key_file: {other_key}\n',
         f'web.yml:3: tls_server_config.key_file {other_key}: the key does not match'),
        ('tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n'
         '  min_version: TLS10\n',
         'web.yml:4: tls_server_config.min_version: TLS10 is not offered'),
        ('basic_auth_users: [prometheus]\n',
         'web.yml:1: basic_auth_users: expected a mapping'),
    ]
    for text, want in wrong:
        with open(config, 'w') as f:
            f.write(text)
        r = subprocess.run([ctkit, 'exporter', '--root', tree, '--web.config.file', config,
                            '--web.listen-address', f'127.0.0.1:{free_port()}'],
                           capture_output=True, text=True, timeout=10)
        expect(r.returncode == 1 and r.stderr.startswith('ctkit: error: ')
               and want in r.stderr and r.stderr.count('\n') == 1,
               f'{want!r}: rc {r.returncode}: {r.stderr}')
    r = subprocess.run([ctkit, 'exporter', '--web.config.file', os.path.join(work, 'nope.yml')],
                       capture_output=True, text=True, timeout=10)
    expect(r.returncode == 1 and 'nope.yml: cannot open: No such file' in r.stderr,
           f'a missing web config: rc {r.returncode}: {r.stderr}')

print('web config: ' + ('ok' if not failures else f'{len(failures)} failure(s)'))
sys.exit(1 if failures else 0)
