# Lowering the host's global nf_conntrack_max for a test, journalled, as
# tests/exporter/alerts.sh and tests/top/tmux.sh do (sourced by them).
#
# On this kernel (6.18) nf_conntrack_max is global and read-only in a child
# namespace, so a test that wants a namespace's table full lowers the
# global. Before it does, the host's value goes into kernel-replay's
# journal (/run/ctkit, format in src/kernel/global_journal.cc, under the
# same flock); restore_max writes it back on every exit path the shell
# sees, and after a SIGKILL the next run of such a test, kernel-replay, or
# `ctkit kernel-replay --restore` does.
#
#   skip_unless_max_can_be_lowered CTKIT LIMIT   (sets HOST_MAX)
#   journal_max; LOWERED=1; echo $LIMIT >$MAX
#   ... restore_max                               (also from the EXIT trap)

MAX=/proc/sys/net/netfilter/nf_conntrack_max
JOURNAL_DIR=/run/ctkit
JOURNAL=$JOURNAL_DIR/kernel-replay.state
HOST_MAX=''      # read once a killed run's values are back
LOWERED=0

# Writes the host's nf_conntrack_max back and removes the journal, if this
# run lowered it. Used by every exit path (and as alerts.sh's fix); when the
# write fails the journal stays, so a later run restores the value.
restore_max() {
  [ $LOWERED = 1 ] || return 0
  if ! echo "$HOST_MAX" >$MAX; then
    echo "ERROR: cannot write nf_conntrack_max back to $HOST_MAX;" \
         "$JOURNAL keeps it for \`ctkit kernel-replay --restore\`" >&2
    return 1
  fi
  LOWERED=0
  # Only this run's journal: one another process wrote is not ours.
  ( flock -x 9
    if grep -qx "pid $$" "$JOURNAL" 2>/dev/null; then rm -f "$JOURNAL"; fi
  ) 9>"$JOURNAL_DIR/kernel-replay.lock"
}

# Journals the host's nf_conntrack_max with this shell as the owner (pid and
# start time, /proc/PID/stat field 22, so a reused pid is not taken for
# it), as GlobalJournal::Record does: refused while any journal exists.
journal_max() {
  local start
  start=$(sed 's/.*) //' /proc/$$/stat | awk '{print $20}')
  mkdir -p -m 0700 "$JOURNAL_DIR"
  ( flock -x 9
    if [ -e "$JOURNAL" ]; then
      echo "ERROR: $JOURNAL exists: another process has changed global" \
           "conntrack sysctls; not lowering nf_conntrack_max" >&2
      exit 1
    fi
    { echo "# $0 lowered nf_conntrack_max; the old"
      echo "# value below is written back when it ends, or by the next"
      echo "# \`ctkit kernel-replay --restore\` if it was killed."
      echo "pid $$"
      echo "start $start"
      echo "restore $MAX $HOST_MAX"
    } >"$JOURNAL.tmp.$$"
    sync "$JOURNAL.tmp.$$"
    mv "$JOURNAL.tmp.$$" "$JOURNAL"
  ) 9>"$JOURNAL_DIR/kernel-replay.lock"
}

# Puts back what a killed run left changed (`ctkit kernel-replay
# --restore`), reads the host's value into HOST_MAX, and skips the test
# (exit 77) unless lowering it to LIMIT is safe: the host's limit must be
# well above it, and no namespace may hold half of it already, since every
# namespace on the host is held to the lowered value while the test runs.
skip_unless_max_can_be_lowered() {  # CTKIT LIMIT
  local ctkit=$1 limit=$2 busiest init_count
  "$ctkit" kernel-replay --restore
  HOST_MAX=$(cat $MAX)
  if [ "$HOST_MAX" = 0 ] || [ "$HOST_MAX" -le $((limit * 2)) ]; then
    echo "skipped: nf_conntrack_max is $HOST_MAX; the test lowers it to $limit"
    exit 77
  fi
  busiest=$("$ctkit" exporter --once --all-netns --kernel-log "" |
            awk '/^conntrack_entries\{/ {if ($2 > m) m = $2} END {print m + 0}')
  init_count=$(cat /proc/sys/net/netfilter/nf_conntrack_count)
  if [ "$busiest" -ge $((limit / 2)) ] || [ "$init_count" -ge $((limit / 2)) ]; then
    echo "skipped: a namespace holds $busiest entries (the host's own" \
         "$init_count); lowering nf_conntrack_max to $limit would drop its" \
         "connections"
    exit 77
  fi
}
