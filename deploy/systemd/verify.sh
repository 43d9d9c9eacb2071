#!/bin/sh
# verify.sh CTKIT: `systemd-analyze verify` on ctkit-exporter.service with
# its ExecStart pointed at CTKIT (the unit names the installed path, which a
# build tree does not have). Any complaint fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#^ExecStart=/usr/local/bin/ctkit #ExecStart=$1 #" \
  "$here/ctkit-exporter.service" > "$tmp/ctkit-exporter.service"
grep -q "^ExecStart=$1 " "$tmp/ctkit-exporter.service"
out=$(systemd-analyze verify --man=no "$tmp/ctkit-exporter.service" 2>&1) || {
  echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "ctkit-exporter.service: verified"
