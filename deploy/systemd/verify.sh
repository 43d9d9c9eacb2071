#!/bin/sh
# verify.sh CTKIT: `systemd-analyze verify` on ctkit-exporter.service, and on
# the unit with its --all-netns drop-in applied, each with ExecStart pointed
# at CTKIT (the unit names the installed path, which a build tree does not
# have). The drop-in is checked as systemd applies it: its lines after the
# unit's, in one file (an empty ExecStart= resets the list there as in a
# drop-in). Any complaint fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
verify() {  # verify NAME FILE...
  name=$1; shift
  cat "$@" | sed "s#^ExecStart=/usr/local/bin/ctkit #ExecStart=$CTKIT #" \
    > "$tmp/$name"
  grep -q "^ExecStart=$CTKIT " "$tmp/$name"
  out=$(systemd-analyze verify --man=no "$tmp/$name" 2>&1) || {
    echo "$out"; exit 1; }
  if [ -n "$out" ]; then echo "$out"; exit 1; fi
  echo "$name: verified"
}
CTKIT=$1
verify ctkit-exporter.service "$here/ctkit-exporter.service"
verify ctkit-exporter-all-netns.service "$here/ctkit-exporter.service" \
  "$here/ctkit-exporter.service.d/all-netns.conf"
grep -q -- '--all-netns' "$tmp/ctkit-exporter-all-netns.service"
