#!/usr/bin/env bash
# tollgate's benchmark, in one invocation: a bare actix-web ceiling and
# tollgate side by side on this machine, the server pinned to core 0 and wrk
# to core 1, every scenario bounded in time, loopback only. Prints a
# Markdown table (throughput, p50/p99, server CPU per request, peak RSS,
# and each figure as a ratio to the ceiling measured seconds apart).
#
#   bash bench/run.sh                  # SQLite, 10 s per scenario
#   BENCH_SECONDS=30 bash bench/run.sh
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${BENCH_SECONDS:-10}
cost=${BENCH_BCRYPT_COST:-10}
server_core=${BENCH_SERVER_CORE:-0}
load_core=${BENCH_LOAD_CORE:-1}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --quiet --release --bin tollgate --example ceiling
tollgate=$root/target/release/tollgate
ceiling=$root/target/release/examples/ceiling

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
ticks_per_second=$(getconf CLK_TCK)

# wrk_run NAME PID URL [wrk args...] -> appends a row to $work/rows
wrk_run() {
  local name=$1 pid=$2 url=$3; shift 3
  local before after out rps p50 p99 reqs
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$load_core" wrk --latency -d "${seconds}s" "$@" "$url")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errors; errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  local cpu_us; cpu_us=$(awk -v t="$((after - before))" -v hz="$ticks_per_second" -v n="$reqs" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }')
  echo "$name|$rps|$p50|$p99|$cpu_us|$(peak_rss_kib "$pid")|$errors" >> "$work/rows"
}

to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } else print v }'; }

# --- the ceiling
taskset -c "$server_core" "$ceiling" serve 18900 & pids+=($!); ceiling_pid=$!
wait_for http://127.0.0.1:18900/check_session
wrk_run "ceiling: bare actix-web, same JSON" "$ceiling_pid" http://127.0.0.1:18900/check_session -t1 -c64
kill "$ceiling_pid"
hash_ms=$(taskset -c "$server_core" "$ceiling" hash "$cost")

# --- tollgate
export BCRYPT_COST=$cost WORKERS=1 RUST_LOG=${BENCH_RUST_LOG:-info} PORT=18901 HOST=127.0.0.1
export LOGIN_MAX_FAILURES=1000000 FREE_READS=5
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  db="tollgate_bench_$$"
  psql "$BENCH_DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="${BENCH_DATABASE_URL%/}/$db" SESSION_SECRET=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
  trap 'cleanup; psql "$BENCH_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
else
  export DATABASE_URL=$work/bench.db
fi
(cd "$work" && exec taskset -c "$server_core" "$tollgate" > "$work/server.log" 2>&1) & pids+=($!); server_pid=$!
wait_for http://127.0.0.1:18901/health
base=http://127.0.0.1:18901

register() { curl -s -D - -o /dev/null "$base/register" -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"a benchmark passphrase\"}" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p'; }
COOKIE=$(register reader); export COOKIE
for i in 1 2 3 4 5; do curl -s -o /dev/null -H "Cookie: $COOKIE" "$base/blog/$i"; done
for i in $(seq 0 63); do register "bench$i" >/dev/null; done

wrk_run "S1 GET /check_session, valid cookie" "$server_pid" "$base/check_session" -t1 -c64 -H "Cookie: $COOKIE"
wrk_run "S2 GET /blog/{id}, unlocked re-reads" "$server_pid" "$base" -t1 -c64 -s bench/lua/reread.lua
wrk_run "S3 anonymous GET /blog (the guard's 401)" "$server_pid" "$base/blog" -t1 -c64
# S4 and S5 together: the storm, and check_session latency while it runs.
taskset -c "$load_core" wrk --latency -d "${seconds}s" -t1 -c16 -s bench/lua/login.lua "$base" > "$work/s4.txt" &
storm=$!
wrk_run "S5 GET /check_session during the S4 storm" "$server_pid" "$base/check_session" -t1 -c4 -H "Cookie: $COOKIE"
wait "$storm"
s4_rps=$(awk '/Requests\/sec/ {print $2}' "$work/s4.txt")
s4_p50=$(awk '$1=="50%" {print $2}' "$work/s4.txt"); s4_p99=$(awk '$1=="99%" {print $2}' "$work/s4.txt")
PREFIX="u$$x" wrk_run "S6 POST /register, new names" "$server_pid" "$base" -t1 -c16 -s bench/lua/register.lua

# --- the table
ceiling_rps=$(head -1 "$work/rows" | cut -d'|' -f2)
s1_p99=$(grep '^S1' "$work/rows" | cut -d'|' -f4)
limit=$(awk -v ms="$hash_ms" 'BEGIN { printf "%.1f", 1000 / ms }')
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), server on core $server_core, wrk on core $load_core; ${seconds}s per scenario; database: ${BENCH_DATABASE_URL:+PostgreSQL}${BENCH_DATABASE_URL:-SQLite}; BCRYPT_COST=$cost."
echo
echo "| scenario | req/s | × ceiling | p50 | p99 | server CPU/req | peak RSS | errors |"
echo "|---|---|---|---|---|---|---|---|"
while IFS='|' read -r name rps p50 p99 cpu rss errors; do
  ratio=$(awk -v a="$rps" -v b="$ceiling_rps" 'BEGIN { printf "%.2f", a / b }')
  echo "| $name | $rps | $ratio | $p50 | $p99 | ${cpu} µs | $((rss / 1024)) MiB | ${errors:-none} |"
done < "$work/rows"
echo "| S4 POST /login storm (16 conn.) | $s4_rps | $(awk -v a="$s4_rps" -v l="$limit" 'BEGIN { printf "%.2f × the bcrypt limit", a / l }') | $s4_p50 | $s4_p99 | - | - | - |"
echo
echo "One bcrypt hash at cost $cost: ${hash_ms} ms, so the limit on one core is ${limit} logins/s."
s5_p99=$(grep '^S5' "$work/rows" | cut -d'|' -f4)
echo "S5 p99 / S1 p99: $(awk -v a="$(to_ms "$s5_p99")" -v b="$(to_ms "$s1_p99")" 'BEGIN { printf "%.1f", a / b }')"
echo "Peak RSS through all scenarios: $(( $(peak_rss_kib "$server_pid") / 1024 )) MiB"
