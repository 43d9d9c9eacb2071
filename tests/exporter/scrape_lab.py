"""What the exporter's tests share: their failure list, a free loopback
port, a scrape that waits for the exporter to listen, and a Prometheus of
our own."""
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

failures = []


def expect(cond, what):
    """Records (and prints) a failed check; the test goes on."""
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def terminate(process, timeout=10):
    """SIGTERM, then the exit status; 'hung' (and killed) after `timeout`."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return 'hung'


def free_port():
    """A loopback TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def scrape(port, process, path='/metrics', headers=None, timeout=10):
    """GET http://127.0.0.1:PORT/PATH, waiting up to `timeout` seconds for
    `process` to listen (fails at once if it exits). Returns (headers,
    body bytes)."""
    deadline = time.monotonic() + timeout
    req = urllib.request.Request(f'http://127.0.0.1:{port}{path}', headers=headers or {})
    while True:
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return r.headers, r.read()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.05)


def start_prometheus(work, exporter_port, prometheus_port, rules, job_settings=''):
    """Prometheus (Debian's) in `work`, scraping the exporter every second
    as job "ctkit" and evaluating `rules` every second; logs to
    work/prometheus.log. `job_settings`: more of the job's YAML (scheme,
    tls_config, basic_auth), indented as its keys. Returns the process."""
    with open(os.path.join(work, 'prometheus.yml'), 'w') as f:
        f.write(f'''global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['{rules}']
scrape_configs:
  - job_name: ctkit
    static_configs:
      - targets: ['127.0.0.1:{exporter_port}']
{job_settings}''')
    return subprocess.Popen(['prometheus', f'--config.file={work}/prometheus.yml',
                             f'--storage.tsdb.path={work}/data',
                             f'--web.listen-address=127.0.0.1:{prometheus_port}'],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(work, 'prometheus.log'), 'w'))
