#!/usr/bin/env bash
# Adds a big newsletter's subscribers to a tollgate database, for the
# benchmark's newsletter run:
#
#   bash bench/seed_subscribers.sh DATABASE_URL [SUBSCRIBERS]
#
# SUBSCRIBERS (default 100,000) accounts taking the newsletter at verified
# addresses `subscriber<n>@example.com`, one in ten premium, no password
# (nobody signs in as them). DATABASE_URL is a SQLite path or a
# postgres:// URL, as the server takes it, of a migrated database. Rows are
# made inside the database, in one statement.
set -euo pipefail
url=${1:?usage: bench/seed_subscribers.sh DATABASE_URL [SUBSCRIBERS]}
subscribers=${2:-100000}
[[ $subscribers =~ ^[0-9]+$ ]] || { echo "SUBSCRIBERS must be a number" >&2; exit 2; }

columns="username, username_key, password_hash, plan, created_at, email, email_key, email_verified, role, disabled, newsletter"
case $url in
postgres://* | postgresql://*)
  psql "$url" -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
INSERT INTO users ($columns)
SELECT 'subscriber' || i, 'subscriber' || i, '',
       CASE WHEN i % 10 = 0 THEN 'premium' ELSE 'free' END,
       extract(epoch FROM now())::bigint,
       'subscriber' || i || '@example.com', 'subscriber' || i || '@example.com',
       TRUE, 'reader', FALSE, TRUE
FROM generate_series(1, $subscribers) AS i;
ANALYZE users;
SQL
  ;;
*)
  sqlite3 -bail "$url" >/dev/null <<SQL
PRAGMA busy_timeout = 10000;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $subscribers)
INSERT INTO users ($columns)
SELECT 'subscriber' || i, 'subscriber' || i, '',
       CASE WHEN i % 10 = 0 THEN 'premium' ELSE 'free' END,
       CAST(strftime('%s', 'now') AS INTEGER),
       'subscriber' || i || '@example.com', 'subscriber' || i || '@example.com',
       1, 'reader', 0, 1
FROM n;
ANALYZE;
SQL
  ;;
esac
