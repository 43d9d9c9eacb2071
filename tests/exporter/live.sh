#!/bin/bash
# `ctkit exporter` on a live namespace, scraped by a real Prometheus.
#
#   live.sh CTKIT SOURCE_DIR
#
# In a namespace of its own (tests/lib/lab.sh: removed on every exit path,
# and after a killed run by the next one), with 300 UDP entries made over
# loopback (the per-namespace UDP timeout raised so none expires mid-test):
#   - `exporter --once` shows the count `conntrack -C` shows, the statistics
#     from ctnetlink, and the namespace's name as its netns label;
#   - `exporter --once --all-netns`, run from the host, shows a second
#     namespace's 7 entries beside the first's 300, each under its name;
#   - Prometheus (Debian's), scraping the exporter every second with
#     deploy/prometheus/conntrack.rules.yml loaded, answers queries for the
#     count, `up`, and the recording rule's usage ratio.
# Root only: exits 77 (CTest: skipped) otherwise.
set -euo pipefail
CTKIT=$1
SRC=$2
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root"; exit 77; fi
source "$SRC/tests/lib/lab.sh"
source "$SRC/tests/exporter/exporter_lab.sh"
lab_begin ctkit-exporter-
NS=ctkit-exporter-$$-a
lab_netns "$NS"

# Conntrack on in the namespace, UDP entries that outlive the test, and
# TCP untracked: Prometheus's scrapes and the queries are TCP over the same
# loopback and would add entries while the test compares counts.
nsx "$NS" nft -f - <<'NFT'
table inet ctkit_exporter_test {
  chain raw_out { type filter hook output priority raw; meta l4proto tcp notrack; }
  chain raw_pre { type filter hook prerouting priority raw; meta l4proto tcp notrack; }
  chain out { type filter hook output priority 0; ct state new counter accept; }
}
NFT
nsx "$NS" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
nsx "$NS" python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(20000, 20300):
    s.sendto(b'x', ('127.0.0.1', port))
PY
want=$(nsx "$NS" conntrack -C)
once=$(nsx "$NS" "$CTKIT" exporter --once)
got=$(awk -v ns="$NS" '$1 == "conntrack_entries{netns=\"" ns "\"}" {print $2}' <<<"$once")
expect "the count ($got) is conntrack -C's ($want) under the namespace's name" \
  test "$got" = "$want"
expect "300 or more entries" test "${want:-0}" -ge 300
expect "statistics from ctnetlink" \
  grep -q "^conntrack_collector_info{netns=\"$NS\",source=\"netlink\"} 1$" <<<"$once"
expect "promtool accepts the live output" \
  sh -c 'promtool check metrics >/dev/null 2>&1' <<<"$once"

# --all-netns: a second namespace with 7 entries beside the first's 300;
# each under its own name, with conntrack -C's count.
NS2=ctkit-exporter-$$-b
lab_netns "$NS2"
nsx "$NS2" nft -f - <<'NFT'
table inet ctkit_exporter_test {
  chain out { type filter hook output priority 0; ct state new counter accept; }
}
NFT
nsx "$NS2" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
nsx "$NS2" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(30000, 30007):
    s.sendto(b"x", ("127.0.0.1", port))'
all=$("$CTKIT" exporter --once --all-netns)
for n in "$NS" "$NS2"; do
  c=$(nsx "$n" conntrack -C)
  g=$(awk -v ns="$n" '$1 == "conntrack_entries{netns=\"" ns "\"}" {print $2}' <<<"$all")
  expect "--all-netns: $n holds $c (conntrack -C), the exporter says $g" test "$g" = "$c"
  expect "--all-netns: $n is in conntrack_netns_info with its name" \
    grep -q "^conntrack_netns_info{netns=\"$n\",inode=\"[0-9]*\",name=\"$n\"," <<<"$all"
done
expect "--all-netns: promtool accepts it" \
  sh -c 'promtool check metrics >/dev/null 2>&1' <<<"$all"

pe=$(free_port "$NS")
pp=$(free_port "$NS")
while [ "$pp" = "$pe" ]; do pp=$(free_port "$NS"); done
ip netns exec "$NS" "$CTKIT" exporter --web.listen-address "127.0.0.1:$pe" \
  >/dev/null 2>"$WORK/exporter.log" &
PIDS+=($!)
cp "$SRC/deploy/prometheus/conntrack.rules.yml" "$WORK/"
start_prometheus "$NS" "$pe" "$pp"

# PromQL through the HTTP API, from inside the namespace: the first
# sample's value, or nothing.
query() {
  nsx "$NS" python3 - "$pp" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = f'http://127.0.0.1:{sys.argv[1]}/api/v1/query?' + urllib.parse.urlencode({'query': sys.argv[2]})
try:
    with urllib.request.urlopen(url, timeout=2) as r:
        res = json.load(r)['data']['result']
    print(res[0]['value'][1] if res else '')
except Exception:
    print('')
PY
}
ratio=''
for _ in $(seq 1 60); do
  ratio=$(query 'netns:conntrack_usage:ratio{job="ctkit"}')
  [ -n "$ratio" ] && break
  sleep 0.5
done
expect "Prometheus scraped the exporter (up = 1)" \
  test "$(query 'up{job="ctkit"}')" = 1
expect "Prometheus has the count ($want)" \
  test "$(query "conntrack_entries{job=\"ctkit\",netns=\"$NS\"}")" = "$want"
max=$(nsx "$NS" cat /proc/sys/net/netfilter/nf_conntrack_max)
expect "the recording rule gives count / limit ($ratio)" python3 -c "
import sys; r = float('${ratio:-nan}'); sys.exit(0 if abs(r - $want / $max) < 1e-9 else 1)"
expect "no alert fires on a quiet table" \
  test "$(query 'count(ALERTS{alertstate="firing"})')" = ""
if [ $fail != 0 ]; then
  echo "--- prometheus log"; tail -20 "$WORK/prometheus.log"
  echo "--- exporter log"; cat "$WORK/exporter.log"
fi
exit $fail
