#!/usr/bin/env bash
# Fills a tollgate database with a big publication's posts, for the
# benchmark's posts-at-scale run:
#
#   bash bench/seed_posts.sh DATABASE_URL [POSTS]
#
# POSTS (default 100,000) published posts, ten minutes apart going back
# from now (about two years), plus POSTS/10 drafts and POSTS/100 posts
# scheduled ten minutes apart from now on, which readers must not see
# (a big editorial queue: the readers' `total` counts the scheduled posts
# not yet due, see `posts::page`). Each post
# has about 1 KiB of Markdown, its html and an excerpt; slugs
# `seeded-<n>`, no author. DATABASE_URL is a SQLite path or a
# postgres:// URL, as the server takes it, of a migrated database (the
# demo posts may be there already). Rows are made inside the database, one
# statement per kind; the triggers that keep `post_totals` count them.
# SEED_POSTS_ANALYZE=0 leaves PostgreSQL's statistics and its connections'
# cached plans as they were (bench/stale_plans.sh).
set -euo pipefail
url=${1:?usage: bench/seed_posts.sh DATABASE_URL [POSTS]}
posts=${2:-100000}
[[ $posts =~ ^[0-9]+$ ]] || { echo "POSTS must be a number" >&2; exit 2; }
drafts=$((posts / 10)) scheduled=$((posts / 100))

case $url in
postgres://* | postgresql://*)
  psql "$url" -v ON_ERROR_STOP=1 -q >/dev/null <<SQL
SET synchronous_commit = off;
BEGIN;
CREATE TEMP TABLE seeded AS
SELECT i,
       CASE WHEN i <= $posts THEN 'published' WHEN i <= $posts + $drafts THEN 'draft' ELSE 'scheduled' END AS kind,
       repeat('A paragraph of a seeded post, long enough to look like one. ', 16) AS para
FROM generate_series(1, $posts + $drafts + $scheduled) AS i;
INSERT INTO posts (title, body, published_at, slug, html, excerpt, excerpt_given, access,
                   status, author_id, created_at, updated_at, deleted_at)
SELECT 'Seeded post ' || i, para, 
       CASE kind WHEN 'published' THEN extract(epoch FROM now())::bigint - 600 * i
                 WHEN 'draft' THEN extract(epoch FROM now())::bigint
                 ELSE extract(epoch FROM now())::bigint + 600 * (i - $posts - $drafts) END,
       'seeded-' || i, '<p>' || para || '</p>', left(para, 200), false, 'metered',
       CASE kind WHEN 'draft' THEN 'draft' ELSE 'published' END, NULL,
       extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint * 1000000, NULL
FROM seeded;
COMMIT;
SQL
  # On its own, after the rows are committed: the vacuum marks the pages
  # all-visible, as autovacuum would have long since on a live site, so
  # that index-only scans can skip the table.
  [ "${SEED_POSTS_ANALYZE:-1}" = 0 ] ||
    psql "$url" -v ON_ERROR_STOP=1 -q -c 'VACUUM (ANALYZE) posts' >/dev/null
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
CREATE TEMP TABLE seeded AS
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $posts + $drafts + $scheduled)
  SELECT i,
         CASE WHEN i <= $posts THEN 'published' WHEN i <= $posts + $drafts THEN 'draft' ELSE 'scheduled' END AS kind,
         replace(hex(zeroblob(16)), '00', 'A paragraph of a seeded post, long enough to look like one. ') AS para
  FROM n;
INSERT INTO posts (title, body, published_at, slug, html, excerpt, excerpt_given, access,
                   status, author_id, created_at, updated_at, deleted_at)
SELECT 'Seeded post ' || i, para,
       CASE kind WHEN 'published' THEN unixepoch() - 600 * i
                 WHEN 'draft' THEN unixepoch()
                 ELSE unixepoch() + 600 * (i - $posts - $drafts) END,
       'seeded-' || i, '<p>' || para || '</p>', substr(para, 1, 200), 0, 'metered',
       CASE kind WHEN 'draft' THEN 'draft' ELSE 'published' END, NULL,
       unixepoch(), unixepoch() * 1000000, NULL
FROM seeded;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  ;;
esac
