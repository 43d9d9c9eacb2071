# What the exporter's live tests (live.sh, scale.sh, alerts.sh) share,
# sourced after tests/lib/lab.sh:
#
#   expect WHAT CMD...          run CMD; print "ok: WHAT" or "FAIL: WHAT"
#                               and set fail=1
#   free_port NS                a loopback TCP port free in namespace NS
#   start_prometheus NS EXPORTER_PORT PROMETHEUS_PORT
#                               Debian's Prometheus in NS, on loopback,
#                               scraping the exporter every second as job
#                               "ctkit" and evaluating $WORK/conntrack.rules.yml
#                               every second; logs to $WORK/prometheus.log,
#                               stopped by the lab's cleanup (PIDS)
#   sanitized CTKIT             true when CTKIT is a sanitizer build (the
#                               asan preset runs these tests too), whose
#                               quarantine of freed memory makes RSS bounds
#                               meaningless

fail=0
expect() {  # expect WHAT CONDITION...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

free_port() {  # free_port NS
  nsx "$1" python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_prometheus() {  # start_prometheus NS EXPORTER_PORT PROMETHEUS_PORT
  cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [conntrack.rules.yml]
scrape_configs:
  - job_name: ctkit
    static_configs:
      - targets: ['127.0.0.1:$2']
YML
  ip netns exec "$1" prometheus --config.file="$WORK/prometheus.yml" \
    --storage.tsdb.path="$WORK/data" --web.listen-address="127.0.0.1:$3" \
    >"$WORK/prometheus.log" 2>&1 &
  PIDS+=($!)
}

sanitized() {  # sanitized CTKIT
  grep -q __asan_init "$1"
}
