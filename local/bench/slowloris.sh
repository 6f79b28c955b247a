#!/usr/bin/env bash
# Normal webhooks' latency while one address holds slow-header sockets
# against `inlet serve` (issue 25's experiment):
#
#   bash local/bench/slowloris.sh [INLET_BINARY] [SOCKETS...]
#
# For each count of sockets (default 0 600 2000): a fresh server with one
# unsigned source, local/bench/slowloris.py attacking from 127.0.0.2 for 3 s,
# then 8 webhooks from 127.0.0.1 one after another with curl (5 s timeout),
# each line their status and seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
inlet=${1:-target/debug/inlet}
shift || true
counts=("${@:-0 600 2000}")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
printf '[topics.webhooks]\n[sources.open]\nscheme = "none"\ntopic = "webhooks"\n' > "$work/open.toml"
for sockets in ${counts[*]}; do
  rm -rf "$work/data"
  "$inlet" serve --addr 127.0.0.1:8799 --config "$work/open.toml" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
  server=$!
  sleep 1.5
  attack=
  if [ "$sockets" -gt 0 ]; then
    python3 local/bench/slowloris.py http://127.0.0.1:8799 "$sockets" &
    attack=$!
    sleep 3
  fi
  printf 'sockets %s:' "$sockets"
  for _ in 1 2 3 4 5 6 7 8; do
    curl -s -o /dev/null -m 5 -w ' %{http_code}/%{time_total}s' -X POST \
      -H 'content-type: application/json' -d '{"type":"track"}' \
      http://127.0.0.1:8799/webhooks/open || true
  done
  echo
  [ -n "$attack" ] && kill "$attack" && wait "$attack" 2>/dev/null || true
  kill "$server"; wait "$server" 2>/dev/null || true
done
