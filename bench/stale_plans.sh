#!/usr/bin/env bash
# Whether a reader's paths on PostgreSQL stay as fast when the posts grow
# under plans made while they were few. tollgate's connections use
# generic plans (`plan_cache_mode = force_generic_plan`), each made once,
# at its statement's first execution on that connection; PostgreSQL makes
# them again only when a table's statistics change (ANALYZE, which
# autovacuum runs as a table grows) or the connection is new; tollgate's
# purge analyzes posts when they have outgrown their statistics
# (`posts::keep_statistics`). So a server is started on a fresh database
# (the demo's 13 posts) with a purge every STALE_PURGE_SECONDS (90), its
# paths are read, POSTS published posts are added without ANALYZE
# (bench/seed_posts.sh with SEED_POSTS_ANALYZE=0), the same paths are read
# again at once, again after the next purge, and once more after an
# ANALYZE of every table. Prints req/s per path and state:
#
#   bash bench/stale_plans.sh [BINARY] [POSTS]
#
# BINARY defaults to target/release/tollgate, POSTS to 100000; the
# database server is BENCH_POSTGRES (as bench/run.sh). STALE_SQL=file adds
# the posts with that SQL file instead of bench/seed_posts.sh (what is
# found depends on the rows added: bench/results/2026-11-28-stale-plans.md).
# wrk with 8 connections, 3 s per path, nothing pinned: the ratios between
# the states are the finding, not the rates.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tollgate}")
posts=${2:-100000}
server=${BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432/}
server=${server%%\?*}
server=${server%/}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
db=tollgate_stale_plans port=18951
url=$server/$db
psql -qX "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
psql -qX "$server/postgres" -c "CREATE DATABASE $db" >/dev/null
work=$(mktemp -d)
export BCRYPT_COST=4 WORKERS=1 HOST=127.0.0.1 FREE_READS=5 PORT=$port
export PURGE_INTERVAL_SECONDS=${STALE_PURGE_SECONDS:-90}
SESSION_SECRET=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SESSION_SECRET
started=$SECONDS
(cd "$work" && RUST_LOG=warn DATABASE_URL=$url exec "$bin" >"$work/log" 2>&1) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null;
  psql -qX "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 200); do curl -s -o /dev/null "$base/health" && break; sleep 0.05; done
cookie=$(curl -s -D - -o /dev/null "$base/register" -H 'Content-Type: application/json' \
  -d '{"username":"reader","password":"a benchmark passphrase"}' | tr -d '\r' |
  sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p')
slug=$(psql -AtX "$url" -c "SELECT slug FROM posts WHERE id = 3")
# The month's free reads spent on posts 1-5, so that post 3 is a re-read.
for i in 1 2 3 4 5; do curl -s -o /dev/null -H "Cookie: $cookie" "$base/blog/$i"; done
paths=(/check_session /blog/3 "/blog/$slug" /blog "/blog?page=2")
read_all() {
  local path
  for path in "${paths[@]}"; do
    wrk -t1 -c8 -d3s -H "Cookie: $cookie" "$base$path" |
      awk -v state="$1" -v path="$path" '/Requests\/sec/ { printf "| %s | %s | %.0f |\n", state, path, $2 }'
  done
}
echo "| state | path | req/s |"
echo "|---|---|---|"
read_all "13 posts"
if [ -n "${STALE_SQL:-}" ]; then
  psql -qX "$url" -v ON_ERROR_STOP=1 -f "$STALE_SQL" >/dev/null
else
  SEED_POSTS_ANALYZE=0 bash bench/seed_posts.sh "$url" "$posts"
fi
read_all "$posts more, at once"
# The purge runs at start and every interval after: wait for the next.
elapsed=$((SECONDS - started))
[ "$elapsed" -lt "$PURGE_INTERVAL_SECONDS" ] ||
  echo "(a purge may have run during the reads above: raise STALE_PURGE_SECONDS)" >&2
sleep $(((elapsed / PURGE_INTERVAL_SECONDS + 1) * PURGE_INTERVAL_SECONDS + 2 - elapsed))
read_all "$posts more, after a purge"
psql -qX "$url" -c ANALYZE
read_all "after ANALYZE"
