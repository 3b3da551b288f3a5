#!/usr/bin/env bash
# Fills a tollgate database with a year of what insights count, for the
# benchmark's insights run:
#
#   bash bench/seed_insights.sh DATABASE_URL [USERS] [READS]
#
# USERS (default 10,000) accounts registered over the 366 days ending
# today, and READS (default 1,000,000) reads (`post_readers`: a user
# answered a post on a day) spread over those days and every published
# post, one in ten read again two days later (readers who come back), with
# the site's distinct readers per day, a refusal for every fourth read
# (each post's running totals, `post_tallies`) and the day counts kept as
# the server keeps them. DATABASE_URL is a SQLite path or a postgres:// URL
# of a migrated database with its posts seeded first (bench/seed_posts.sh).
# Rows are made inside the database, one statement per kind.
set -euo pipefail
url=${1:?usage: bench/seed_insights.sh DATABASE_URL [USERS] [READS]}
users=${2:-10000}
reads=${3:-1000000}
[[ $users =~ ^[0-9]+$ && $reads =~ ^[0-9]+$ ]] || { echo "USERS and READS must be numbers" >&2; exit 2; }

# The same statements for both engines, after each defines `seq` (the
# numbers 1..READS), `today` (days since 1970-01-01) and how a conflict is
# ignored.
statements() { # TODAY
  cat <<SQL
INSERT INTO users (username, username_key, password_hash, plan, created_at, email_verified, role, disabled, newsletter)
SELECT 'insights' || i, 'insights' || i, '', 'free', ($1 - i % 366) * 86400 + 3600, $false, 'reader', $false, $false
FROM seq WHERE i <= $users;
CREATE TEMP TABLE seeded_users AS
SELECT ROW_NUMBER() OVER (ORDER BY id) AS n, id FROM users WHERE username_key LIKE 'insights%';
CREATE TEMP TABLE seeded_posts AS
SELECT ROW_NUMBER() OVER (ORDER BY id) AS n, id FROM posts
WHERE status = 'published' AND deleted_at IS NULL;
CREATE TEMP TABLE reads AS
SELECT DISTINCT p.id AS post_id, u.id AS user_id, $1 - i % 366 + again AS day
FROM seq
JOIN seeded_posts p ON p.n = 1 + (i * 7919) % (SELECT COUNT(*) FROM seeded_posts)
JOIN seeded_users u ON u.n = 1 + (i * 104729) % $users
JOIN (SELECT 0 AS again UNION ALL SELECT 2) a ON a.again = 0 OR (i % 10 = 0 AND i % 366 >= 2);
INSERT INTO post_readers (post_id, user_id, day, prev_day)
SELECT post_id, user_id, day, LAG(day) OVER (PARTITION BY post_id, user_id ORDER BY day)
FROM reads WHERE true
ON CONFLICT DO NOTHING;
INSERT INTO day_readers (day, user_id)
SELECT DISTINCT day, user_id FROM reads WHERE true
ON CONFLICT DO NOTHING;
CREATE TEMP TABLE happenings AS
SELECT post_id, day, SUM(first) AS first_readers, SUM(hit) AS paywall_hits
FROM (SELECT post_id, day, 1 AS first, 0 AS hit FROM post_readers WHERE prev_day IS NULL
      UNION ALL
      SELECT p.id, $1 - i % 366, 0, 1
      FROM seq JOIN seeded_posts p ON p.n = 1 + (i * 6007) % (SELECT COUNT(*) FROM seeded_posts)
      WHERE i % 4 = 0) h
GROUP BY post_id, day;
INSERT INTO post_tallies (post_id, day, first_readers, paywall_hits)
SELECT post_id, day, SUM(first_readers) OVER w, SUM(paywall_hits) OVER w
FROM happenings WHERE true
WINDOW w AS (PARTITION BY post_id ORDER BY day)
ON CONFLICT DO NOTHING;
INSERT INTO insight_days (day, registrations, members_delta)
SELECT created_at / 86400, COUNT(*), COUNT(*) FROM users WHERE username_key LIKE 'insights%'
GROUP BY created_at / 86400
ON CONFLICT (day) DO UPDATE SET registrations = insight_days.registrations + excluded.registrations,
                                members_delta = insight_days.members_delta + excluded.members_delta;
INSERT INTO insight_days (day, readers)
SELECT day, COUNT(*) FROM day_readers WHERE true GROUP BY day
ON CONFLICT (day) DO UPDATE SET readers = insight_days.readers + excluded.readers;
INSERT INTO insight_days (day, paywall_hits)
SELECT day, SUM(paywall_hits) FROM happenings WHERE true GROUP BY day
ON CONFLICT (day) DO UPDATE SET paywall_hits = insight_days.paywall_hits + excluded.paywall_hits;
SQL
}

case $url in
postgres://* | postgresql://*)
  today=$(psql "$url" -Atqc "SELECT (extract(epoch FROM now())::bigint / 86400)")
  false=FALSE
  {
    echo "SET synchronous_commit = off; BEGIN;"
    echo "CREATE TEMP TABLE seq AS SELECT i FROM generate_series(1::bigint, $reads) AS i;"
    statements "$today"
    echo "COMMIT;"
  } | psql "$url" -v ON_ERROR_STOP=1 -q >/dev/null
  psql "$url" -v ON_ERROR_STOP=1 -q -c 'VACUUM (ANALYZE)' >/dev/null
  ;;
*)
  command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
  path=${url#sqlite://}
  today=$(sqlite3 "$path" "SELECT unixepoch() / 86400")
  false=0
  {
    echo ".bail on"
    echo "PRAGMA busy_timeout = 10000; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;"
    echo "BEGIN IMMEDIATE;"
    echo "CREATE TEMP TABLE seq AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $reads) SELECT i FROM n;"
    statements "$today"
    echo "COMMIT;"
    echo "ANALYZE;"
    echo "PRAGMA wal_checkpoint(TRUNCATE);"
  } | sqlite3 "$path" >/dev/null
  ;;
esac
