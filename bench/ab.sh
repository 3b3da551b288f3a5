#!/usr/bin/env bash
# Two builds of tollgate compared on a noisy host: both servers pinned to
# the same core *at once* (each with its own database and logged-in
# reader), one wrk each on another core, so whatever else the host does
# hits both alike. Prints, per round, each build's CPU per request (from
# /proc), its throughput and its p99 (wrk's), and B's as a fraction of
# A's: a change is judged on all three, since a wait (a stall on the
# network, a lock) costs no CPU and shows only in the other two. The same build against itself
# comes out a few per cent apart by position, so run it in both orders
# and combine the two ratios (bench/README.md, "Comparing two builds"):
#
#   cp target/release/tollgate /tmp/before   # build, change, build again
#   bash bench/ab.sh /tmp/before target/release/tollgate
#   bash bench/ab.sh target/release/tollgate /tmp/before
#
#   AB_SCENARIO=S2   re-reads of an unlocked post instead of check_session
#   AB_SCENARIO=S3   anonymous GET /blog (the guard's 401), no cookie
#   AB_SCENARIO=S10  A re-reads post 3 by id and B by its slug: give the
#                    same build twice to weigh a read by slug against one
#                    by id, each server on its own database
#   AB_PATH=/blog    instead of a scenario, any path both read with the
#                    reader's cookie (e.g. '/blog?page=2')
#   AB_POSTGRES=postgres://postgres@127.0.0.1:5432/
#                    each build on a fresh database of that PostgreSQL server
#                    (dropped afterwards) instead of a SQLite file; each
#                    line then also gives the CPU per request of the
#                    server's backends serving that build's database
#   AB_SECONDS=8 AB_ROUNDS=3        the defaults
#   AB_LOG_B=warn                   B's RUST_LOG (AB_LOG_A likewise; info)
#   AB_SQL_A=file.sql               run against A's database once it serves,
#                    before the reader registers (AB_SQL_B likewise): e.g.
#                    give an older build's post the bytes of a newer answer
#   AB_POSTS=100000  fill each database with that many more published posts
#                    (bench/seed_posts.sh) before the reader registers
set -euo pipefail
a=$1 b=$2
seconds=${AB_SECONDS:-8} rounds=${AB_ROUNDS:-3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
export BCRYPT_COST=4 WORKERS=1 HOST=127.0.0.1 FREE_READS=5
export LOGIN_MAX_FAILURES=1000000 REGISTER_MAX_PER_IP_PER_HOUR=1000000000
export LOGIN_MAX_FAILURES_PER_IP=1000000000 FORGOT_MAX_PER_IP_PER_HOUR=1000000000
work=$(mktemp -d)
pids=()
server=${AB_POSTGRES:-}
server=${server%/}
[ -z "${AB_SQL_A:-}${AB_SQL_B:-}" ] || [ -n "$server" ] || command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
databases() { # create|drop
  [ -n "$server" ] || return 0
  for port in 18921 18922; do
    psql -q -X "$server/postgres" -c "DROP DATABASE IF EXISTS tollgate_ab_$port WITH (FORCE)" >/dev/null 2>&1
    [ "$1" = drop ] || psql -q -X "$server/postgres" -c "CREATE DATABASE tollgate_ab_$port" >/dev/null
  done
}
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; databases drop || true; rm -rf "$work"' EXIT
databases create
# PostgreSQL keeps no generated key beside a file: each server gets one.
[ -z "$server" ] || { SESSION_SECRET=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n'); export SESSION_SECRET; }
database_url() { # PORT
  if [ -n "$server" ]; then echo "$server/tollgate_ab_$1"; else echo "sqlite://$work/$1.db"; fi
}
start() { # BINARY PORT LOG
  (cd "$work" && RUST_LOG=$3 PORT=$2 DATABASE_URL="$(database_url "$2")" exec taskset -c 0 "$1" > "$work/$2.log" 2>&1) &
  pids+=($!)
}
start "$a" 18921 "${AB_LOG_A:-info}"
start "$b" 18922 "${AB_LOG_B:-info}"
cookie() {
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/health" && break; sleep 0.05; done
  curl -s -D - -o /dev/null "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"username":"reader","password":"a benchmark passphrase"}' |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p'
}
prepare() { # PORT SQL-FILE
  [ -n "$2${AB_POSTS:-}" ] || return 0
  for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/health" && break; sleep 0.05; done
  [ -z "${AB_POSTS:-}" ] || bash "$(dirname "$0")/seed_posts.sh" "$(database_url "$1")" "$AB_POSTS"
  [ -n "$2" ] || return 0
  if [ -n "$server" ]; then psql -q -X -v ON_ERROR_STOP=1 "$(database_url "$1")" -f "$2" >/dev/null
  else sqlite3 -bail "$work/$1.db" < "$2"; fi
}
prepare 18921 "${AB_SQL_A:-}"
prepare 18922 "${AB_SQL_B:-}"
cookie_a=$(cookie 18921) cookie_b=$(cookie 18922)
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -H "Cookie: $cookie_a" "http://127.0.0.1:18921/blog/$i"
  curl -s -o /dev/null -H "Cookie: $cookie_b" "http://127.0.0.1:18922/blog/$i"
done
path=/check_session
[ "${AB_SCENARIO:-S1}" = S2 ] && path=/blog/3
send_a=(-H "Cookie: $cookie_a") send_b=(-H "Cookie: $cookie_b")
if [ "${AB_SCENARIO:-S1}" = S3 ]; then path=/blog send_a=() send_b=(); fi
[ -z "${AB_PATH:-}" ] || path=$AB_PATH
path_b=$path
if [ "${AB_SCENARIO:-S1}" = S10 ]; then
  path=/blog/3
  path_b=/blog/$(curl -s -H "Cookie: $cookie_b" "http://127.0.0.1:18922/blog/3" | sed -n 's/.*"slug":"\([^"]*\)".*/\1/p')
  [ "$path_b" != /blog/ ] || { echo "post 3 has no slug" >&2; exit 1; }
fi
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
backends() { # PORT: "pid ticks" of each PostgreSQL backend on that build's database
  [ -n "$server" ] || return 0
  psql -AtX "$server/postgres" -c "SELECT pid FROM pg_stat_activity WHERE datname = 'tollgate_ab_$1'" |
    while read -r pid; do echo "$pid $(ticks "$pid" 2>/dev/null || echo 0)"; done
}
spent() { # BEFORE AFTER: ticks the backends spent between the two (a backend that started between counts whole)
  awk 'NR == FNR { before[$1] = $2; next } { total += $2 - before[$1] } END { print total + 0 }' "$1" "$2"
}
throughput() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { # wrk's 99th percentile, in ms
  awk '$1 == "99%" { v = $2; u = v; sub(/^[0-9.]+/, "", u); v += 0
    print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v) }' "$1"
}
for _ in $(seq 1 "$rounds"); do
  a0=$(ticks "${pids[0]}") b0=$(ticks "${pids[1]}")
  backends 18921 > "$work/pa0"; backends 18922 > "$work/pb0"
  taskset -c 1 wrk -t1 -c64 -d"${seconds}s" --latency "${send_a[@]}" "http://127.0.0.1:18921$path" > "$work/a" &
  load_a=$!
  taskset -c 1 wrk -t1 -c64 -d"${seconds}s" --latency "${send_b[@]}" "http://127.0.0.1:18922$path_b" > "$work/b"
  wait "$load_a"
  a1=$(ticks "${pids[0]}") b1=$(ticks "${pids[1]}")
  backends 18921 > "$work/pa1"; backends 18922 > "$work/pb1"
  awk -v ra="$(awk '/requests in/ {print $1}' "$work/a")" -v rb="$(awk '/requests in/ {print $1}' "$work/b")" \
    -v sa="$(throughput "$work/a")" -v sb="$(throughput "$work/b")" -v la="$(p99 "$work/a")" -v lb="$(p99 "$work/b")" \
    -v ta=$((a1 - a0)) -v tb=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" -v pg="$server" \
    -v pa="$(spent "$work/pa0" "$work/pa1")" -v pb="$(spent "$work/pb0" "$work/pb1")" 'BEGIN {
      ua = ta * 1e6 / hz / ra; ub = tb * 1e6 / hz / rb
      printf "A %d req, %.2f µs/req, %.0f req/s, p99 %.2f ms | B %d req, %.2f µs/req, %.0f req/s, p99 %.2f ms", ra, ua, sa, la, rb, ub, sb, lb
      printf " | B/A cost %.3f, throughput %.3f, p99 %.3f", ub / ua, sb / sa, lb / la
      if (pg != "") {
        qa = pa * 1e6 / hz / ra; qb = pb * 1e6 / hz / rb
        # A scenario that asks the database nothing (S3) leaves the backends idle.
        printf " | PostgreSQL A %.2f, B %.2f µs/req", qa, qb
        if (qa > 0) printf ", B/A %.3f", qb / qa
        printf "; both, B/A %.3f", (ub + qb) / (ua + qa)
      }
      printf "\n" }'
done
