#!/bin/bash
# The drop and forecast alerts against a table that really fills: a real
# Prometheus (Debian's) scrapes `ctkit exporter` while real connections fill
# a namespace's conntrack table past its limit; the alerts must fire, and
# clear once the limit is raised.
#
#   alerts.sh CTKIT SOURCE_DIR
#
# The table. On this kernel (6.18) nf_conntrack_max is global: in a child
# namespace it is read-only (0444; writing it fails with EACCES, measured),
# and the limit is that one value compared with each namespace's own count.
# So the test lowers the global to 300 for about a minute. Before it does,
# the host's value goes into kernel-replay's journal (/run/ctkit, format in
# src/kernel/global_journal.cc, under the same flock), and the EXIT/INT/
# TERM/HUP traps write it back; after a SIGKILL the next run of this test,
# kernel-replay, or `ctkit kernel-replay --restore` does. The test refuses
# (skips) when any namespace already holds half of that limit, since every
# namespace on the host is held to it while the test runs.
#
# The traffic. Loopback TCP connections in the namespace, held open: each is
# one ESTABLISHED, ASSURED entry with a 5-day timeout, which neither expires
# during the test nor can be early-dropped, so a full table drops every new
# SYN ("table full in netns N, dropping packet"; `drop` counts each one,
# retransmissions included) and the count stays at the limit. Measured on
# this kernel with the global at 200: such a table gave drop = 357 and
# early_drop = 0 after 5 s full. Unreplied UDP, by contrast, is not ASSURED:
# it gave 199 drops and 1 to 3 early drops (the 8-bucket eviction scan
# seldom finds a victim among 262144 buckets holding 200 entries), and the
# entries expired after nf_conntrack_udp_timeout (30 s), unfilling the
# table. Prometheus's scrapes and the test's queries are TCP too: only the
# fill port is tracked.
#
# The rules. deploy/prometheus/conntrack.rules.yml says `for: 10m` and
# looks 15 minutes back; the test cannot wait that long. It loads a copy in
# which every duration (for, keep_firing_for, range selectors, offsets) is
# divided by 30, made from the real file at each run so that it follows
# edits to the rules: `for: 1m` is 2s, `[5m]` is `[10s]`, `[15m]` is `[30s]`.
# The forecast's threshold is a duration written as a number of seconds
# (seconds_until_full < 1800) and is divided too (60). The real durations
# are covered by promtool's unit tests (conntrack.rules.test.yml). Prometheus
# scrapes and evaluates every second.
#
# The story, each step waited for with a deadline:
#   1. 165 entries (55 % of 300), then 5 new connections a second up to 280:
#      ConntrackTableFullSoon fires before the table is full.
#   2. Growth goes on past the limit: conntrack_drop_total rises,
#      early_drop stays 0, and ConntrackDroppingPackets fires.
#   3. The fix: nf_conntrack_max back to the host's value. New connections
#      are admitted (the count passes 300) and nothing more is dropped;
#      then growth stops. ConntrackTableFullSoon clears at once (usage is
#      tiny), ConntrackDroppingPackets after its scaled rate window and
#      keep_firing_for, and in the end no alert is pending or firing.
#   4. The host's nf_conntrack_max and _buckets are what they were, and the
#      journal is gone.
# Root only: exits 77 (CTest: skipped) otherwise, or when prometheus,
# promtool, nft or conntrack is missing.
set -euo pipefail
CTKIT=$1
SRC=$2
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root"; exit 77; fi
for tool in prometheus promtool nft conntrack; do
  if ! command -v $tool >/dev/null; then echo "skipped: needs $tool"; exit 77; fi
done
source "$SRC/tests/lib/lab.sh"
source "$SRC/tests/exporter/exporter_lab.sh"

SCALE=30     # the rules' durations are divided by this
LIMIT=300    # nf_conntrack_max while the table fills
PRELOAD=165  # entries before Prometheus starts: usage 0.55
HOLD=280     # growth pauses here (93 %) until the forecast alert fired
RATE=5       # new connections a second

BUCKETS=/proc/sys/net/netfilter/nf_conntrack_buckets
HOST_BUCKETS=''
source "$SRC/tests/lib/global_max.sh"

lab_begin ctkit-alerts-
# The global first: it matters to the whole host, the namespaces only here.
trap 'restore_max || true; lab_cleanup' EXIT
trap 'exit 129' HUP
# Values a killed run (of this test or kernel-replay) left changed are put
# back before the host's values are read.
skip_unless_max_can_be_lowered "$CTKIT" $LIMIT
HOST_BUCKETS=$(cat $BUCKETS)
NS=ctkit-alerts-$$-a
lab_netns "$NS"

read -r pe pp pf < <(nsx "$NS" python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
# Conntrack on, and TCP untracked except the fill port's. (Not `tcp dport
# != P tcp sport != P notrack`: nft 1.0 merges the two into one test of the
# port pair, true when either port differs, and that untracks the fill too.)
nsx "$NS" nft -f - <<NFT
table inet ctkit_alerts_test {
  chain raw_out {
    type filter hook output priority raw;
    tcp dport $pf return; tcp sport $pf return; meta l4proto tcp notrack;
  }
  chain raw_pre {
    type filter hook prerouting priority raw;
    tcp dport $pf return; tcp sport $pf return; meta l4proto tcp notrack;
  }
  chain out { type filter hook output priority 0; ct state new counter accept; }
}
NFT

# The rules with every duration divided by SCALE.
python3 - "$SRC/deploy/prometheus/conntrack.rules.yml" \
  "$WORK/conntrack.rules.yml" $SCALE <<'PY'
import re, sys
src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'y': 31536000}
DUR = r'(?:\d+(?:ms|[smhdwy]))+'

def scaled(d):
    ms = round(sum(int(n) * UNITS[u] for n, u in re.findall(r'(\d+)(ms|[smhdwy])', d)) * 1000 / k)
    return f'{ms // 1000}s' if ms % 1000 == 0 else f'{ms}ms'

text = open(src).read()
counts = {}
for name, pattern, repl in [
    ('for/keep_firing_for', rf'^(\s*(?:for|keep_firing_for):\s*)({DUR})[ \t]*$',
     lambda m: m[1] + scaled(m[2])),
    ('range', rf'\[({DUR})(?::({DUR})?)?\]',
     lambda m: '[' + scaled(m[1]) + (':' + (scaled(m[2]) if m[2] else '') if ':' in m[0] else '') + ']'),
    ('offset', rf'\boffset\s+({DUR})', lambda m: 'offset ' + scaled(m[1])),
    # A duration written as seconds: the forecast compared with a threshold.
    ('forecast threshold', r'(seconds_until_full\S*\s*<=?\s*)(\d+(?:\.\d+)?)',
     lambda m: m[1] + f'{float(m[2]) / k:g}')]:
    text, counts[name] = re.subn(pattern, repl, text, flags=re.M)
# Every for/keep_firing_for, and the parts the test relies on, or the copy
# would keep a real duration the test cannot wait for.
keys = len(re.findall(r'^\s*(?:for|keep_firing_for):', open(src).read(), flags=re.M))
if counts['for/keep_firing_for'] != keys or not counts['range'] \
        or not counts['forecast threshold']:
    sys.exit(f'cannot scale the rules: {keys} for/keep_firing_for keys, scaled {counts}')
open(dst, 'w').write(text)
print(f'rules scaled by 1/{k}:', ', '.join(f'{n} {w}' for w, n in counts.items()))
PY
promtool check rules "$WORK/conntrack.rules.yml" >/dev/null

# The fill: one process holding both ends of every connection. SIGUSR1
# moves it to its next phase: ready (PRELOAD connections made) -> grow (RATE
# a second, up to HOLD) -> past (RATE a second, on past the limit) -> stop
# (unanswered connects closed, so no retransmitted SYN adds an entry later;
# the rest held until SIGTERM).
GEN=$(cat <<'PY'
import resource, signal, socket, sys, time
port, rate, preload, hold = (int(a) for a in sys.argv[1:])
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
listener = socket.socket()
listener.bind(('127.0.0.1', port))
listener.listen(4096)
listener.setblocking(False)
phases = ['ready', 'grow', 'past', 'stop']
phase = 0
def next_phase(*_):
    global phase
    phase = min(phase + 1, len(phases) - 1)
signal.signal(signal.SIGUSR1, next_phase)
clients, servers = [], []
def accept_all():
    while True:
        try:
            servers.append(listener.accept()[0])
        except BlockingIOError:
            return
def connect():
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(('127.0.0.1', port))  # EINPROGRESS; a dropped SYN is retried
    clients.append(s)
for _ in range(preload):
    connect()
while len(servers) < preload:
    accept_all()
    time.sleep(0.01)
print('ready', flush=True)
# RATE a second from when growth (re)starts: no burst to catch up after a
# pause at HOLD.
made, due = 0, None
while True:
    accept_all()
    p = phases[phase]
    if p == 'stop':
        for s in clients:
            try:
                s.getpeername()
            except OSError:
                s.close()
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        while True:
            signal.pause()
    if p == 'ready' or (p == 'grow' and preload + made >= hold):
        due = None
        time.sleep(0.02)
        continue
    now = time.monotonic()
    due = now if due is None else due
    if now < due:
        time.sleep(min(due - now, 0.02))
        continue
    connect()
    made += 1
    due += 1 / rate
PY
)
# A metric of this namespace as the exporter reads it now (not through
# Prometheus, which lags a scrape behind).
metric() {  # metric NAME
  nsx "$NS" "$CTKIT" exporter --once --kernel-log "" |
    awk -v m="$1{netns=\"$NS\"}" '$1 == m {print $2}'
}
# Until the namespace holds MIN entries (conntrack -C), or SECONDS pass.
wait_count() {  # wait_count MIN SECONDS
  local deadline=$((SECONDS + $2))
  while [ "$(nsx "$NS" conntrack -C)" -lt "$1" ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

journal_max
LOWERED=1
echo $LIMIT >$MAX
echo "nf_conntrack_max lowered from $HOST_MAX to $LIMIT (journalled in $JOURNAL)"
ip netns exec "$NS" python3 -c "$GEN" "$pf" $RATE $PRELOAD $HOLD >"$WORK/gen.log" &
gen=$!
PIDS+=($gen)
for _ in $(seq 1 100); do
  grep -q ready "$WORK/gen.log" && break
  sleep 0.1
done
expect "$PRELOAD connections made before Prometheus starts" wait_count $PRELOAD 1

ip netns exec "$NS" "$CTKIT" exporter --web.listen-address "127.0.0.1:$pe" \
  >/dev/null 2>"$WORK/exporter.log" &
PIDS+=($!)
start_prometheus "$NS" "$pe" "$pp"

# Prometheus's HTTP API from inside the namespace.
#   api query EXPR          the first sample's value, or nothing
#   api names EXPR          the results' alertname labels
#   api firing ALERT SECS   until ALERT (for this namespace) fires
#   api gone ALERT|* SECS   until ALERT (or every alert) is neither
#                           pending nor firing
# The waits print how long they took, or what was active at the deadline.
# They run in the background: a signal's trap runs at once during `wait`,
# but only after a foreground child ends (the cleanup stops the child, as
# it runs in the namespace).
api() {
  nsx "$NS" python3 - "$pp" "$NS" "$@" <<'PY' &
import json, sys, time, urllib.parse, urllib.request
port, netns, what = sys.argv[1], sys.argv[2], sys.argv[3]
def get(path, **params):
    url = f'http://127.0.0.1:{port}/api/v1/{path}?' + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.load(r)['data']
    except Exception:
        return None
if what in ('query', 'names'):
    res = (get('query', query=sys.argv[4]) or {}).get('result', [])
    if what == 'names':
        print(' '.join(sorted(r['metric'].get('alertname', '?') for r in res)))
    else:
        print(res[0]['value'][1] if res else '')
    sys.exit(0)
name, seconds = sys.argv[4], float(sys.argv[5])
t0 = time.monotonic()
while True:
    data = get('alerts')
    ours = [a for a in (data or {}).get('alerts', [])
            if a['labels'].get('netns') == netns and name in ('*', a['labels']['alertname'])]
    done = data is not None and (
        any(a['state'] == 'firing' for a in ours) if what == 'firing' else not ours)
    if done:
        print(f'  ({what} after {time.monotonic() - t0:.1f} s)')
        sys.exit(0)
    if time.monotonic() - t0 > seconds:
        active = ', '.join(f"{a['labels']['alertname']} {a['state']}" for a in ours)
        print(f'  (after {seconds:.0f} s: {active or "no alert"})')
        sys.exit(1)
    time.sleep(0.5)
PY
  wait $!
}
# Until the first evaluation has recorded a usage ratio.
up='' ratio=''
for _ in $(seq 1 60); do
  up=$(api query 'up{job="ctkit"}')
  ratio=$(api query "netns:conntrack_usage:ratio{netns=\"$NS\"}")
  [ "$up" = 1 ] && [ -n "$ratio" ] && break
  sleep 0.5
done
expect "Prometheus scrapes the exporter (up = 1)" test "$up" = 1
expect "Prometheus evaluates the scaled rules (usage ratio $ratio)" test -n "$ratio"

# 1. Linear growth from 55 % towards the limit: the forecast alert.
kill -USR1 $gen
echo "growing by $RATE a second from $PRELOAD to $HOLD of $LIMIT"
expect "ConntrackTableFullSoon fires while the table fills" \
  api firing ConntrackTableFullSoon 50
expect "nothing dropped before the table is full (drop = $(metric conntrack_drop_total))" \
  test "$(metric conntrack_drop_total)" = 0

# 2. Past the limit: real drops, not early drops.
kill -USR1 $gen
echo "growing on past the limit"
expect "the table reaches its limit ($LIMIT)" wait_count $LIMIT 20
expect "ConntrackDroppingPackets fires" api firing ConntrackDroppingPackets 30
drops=$(metric conntrack_drop_total)
expect "the kernel drops packets (conntrack_drop_total = $drops)" \
  test "${drops:-0}" -gt 0
expect "and evicts nothing: every entry is ASSURED (early_drop = $(metric conntrack_early_drop_total))" \
  test "$(metric conntrack_early_drop_total)" = 0
expect "Prometheus saw the drops" python3 -c "
import sys; sys.exit(0 if float('$(api query "conntrack_drop_total{netns=\"$NS\"}")' or 0) > 0 else 1)"

# 3. The fix: the host's limit back. New connections get in (the count
# passes the old limit) and no drop follows; then growth stops.
restore_max
echo "nf_conntrack_max raised back to $HOST_MAX"
expect "new connections are admitted after the fix" wait_count $((LIMIT + 10)) 15
drops=$(metric conntrack_drop_total)
kill -USR1 $gen
expect "ConntrackTableFullSoon clears once the limit is raised" \
  api gone ConntrackTableFullSoon 10
expect "ConntrackDroppingPackets clears after the drops stop" \
  api gone ConntrackDroppingPackets 60
expect "no alert is pending or firing in the end" api gone '*' 30
expect "no drop since the fix (conntrack_drop_total still $drops)" \
  test "$(metric conntrack_drop_total)" = "$drops"
expect "ConntrackEarlyDropping never fired" test -z "$(api query \
  "max_over_time(ALERTS{alertname=\"ConntrackEarlyDropping\",netns=\"$NS\"}[10m])")"
fired=$(api names "max_over_time(ALERTS{alertstate=\"firing\",netns=\"$NS\"}[10m])")
echo "alerts that fired during the run: $fired"

# 4. The host as it was.
expect "nf_conntrack_max is the host's again ($HOST_MAX)" test "$(cat $MAX)" = "$HOST_MAX"
expect "nf_conntrack_buckets unchanged ($HOST_BUCKETS)" \
  test "$(cat $BUCKETS)" = "$HOST_BUCKETS"
expect "the journal is gone" bash -c "! grep -qx 'pid $$' $JOURNAL 2>/dev/null"
if [ $fail != 0 ]; then
  echo "--- prometheus log"; tail -20 "$WORK/prometheus.log"
  echo "--- exporter log"; cat "$WORK/exporter.log"
  echo "--- fill log"; cat "$WORK/gen.log"
fi
exit $fail
