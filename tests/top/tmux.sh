#!/bin/bash
# `ctkit top` as an operator sees it, on a namespace whose table is full:
# the terminal view under tmux (keys sent, the pane read back) and the
# --once frame.
#
#   tmux.sh CTKIT SOURCE_DIR
#
# The table: loopback TCP connections held open in a private namespace,
# each one ESTABLISHED, ASSURED entry that neither expires during the test
# nor can be early-dropped, against a global nf_conntrack_max lowered to
# 200 for the test (journalled and put back on every exit path:
# tests/lib/global_max.sh). Once the count is at the limit, every further
# SYN is dropped (`drop` counts each, retransmissions included).
#
# The story, each step waited for with a deadline:
#   0. Before the fill, top --once --events counts about 100 entries made a
#      second (UDP to new ports) and none destroyed.
#   1. top --once in the namespace shows its count against the limit
#      (200/200, 100.0 %, "full"), the drops per second and in all, and
#      what holds the table.
#   2. top in a tmux pane shows the namespace's line with the same count,
#      and, after its first table scan, what holds the table (200 tcp
#      ESTABLISHED entries, port tcp/P).
#   3. s sorts by drops, then by name; j and k pick another namespace and
#      back; space pauses (the header says so and the clock stops) and
#      resumes; q quits with status 0.
#   4. The host's nf_conntrack_max is what it was, and the journal is gone.
# Root only: exits 77 (CTest: skipped) otherwise, or without tmux or nft.
set -euo pipefail
CTKIT=$1
SRC=$2
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root"; exit 77; fi
for tool in tmux nft conntrack; do
  if ! command -v $tool >/dev/null; then echo "skipped: needs $tool"; exit 77; fi
done
source "$SRC/tests/lib/lab.sh"
source "$SRC/tests/lib/global_max.sh"

LIMIT=200
TMUX_SOCKET=ctkit-top-$$

fail() { echo "FAIL: $*" >&2; echo "--- the pane:" >&2; pane >&2 || true; exit 1; }
pane() { tmux -L "$TMUX_SOCKET" capture-pane -p -t top 2>/dev/null; }
# Waits until the pane matches the extended regex $1 (5 s unless $2).
wait_pane() {
  local deadline=$((SECONDS + ${2:-5}))
  until pane | grep -Eq -- "$1"; do
    [ $SECONDS -lt $deadline ] || fail "the pane never showed /$1/"
    sleep 0.2
  done
}
keys() { tmux -L "$TMUX_SOCKET" send-keys -t top "$@"; }
# The label of the namespace shown in detail (the line "LABEL: N drops").
picked() { pane | sed -n 's/^\([^ ]*\): [0-9]* drops and.*/\1/p' | head -1; }

lab_begin ctkit-top-
trap 'tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null; restore_max || true; lab_cleanup' EXIT
trap 'exit 129' HUP
skip_unless_max_can_be_lowered "$CTKIT" $LIMIT
NS=ctkit-top-$$-a
lab_netns "$NS"
# Conntrack on in the namespace (a rule that looks at ct state).
nsx "$NS" nft -f - <<NFT
table inet ctkit_top_test {
  chain out { type filter hook output priority 0; ct state new counter accept; }
}
NFT
port=$(nsx "$NS" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# 0. --events, before the fill: 100 UDP datagrams a second to new ports
# make 100 unreplied entries a second, none destroyed (30 s to live).
nsx "$NS" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(400):
    s.sendto(b"x", ("127.0.0.1", 20000 + i))
    time.sleep(0.01)
' &
churn=$!
PIDS+=($churn)
sleep 0.5
events=$(nsx "$NS" "$CTKIT" top --once --this-netns --events --interval 2 \
         --scan-interval 0)
echo "$events"
wait $churn || true
read -r made destroyed < <(echo "$events" |
  awk -v ns="$NS" '$1 == ns {print $6, $7}')
awk -v m="$made" -v d="$destroyed" 'BEGIN {exit !(m >= 50 && m <= 110 && d < 10)}' ||
  fail "top --events shows $made new/s and $destroyed destroyed/s, not about 100 and 0"
nsx "$NS" conntrack -D -p udp >/dev/null 2>&1 || true

journal_max
LOWERED=1
echo $LIMIT >$MAX
echo "nf_conntrack_max lowered from $HOST_MAX to $LIMIT (journalled in $JOURNAL)"

# The fill: a listener and LIMIT + 40 connection attempts, every one that
# succeeds held open; the SYNs beyond the limit are dropped (timeouts).
# Then one more attempt every 0.1 s, each dropped: a table dropping now.
nsx "$NS" python3 - "$port" $((LIMIT + 40)) >"$WORK/fill.log" 2>&1 <<'PY' &
import socket, sys, time
port, tries = int(sys.argv[1]), int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1024)
held = []
for _ in range(tries):
    c = socket.socket()
    c.settimeout(0.3)
    try:
        c.connect(("127.0.0.1", port))
        held.append(c)
        held.append(srv.accept()[0])
    except OSError:
        c.close()
print("held", len(held) // 2, flush=True)
# A new connection tried every 0.1 s: the table stays full and drops.
while True:
    c = socket.socket()
    c.settimeout(0.1)
    try:
        c.connect(("127.0.0.1", port))
    except OSError:
        pass
    c.close()
PY
PIDS+=($!)
deadline=$((SECONDS + 60))
until grep -q held "$WORK/fill.log"; do
  [ $SECONDS -lt $deadline ] || fail "the fill did not finish: $(cat "$WORK/fill.log")"
  sleep 0.5
done
count=$(nsx "$NS" conntrack -C)
[ "$count" = $LIMIT ] || fail "the namespace holds $count entries, not $LIMIT"
echo "the namespace's table is full: $count of $LIMIT ($(cat "$WORK/fill.log"))"

# 1. --once, in the namespace: full, and dropping (about 10 SYNs a
# second, each counted in `drop`).
once=$(nsx "$NS" "$CTKIT" top --once --this-netns --interval 1)
echo "$once"
echo "$once" | grep -Eq "^$NS +$LIMIT/$LIMIT \[#{20}\] 100\.0%" ||
  fail "top --once does not show $LIMIT/$LIMIT for $NS"
echo "$once" | grep -Eq "^$NS .*% +[-+0-9.]+ +([1-9][0-9]*|0\.[1-9])[0-9.]* +[0-9.]+ +full$" ||
  fail "top --once does not show drops per second and full"
echo "$once" | grep -Eq "^$NS: [1-9][0-9]* drops" ||
  fail "top --once shows no drops"
echo "$once" | grep -Eq "states: +tcp ESTABLISHED $LIMIT \(100%\)" ||
  fail "top --once does not show what holds the table"

# 2. The terminal view, 150 x 40.
tmux -L "$TMUX_SOCKET" new-session -d -s top -x 150 -y 40 \
  "$CTKIT top --interval 0.5 --scan-interval 1; echo \$? >$WORK/exit; sleep 30"
wait_pane "^$NS +$LIMIT/$LIMIT \[#{20}\] 100\.0%"
wait_pane "sorted by fill"
wait_pane "ports: +tcp/$port $LIMIT"
[ "$(picked)" = "$NS" ] || fail "the fullest namespace is not the one shown"

# 3. Keys.
keys s; wait_pane "sorted by drops"
keys s; wait_pane "sorted by name"
others=$(pane | grep -Ec '^[^ ]+ +[0-9?]+/[0-9?]+ ' || true)
if [ "$others" -ge 2 ]; then
  before=$(picked)
  forward=j back=k
  keys j; sleep 0.5
  if [ "$(picked)" = "$before" ]; then  # the last one: go up instead
    forward=k back=j
    keys k; sleep 0.5
  fi
  moved=$(picked)
  [ "$moved" != "$before" ] || fail "j/k did not pick another namespace"
  keys $back; sleep 0.5
  [ "$(picked)" = "$before" ] || fail "$back did not go back to $before"
  keys $forward; sleep 0.5
  [ "$(picked)" = "$moved" ] || fail "$forward did not go to $moved again"
fi
keys Space; wait_pane "PAUSED"
clock=$(pane | head -1)
sleep 1.5
[ "$(pane | head -1)" = "$clock" ] || fail "the view refreshed while paused"
keys Space
deadline=$((SECONDS + 5))
while pane | head -1 | grep -q PAUSED; do
  [ $SECONDS -lt $deadline ] || fail "space did not resume"
  sleep 0.2
done
keys q
deadline=$((SECONDS + 5))
until [ -s "$WORK/exit" ]; do
  [ $SECONDS -lt $deadline ] || fail "q did not end top"
  sleep 0.2
done
[ "$(cat "$WORK/exit")" = 0 ] || fail "top exited $(cat "$WORK/exit")"

# 4. The host as it was.
restore_max
[ "$(cat $MAX)" = "$HOST_MAX" ] || fail "nf_conntrack_max is $(cat $MAX), not $HOST_MAX"
[ ! -e "$JOURNAL" ] || fail "the journal $JOURNAL is still there"
echo "PASS: top showed $NS full at $LIMIT/$LIMIT, keys worked, host restored"
