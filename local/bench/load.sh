#!/usr/bin/env bash
# Load benchmark of `inlet serve` (release build) with wrk, a signing load
# generator and a SignalR load generator (the hub), side by side with a bare server (tests/src/bin/bare-server.rs:
# reads the body, answers 200) driven by the same requests, so each figure is
# printed with its ratio to what a server can answer on this machine. Ends
# with a no-loss check: the records in each topic equal the 2xx answers.
#   bash local/bench/load.sh             # embedded durable log (the default sink)
#   bash local/bench/load.sh --kinesis   # kinesalite as the sink (measures the emulator too)
# DURATION (default 10s) sets each run's length. INLET_BIN runs that binary
# instead of building target/release/inlet (to compare two builds).
# DEDUPE_SECONDS (default 60) sets the length of the two runs with distinct
# delivery ids (dedupe on, the default, and off); 0 skips them.
# INLET_NO_METRICS=1 serves without metrics (`inlet serve --no-metrics`), to
# measure what they cost; the "cpu us" column is the server's CPU time
# (user + system, from /proc/<pid>/stat) per answered request.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BENCH_DIR="$PWD/local/bench"
DURATION=${DURATION:-10s}
DEDUPE_SECONDS=${DEDUPE_SECONDS:-60}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
SINK=embedded
[ "${1:-}" = "--kinesis" ] && SINK=kinesis

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (Debian package)"
  apt-get install -y -qq wrk >/dev/null
fi
INLET_BIN=${INLET_BIN:-}
if [ -z "$INLET_BIN" ]; then
  echo "==> building the release binaries"
  cargo build --release -q -p inlet
  INLET_BIN=$TARGET_DIR/release/inlet
fi
[ "$SINK" = kinesis ] && cargo build --release -q -p inlet-e2e --bin emulators && npm ci --prefix tests --no-audit --no-fund --loglevel=error
echo "==> building the reference server and the webhook and hub load generators"
cargo build --release -q -p inlet-e2e --bin bare-server --bin webhook-load --bin hub-load --bin reader-load --bin delivery-load

work=$(mktemp -d)
server=""
emu=""
bare=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$bare" ] && kill "$bare" 2>/dev/null || true
  [ -n "$emu" ] && kill "$emu" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 "$BENCH_DIR/make_webhooks.py" "$work/webhooks.txt" bench-secret 20000
export REQUESTS="$work/webhooks.txt" TOKEN=bench-token
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

sink_args=()
if [ "$SINK" = kinesis ]; then
  mkfifo "$work/emu-in"
  "$TARGET_DIR"/release/emulators serve inlet-webhooks inlet-telemetry < "$work/emu-in" > "$work/emu.out" &
  emu=$!
  exec 9> "$work/emu-in"
  for _ in $(seq 100); do grep -q DYNAMODB "$work/emu.out" 2>/dev/null && break; sleep 0.1; done
  export $(grep AWS_ENDPOINT_URL_KINESIS "$work/emu.out")
  export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
  sink_args=(--sink kinesis)
fi

INLET_DEMO_SECRET=bench-secret INLET_DEMO_TOKEN=bench-token RUST_LOG=warn \
  "$INLET_BIN" serve --addr "127.0.0.1:$port" --data-dir "$work/data" "${sink_args[@]}" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$url/openapi.json" && break; sleep 0.1; done

# The reference, measured first with the same requests.
bare_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bare_url="http://127.0.0.1:$bare_port"
"$TARGET_DIR"/release/bare-server "127.0.0.1:$bare_port" > "$work/bare.log" 2>&1 &
bare=$!
for _ in $(seq 100); do curl -sf -o /dev/null -X POST "$bare_url/" && break; sleep 0.1; done
wrk_rps() { # url conns script
  wrk -t2 -c"$2" -d"$DURATION" -s "$BENCH_DIR/$3" "$1" | grep '^RESULT' | sed -E 's/.* rps=([0-9.]+).*/\1/'
}
declare -A BARE
BARE[webhooks]=$(wrk_rps "$bare_url" 64 webhooks.lua)
BARE[events]=$(wrk_rps "$bare_url" 64 events.lua)
if [ "$DEDUPE_SECONDS" != 0 ]; then
  BARE[distinct]=$("$TARGET_DIR"/release/webhook-load "$bare_url" bench-secret 64 "$DEDUPE_SECONDS" | sed -E 's/.* rps=([0-9.]+).*/\1/')
fi
kill "$bare"; wait "$bare" 2>/dev/null || true; bare=""
ratio() { awk "BEGIN { if ($2 > 0) printf \"%.2fx\", $1 / $2; else print \"-\" }"; }

echo
echo "inlet serve, sink: $SINK, $DURATION per run, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo "bare = the reference server's req/s with the same requests and connections; ratio = inlet / bare"
printf '%-28s %6s %10s %10s %10s %9s %9s %8s %10s %7s %8s\n' workload conns 'req/s' 'records/s' 'rows/s' 'p50 ms' 'p99 ms' non-2xx 'bare' ratio 'cpu us'
# The server's CPU time (user + system, from /proc) per answered request.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
webhooks_ok=0
telemetry_ok=0
# wrk stops each run with requests in flight: the server may store those
# without wrk counting their 2xx, at most one per connection.
webhooks_inflight=0
telemetry_inflight=0
run() { # name conns script records-per-request rows-per-request [reference]
  local threads=2
  [ "$2" -lt 2 ] && threads=1
  local line cpu_before cpu_us
  cpu_before=$(cpu_ticks)
  line=$(wrk -t"$threads" -c"$2" -d"$DURATION" --latency -s "$BENCH_DIR/$3" "$url" | grep '^RESULT')
  local rps ok bad p50 p99 errs
  rps=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$line")
  ok=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.* non2xx=([0-9]+).*/\1/' <<<"$line")
  errs=$(sed -E 's/.* socket_errors=([0-9]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.* p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.* p99_ms=([0-9.]+).*/\1/' <<<"$line")
  local reference="" versus=""
  if [ -n "${6:-}" ]; then reference=$(printf '%.0f' "$6"); versus=$(ratio "$rps" "$6"); fi
  cpu_us=$(awk "BEGIN { if ($ok > 0) printf \"%.1f\", ($(cpu_ticks) - $cpu_before) * 1000000 / $clk_tck / $ok; else print \"-\" }")
  printf '%-28s %6s %10.0f %10.0f %10.0f %9s %9s %8s %10s %7s %8s\n' "$1" "$2" "$rps" "$(awk "BEGIN{print $rps * $4}")" "$(awk "BEGIN{print $rps * $5}")" "$p50" "$p99" "$((bad + errs))" "$reference" "$versus" "$cpu_us"
  LAST_OK=$ok
  LAST_RPS=$rps
}
# The SignalR hub through hub-load (tests/src/bin/hub-load.rs): calls kept in
# flight per connection; it waits for the last ones, so its count is exact.
hub_run() { # name conns in-flight rows-per-call [--parameters ROWS]
  local line rps ok errs p50 p99
  line=$("$TARGET_DIR"/release/hub-load "$url" bench-token "$2" "$3" "${DURATION%s}" "${@:5}")
  rps=$(sed -E 's/.* rps=([0-9.]+).*/\1/' <<<"$line")
  ok=$(sed -E 's/.* ok=([0-9]+).*/\1/' <<<"$line")
  errs=$(sed -E 's/.* errors=([0-9]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.* p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.* p99_ms=([0-9.]+).*/\1/' <<<"$line")
  printf '%-28s %6s %10.0f %10.0f %10.0f %9s %9s %8s %10s %7s\n' "$1" "$2" "$rps" "$rps" "$(awk "BEGIN{print $rps * $4}")" "$p50" "$p99" "$errs" "" ""
  LAST_OK=$ok
  LAST_RPS=$rps
}
for conns in 1 16 64; do
  reference=""
  [ "$conns" = 64 ] && reference=${BARE[webhooks]}
  run "signed Segment webhooks" "$conns" webhooks.lua 1 0 $reference
  webhooks_ok=$((webhooks_ok + LAST_OK))
  webhooks_inflight=$((webhooks_inflight + conns))
done
run "Writer API events" 64 events.lua 1 0 "${BARE[events]}"
telemetry_ok=$((telemetry_ok + LAST_OK))
http_events=$LAST_RPS
run "Writer API parameters x100" 64 parameters.lua 1 100
telemetry_ok=$((telemetry_ok + LAST_OK))
http_parameters=$LAST_RPS
telemetry_inflight=128
hub_run "hub SendEventData, 16 each" 64 16 1
telemetry_ok=$((telemetry_ok + LAST_OK))
hub_events=$LAST_RPS
hub_run "hub parameters x100, 64 each" 1 64 100 --parameters 100
telemetry_ok=$((telemetry_ok + LAST_OK))
hub_parameters=$LAST_RPS
echo "hub / HTTP: one-event calls $(ratio "$hub_events" "$http_events") of Writer API event requests (target 2x);"
echo "            parameter rows over one connection $(ratio "$hub_parameters" "$http_parameters") of Writer API parameter rows over 64 (target 1x)"

# The Reader hub (tests/src/bin/reader-load.rs): a writer calls SendEventData
# 1,000 times a second; each subscriber times every PackageReceived from the
# moment its call was sent.
echo
echo "Reader hub: SendEventData at 1,000 calls/s, each timed to every subscriber's PackageReceived"
printf '%-28s %10s %10s %12s %9s %9s %9s\n' subscribers 'pushes/s' pushes expected 'p50 ms' 'p99 ms' 'max ms'
for subscribers in 1 100; do
  line=$("$TARGET_DIR"/release/reader-load "$url" bench-token telemetry "$subscribers" 1000 "${DURATION%s}")
  field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
  printf '%-28s %10s %10s %12s %9s %9s %9s\n' "$subscribers" "$(field pushes_per_s)" "$(field pushes)" "$(field expected)" "$(field p50_ms)" "$(field p99_ms)" "$(field max_ms)"
  telemetry_ok=$((telemetry_ok + $(field expected) / subscribers))
  telemetry_inflight=$((telemetry_inflight + 1000))
done

kill -TERM "$server"
wait "$server" 2>/dev/null || true
server=""

echo
echo "no-loss check: every 2xx is a record in the stream (records - 2xx <= requests in flight when wrk stopped):"
count() {
  if [ "$SINK" = kinesis ]; then
    "$TARGET_DIR"/release/emulators count "$AWS_ENDPOINT_URL_KINESIS" "inlet-$1"
  else
    "$INLET_BIN" tail "$1" --no-follow --data-dir "$work/data" | wc -l
  fi
}
status=0
for triple in "webhooks $webhooks_ok $webhooks_inflight" "telemetry $telemetry_ok $telemetry_inflight"; do
  set -- $triple
  stored=$(count "$1")
  extra=$((stored - $2))
  if [ "$extra" -lt 0 ]; then
    verdict="LOST $((-extra)) acknowledged records"; status=1
  elif [ "$extra" -gt "$3" ]; then
    verdict="$extra unacknowledged records, more than the $3 in flight"; status=1
  else
    verdict="ok (+$extra stored from requests in flight at the cut-off)"
  fi
  printf '  %-10s 2xx=%-9s records=%-9s %s\n' "$1" "$2" "$stored" "$verdict"
done

if [ "$DEDUPE_SECONDS" != 0 ] && [ "$SINK" = embedded ]; then
  echo
  echo "Signed Segment webhooks, each with a new messageId (signed as sent), 64 connections, ${DEDUPE_SECONDS}s:"
  printf '%-28s %10s %9s %9s %9s %8s %10s %7s  %s\n' dedupe 'req/s' 'p50 ms' 'p99 ms' 'max ms' non-2xx bare ratio no-loss
  for mode in on off; do
    config_args=()
    [ "$mode" = off ] && config_args=(--config "$BENCH_DIR/dedupe-off.toml")
    INLET_DEMO_SECRET=bench-secret INLET_DEMO_TOKEN=bench-token RUST_LOG=warn \
      "$INLET_BIN" serve --addr "127.0.0.1:$port" --data-dir "$work/data-$mode" "${config_args[@]}" > "$work/serve-$mode.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf -o /dev/null "$url/health" && break; sleep 0.1; done
    line=$("$TARGET_DIR"/release/webhook-load "$url" bench-secret 64 "$DEDUPE_SECONDS")
    kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
    field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
    ok=$(field ok)
    stored=$("$INLET_BIN" tail webhooks --no-follow --data-dir "$work/data-$mode" | wc -l)
    extra=$((stored - ok))
    if [ "$extra" -lt 0 ] || [ "$extra" -gt 64 ]; then verdict="FAILED: 2xx=$ok records=$stored"; status=1; else verdict="ok (2xx=$ok, records=$stored)"; fi
    printf '%-28s %10s %9s %9s %9s %8s %10.0f %7s  %s\n' "$mode" "$(field rps)" "$(field p50_ms)" "$(field p99_ms)" "$(field max_ms)" "$(( $(field non2xx) + $(field socket_errors) ))" "${BARE[distinct]}" "$(ratio "$(field rps)" "${BARE[distinct]}")" "$verdict"
  done
fi

# Destinations (tests/src/bin/delivery-load.rs): a topic of ~1 KiB records
# drained by a destination, from the embedded log to the end (durable
# progress included). PostgreSQL (fsync on), raw layout, beside one client
# inserting the same rows with the same statement; HTTP, unbatched and
# unordered, to the bare server, beside wrk's figure against it above.
echo
echo "Destinations (records delivered out of the embedded log):"
"$TARGET_DIR"/release/delivery-load postgres "${DELIVERY_ROWS:-200000}"
bare_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TARGET_DIR"/release/bare-server "127.0.0.1:$bare_port" > "$work/bare-delivery.log" 2>&1 &
bare=$!
for _ in $(seq 100); do curl -sf -o /dev/null -X POST "http://127.0.0.1:$bare_port/" && break; sleep 0.1; done
line=$("$TARGET_DIR"/release/delivery-load http "http://127.0.0.1:$bare_port/hook" "${DELIVERY_RECORDS:-100000}")
kill "$bare"; wait "$bare" 2>/dev/null || true; bare=""
echo "$line; wrk against the bare server: ${BARE[webhooks]} req/s, ratio $(ratio "$(sed -E 's/.* inlet ([0-9.]+) records.*/\1/' <<<"$line")" "${BARE[webhooks]}")"
exit $status
