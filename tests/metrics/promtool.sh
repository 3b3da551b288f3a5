#!/usr/bin/env bash
# Holds /metrics to Prometheus's own linter: starts the binary with
# METRICS_ADDR on loopback and a fresh SQLite database, makes a realistic
# session with curl (register, a failed and a good login, posts read up to
# the paywall, an unknown path, logout), scrapes /metrics and runs
# `promtool check metrics` on the scrape. Any problem promtool reports, or
# a contract series missing from the scrape, fails the script. promtool
# comes from Debian's `prometheus` package, installed when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null; then
  echo "-- installing promtool (Debian's prometheus package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
# Built with the ceiling example beside it so that dev-dependencies take
# part in resolving features, as under `cargo test`: the binary the suite
# built is reused, where a plain build would compile some 40 crates again.
cargo build --quiet --bin tollgate --example ceiling
# Where cargo put it: target/ unless CARGO_TARGET_DIR (or a cargo config) moves it.
tollgate=$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/tollgate

port=${PROMTOOL_PORT:-18590}
metrics_port=${PROMTOOL_METRICS_PORT:-18591}
dir=$(mktemp -d)
(
  cd "$dir"
  exec env BCRYPT_COST=4 PORT="$port" HOST=127.0.0.1 DATABASE_URL="$dir/tollgate.db" \
    METRICS_ADDR="127.0.0.1:$metrics_port" FREE_READS=2 RUST_LOG=warn \
    "$tollgate"
) > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$base/health" >/dev/null && break
  sleep 0.1
done
curl -sf "$base/health" >/dev/null || { cat "$dir/server.log"; echo "the server did not start" >&2; exit 1; }

jar="$dir/cookies"
json=(-H 'Content-Type: application/json')
expect() { # expect STATUS curl-args...: one request, its status checked
  local want=$1; shift
  local got
  got=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" "$@")
  [ "$got" = "$want" ] || { echo "expected $want, got $got: $*" >&2; exit 1; }
}
expect 201 "${json[@]}" -d '{"username":"promtool","password":"a long enough passphrase"}' "$base/register"
expect 204 -X DELETE "$base/logout"
expect 401 "${json[@]}" -d '{"username":"promtool","password":"not the passphrase"}' "$base/login"
expect 200 "${json[@]}" -d '{"username":"promtool","password":"a long enough passphrase"}' "$base/login"
expect 200 "$base/check_session"
expect 200 "$base/blog"
expect 200 "$base/blog/1"
expect 200 "$base/blog/2"
expect 200 "$base/blog/1"
expect 402 "$base/blog/3"
expect 404 "$base/no/such/path"
expect 200 "$base/account/events"
expect 204 -X DELETE "$base/logout"

scrape="$dir/metrics.txt"
curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$scrape"
echo "-- promtool check metrics ($(wc -l < "$scrape") lines)"
promtool check metrics < "$scrape"

for series in \
  'tollgate_http_requests_total{method="GET",route="/blog/{id}",status="402"} 1' \
  'tollgate_http_requests_total{method="GET",route="unmatched",status="404"} 1' \
  'tollgate_http_request_duration_seconds_bucket{route="/login",le="+Inf"} 2' \
  'tollgate_logins_total{outcome="success"} 1' \
  'tollgate_logins_total{outcome="failure"} 1' \
  'tollgate_paywall_reads_total{outcome="granted"} 2' \
  'tollgate_paywall_reads_total{outcome="reread"} 1' \
  'tollgate_paywall_reads_total{outcome="refused"} 1' \
  'tollgate_db_pool_connections{state="idle"}' \
  'tollgate_db_pool_connections{state="in_use"}' \
  'tollgate_mail_outbox_pending 0' \
  'tollgate_newsletter_messages_pending 0' \
  'tollgate_build_info{version='; do
  grep -qF "$series" "$scrape" || { echo "missing from the scrape: $series" >&2; exit 1; }
done
# The API's own address never serves it.
expect 401 "$base/metrics"
echo "-- /metrics passes promtool and has the contract's series"
