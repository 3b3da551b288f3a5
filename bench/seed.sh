#!/usr/bin/env bash
# Fills a freshly migrated tollgate database with a big site's worth of data,
# for the benchmark's "flat with size" run:
#
#   bash bench/seed.sh DATABASE_URL [USERS]
#
# USERS (default 1,000,000) users, one live session each, and ten unlocks
# each (five posts in each of the two months before this one, so the
# current month's meter is untouched): 10 x USERS unlocks, 10^7 by default.
# DATABASE_URL is a SQLite path or a postgres:// URL, as the server takes it;
# run `tollgate migrate` on it first (the tables must exist and hold no
# users yet, since seeded users take ids 1..USERS).
#
# The rows are made inside the database (a recursive CTE on SQLite,
# generate_series on PostgreSQL): one statement per table, no client loop.
# Every seeded user shares one password hash (nobody logs in as them) and
# every session token hash is random, so no cookie can ever match one.
set -euo pipefail
url=${1:?usage: bench/seed.sh DATABASE_URL [USERS]}
users=${2:-1000000}
[[ $users =~ ^[0-9]+$ ]] || { echo "USERS must be a number" >&2; exit 2; }

# A bcrypt hash at cost 10 (of a random password nobody knows).
hash='$2b$10$wYz7bG0vJ8y6cZy3bXWl8eH1sB0mKz1bqkYVqg0l6Qx9w0bP1fQ5C'

case $url in
postgres://* | postgresql://*)
  psql "$url" -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
SET synchronous_commit = off;
BEGIN;
INSERT INTO users (id, username, username_key, password_hash, plan, created_at)
SELECT i, 'Seed' || i, 'seed' || i, '$hash', 'free', extract(epoch FROM now())::bigint
FROM generate_series(1, $users) AS i;
SELECT setval(pg_get_serial_sequence('users', 'id'), $users);
INSERT INTO sessions (id, token_hash, user_id, stay_signed_in, created_at, last_seen_at, expires_at, user_agent)
SELECT 'seed' || i, md5(random()::text) || md5(i::text), i, false,
       extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint,
       extract(epoch FROM now())::bigint + 10 * 86400, 'seed'
FROM generate_series(1, $users) AS i;
INSERT INTO unlocks (user_id, month, post_id, unlocked_at, slot)
SELECT i, (extract(year FROM now())::int * 12 + extract(month FROM now())::int - 1) - k, j,
       extract(epoch FROM now())::bigint, j
FROM generate_series(1, $users) AS i, generate_series(1, 2) AS k, generate_series(1, 5) AS j;
COMMIT;
ANALYZE;
SQL
  ;;
*)
  command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
  path=${url#sqlite://}
  sqlite3 "$path" >/dev/null <<SQL
.bail on
PRAGMA busy_timeout = 10000;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN IMMEDIATE;
CREATE TEMP TABLE n AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $users)
  SELECT i FROM n;
INSERT INTO users (id, username, username_key, password_hash, plan, created_at)
SELECT i, 'Seed' || i, 'seed' || i, '$hash', 'free', unixepoch() FROM n;
INSERT INTO sessions (id, token_hash, user_id, stay_signed_in, created_at, last_seen_at, expires_at, user_agent)
SELECT 'seed' || i, lower(hex(randomblob(32))), i, 0, unixepoch(), unixepoch(),
       unixepoch() + 10 * 86400, 'seed'
FROM n;
INSERT INTO unlocks (user_id, month, post_id, unlocked_at, slot)
SELECT i, (CAST(strftime('%Y') AS INTEGER) * 12 + CAST(strftime('%m') AS INTEGER) - 1) - k,
       j, unixepoch(), j
FROM n CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2)
       CROSS JOIN (SELECT 1 AS j UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  ;;
esac
