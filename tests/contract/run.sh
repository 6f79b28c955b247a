#!/usr/bin/env bash
# The Writer API against its OpenAPI document, both ways, with schemathesis:
# every schema-valid request is accepted, every schema-violating one refused
# with a documented status, every answer matches its documented shape, and
# nothing answers 5xx. Starts `inlet serve` (the demo set-up) on a free
# loopback port with a fresh data directory, runs a bounded number of
# examples per operation (EXAMPLES, default 40), and stops it.
#
#   bash tests/contract/run.sh [path/to/inlet]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
inlet="${1:-$root/target/debug/inlet}"
st="$root/.venv/bin/st"
[ -x "$st" ] || { echo "schemathesis is not installed: bash tests/run.sh installs it into .venv" >&2; exit 2; }
[ -x "$inlet" ] || { echo "no inlet binary at $inlet: cargo build -p inlet" >&2; exit 2; }

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export INLET_TOKEN="contract-$RANDOM$RANDOM"
INLET_DEMO_TOKEN="$INLET_TOKEN" "$inlet" serve --addr "127.0.0.1:$port" --data-dir "$work/data" \
  > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" > /dev/null 2>&1 && break
  sleep 0.1
done

cd "$here"
PYTHONPATH="$here" "$st" --config-file "$here/schemathesis.toml" run \
  "http://127.0.0.1:$port/openapi.json" \
  --checks all --max-examples "${EXAMPLES:-40}" --seed "${SEED:-20261124}" \
  --workers 1 --output-truncate false --report-dir "$work/report" \
  || { echo "--- inlet serve's log:"; tail -50 "$work/serve.log"; exit 1; }
