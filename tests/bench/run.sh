#!/usr/bin/env bash
# The benchmark suite: generates the inputs with dmarcwatch-generate and
# measures with dmarcwatch-bench (see docs/performance.md for the numbers
# and the machine they were taken on).
#
#   tests/bench/run.sh ingest          # 1M rows in 2,000 reports, xml/gz/zip
#   tests/bench/run.sh small           # 20,000 reports of 2 rows, xml/gz/zip/eml
#   tests/bench/run.sh huge            # one 200,000-row report: peak RSS
#   tests/bench/run.sh store 1m|10m    # builds a store, timing it
#   tests/bench/run.sh query 1m|10m    # every dashboard endpoint + 200 clients
#   tests/bench/run.sh paths 1m|10m    # `dmarcwatch paths`
#   tests/bench/run.sh dns             # PTR + forward confirmation of 10,000 IPs
#   tests/bench/run.sh limits          # each stage before a row is stored; pugixml, SQLite, the rollup
#   tests/bench/run.sh all             # all of it (the 10M store takes a while)
#
# BUILD (default build-bench, a RelWithDebInfo build) holds the binaries;
# WORK (default /tmp/dmarcwatch-bench) the generated reports and stores.
# Only 127.0.0.1 is used: serve listens there, unbound too.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
WORK=${WORK:-/tmp/dmarcwatch-bench}
BIN=$BUILD/dmarcwatch
GEN=$BUILD/tests/bench/dmarcwatch-generate
BENCH=$BUILD/tests/bench/dmarcwatch-bench
CONFIG=$ROOT/tests/bench/bench.toml
PORT=${PORT:-18080}
RUNS=${RUNS:-3}

mkdir -p "$WORK"

# Synthetic reports for a store: a year (20 reporters x 365 days) of
# traffic from 5,000 senders that come back every day.
store_shape() {
  case "$1" in
    1m) echo "--reports 7300 --rows-per-report 137" ;;
    10m) echo "--reports 7300 --rows-per-report 1370" ;;
    *) echo "unknown store size $1 (1m or 10m)" >&2; exit 2 ;;
  esac
}

ingest() {
  local dir=$WORK/ingest-1m
  "$GEN" synthetic --out "$dir" --replace --reports 2000 --rows-per-report 500 \
    --formats xml,gz,zip --ipv6-share 0.2 --fail-share 0.3 --seed 1
  "$BENCH" ingest --bin "$BIN" --config "$CONFIG" --dir "$dir" --runs "$RUNS" \
    --db "$WORK/ingest.db"
}

# Reports as most arrive: a record or two each (the shared corpus: median
# 1, 90th percentile 2), from senders that come back, some as emails.
small() {
  local dir=$WORK/ingest-small-reports
  "$GEN" synthetic --out "$dir" --replace --reports 20000 --rows-per-report 2 \
    --formats xml,gz,zip,eml --sources 2000 --ipv6-share 0.2 --fail-share 0.3 --seed 4
  "$BENCH" ingest --bin "$BIN" --config "$CONFIG" --dir "$dir" --runs "$RUNS" \
    --db "$WORK/small.db"
}

huge() {
  local dir=$WORK/huge
  "$GEN" synthetic --out "$dir" --replace --reports 0 --rows-per-report 1 --huge-rows 200000 \
    --formats gz --seed 2
  "$BENCH" ingest --bin "$BIN" --config "$CONFIG" --dir "$dir" --runs "$RUNS" \
    --db "$WORK/huge.db"
}

store() {
  local size=$1 dir=$WORK/store-$1 db=$WORK/store-$1.db
  # shellcheck disable=SC2046
  "$GEN" synthetic --out "$dir" --replace $(store_shape "$size") --reporters 20 \
    --sources 5000 --formats gz --ipv6-share 0.2 --fail-share 0.3 --seed 3
  rm -f "$db" "$db-wal" "$db-shm"
  local start end
  start=$(date +%s.%N)
  "$BIN" --offline --log-level warning --config "$CONFIG" --db "$db" import --quiet "$dir"
  end=$(date +%s.%N)
  echo "store $size built in $(echo "$end - $start" | bc) s: $db ($(du -h "$db" | cut -f1))"
}

serve_start() {
  local db=$1 config=${2:-$CONFIG}
  "$BIN" --offline --log-level warning --config "$config" --db "$db" serve --listen "127.0.0.1:$PORT" \
    >"$WORK/serve.log" 2>&1 &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "serve did not start; see $WORK/serve.log" >&2
  kill "$SERVE_PID"
  exit 1
}

serve_stop() {
  kill "$SERVE_PID"
  wait "$SERVE_PID" || true
}

query() {
  local db=$WORK/store-$1.db computed=$WORK/bench-computed.toml kept=$WORK/bench-kept.toml
  [[ -f $db ]] || store "$1"
  # Every request computed from the rollups: what a view cost before its
  # answer was kept (storage.keep_answers = false, web.cache_ttl = 0s).
  sed 's/^\[web\]$/[storage]\nkeep_answers = false\n\n[web]\ncache_ttl = "0s"/' "$CONFIG" \
    >"$computed"
  echo "== computed (storage.keep_answers = false, web.cache_ttl = 0s)"
  serve_start "$db" "$computed"
  trap serve_stop EXIT
  "$BENCH" query --url "http://127.0.0.1:$PORT" --runs "${QUERY_RUNS:-50}"
  trap - EXIT
  serve_stop
  # Answers kept in the store, none in the process: the first request after
  # an import once serve (or any process) has computed the period's views.
  sed 's/^\[web\]$/[web]\ncache_ttl = "0s"/' "$CONFIG" >"$kept"
  echo "== kept in the store (web.cache_ttl = 0s)"
  serve_start "$db" "$kept"
  trap serve_stop EXIT
  "$BENCH" query --url "http://127.0.0.1:$PORT" --runs "${QUERY_RUNS:-50}"
  trap - EXIT
  serve_stop
  # The defaults: kept in the store and in the process.
  echo "== defaults (kept in the store and by serve until the data changes)"
  serve_start "$db"
  trap serve_stop EXIT
  "$BENCH" query --url "http://127.0.0.1:$PORT" --runs "${QUERY_RUNS:-50}"
  "$BENCH" clients --url "http://127.0.0.1:$PORT" --clients "${CLIENTS:-200}" \
    --seconds "${SECONDS_PER_RUN:-20}" || true
  trap - EXIT
  serve_stop
}

paths() {
  local db=$WORK/store-$1.db
  [[ -f $db ]] || store "$1"
  "$BENCH" paths --bin "$BIN" --config "$CONFIG" --db "$db" --runs "${QUERY_RUNS:-20}"
}

limits() {
  [[ -d $WORK/ingest-1m ]] || "$GEN" synthetic --out "$WORK/ingest-1m" --replace --reports 2000 \
    --rows-per-report 500 --formats xml,gz,zip --ipv6-share 0.2 --fail-share 0.3 --seed 1
  "$BENCH" limits --dir "$WORK/ingest-1m" --db "$WORK/limits.db" --config "$CONFIG"
}

dns() {
  "$BENCH" dns --ips 10000 --db "$WORK/dns.db"
}

case "${1:-}" in
  ingest) ingest ;;
  small) small ;;
  huge) huge ;;
  store) store "${2:?size: 1m or 10m}" ;;
  query) query "${2:?size: 1m or 10m}" ;;
  paths) paths "${2:?size: 1m or 10m}" ;;
  dns) dns ;;
  limits) limits ;;
  all)
    limits
    ingest
    small
    huge
    dns
    for size in 1m 10m; do
      store "$size"
      query "$size"
      paths "$size"
    done
    ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
