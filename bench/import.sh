#!/usr/bin/env bash
# How long `tollgate import-members` takes to bring in a members file, on
# SQLite and on PostgreSQL, with the release build:
#
#   bash bench/import.sh [ROWS]                 # default 100,000
#   BENCH_BACKENDS=sqlite bash bench/import.sh   # one backend
#   BENCH_PROFILE=dev bash bench/import.sh 1000  # the debug build (a smoke run)
#   TOLLGATE_BIN=target/release/tollgate bash bench/import.sh   # a binary built already
#
# The file is a Ghost members export (its header and its kinds of cells:
# names with accents, quoted notes, a tenth complimentary, a twentieth with
# a Stripe customer), made here; each run imports it into a fresh database
# (migrated by `tollgate migrate`), then imports it again (a second run
# changes nothing: every row skipped). The target: 10^5 rows in under a
# minute on both backends. PostgreSQL is the machine's own
# (BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432/).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
[[ $rows =~ ^[0-9]+$ ]] || { echo "ROWS must be a number" >&2; exit 2; }
postgres=${BENCH_POSTGRES-postgres://postgres@127.0.0.1:5432/}
profile=${BENCH_PROFILE:-release}
work=$(mktemp -d)
databases=()
cleanup() {
  for name in "${databases[@]}"; do psql "$postgres" -qc "DROP DATABASE IF EXISTS $name" > /dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# TOLLGATE_BIN: a binary built already (else the profile's is built now).
if [ -n "${TOLLGATE_BIN:-}" ]; then
  tollgate=$TOLLGATE_BIN
elif [ "$profile" = dev ]; then
  cargo build --quiet --bin tollgate
  tollgate=${CARGO_TARGET_DIR:-target}/debug/tollgate
else
  cargo build --quiet --release --bin tollgate
  tollgate=${CARGO_TARGET_DIR:-target}/release/tollgate
fi
tollgate=$(realpath "$tollgate")

# The members file, as Ghost exports it.
file=$work/members.csv
awk -v n="$rows" 'BEGIN {
  print "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers"
  for (i = 1; i <= n; i++) {
    name = (i % 3 == 0) ? "José Núñez " i : "Reader " i
    note = (i % 7 == 0) ? "\"met at the fair, said \"\"hi\"\"\"" : ""
    comp = (i % 10 == 0) ? "true" : "false"
    customer = (i % 20 == 0) ? "cus_bench" i : ""
    printf "%024x,reader%d@example.com,%s,%s,%s,%s,%s,2024-0%d-1%dT09:00:00.000Z,,,\n",
      i, i, name, note, (i % 2 == 0) ? "true" : "false", comp, customer, i % 9 + 1, i % 9
  }
}' > "$file"

backends=()
[ "${BENCH_BACKENDS:-sqlite postgres}" = postgres ] || backends+=(sqlite)
if [[ ${BENCH_BACKENDS:-sqlite postgres} == *postgres* ]] && [ -n "$postgres" ]; then
  psql "$postgres" -qc 'SELECT 1' > /dev/null || { echo "PostgreSQL at $postgres is not reachable (BENCH_POSTGRES= skips it)" >&2; exit 1; }
  backends+=(postgres)
fi

echo "import-members: $rows rows of a Ghost members export ($(($(wc -c < "$file") / 1024)) KiB), $profile build, on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo
echo "| backend | first run (s) | rows/s | its summary | second run (s) | its summary | under a minute |"
echo "|---|---|---|---|---|---|---|"
for backend in "${backends[@]}"; do
  if [ "$backend" = sqlite ]; then
    url=$work/import.db
  else
    name="tollgate_bench_import_$$"
    psql "$postgres" -qc "CREATE DATABASE $name" > /dev/null
    databases+=("$name")
    base=${postgres%%\?*}
    url=${base%/}/$name${postgres#"$base"}
  fi
  (cd "$work" && DATABASE_URL=$url SEED_DEMO_POSTS=false "$tollgate" migrate > /dev/null)
  run() {
    local started ended summary
    started=$(date +%s.%N)
    summary=$(cd "$work" && DATABASE_URL=$url RUST_LOG=warn "$tollgate" import-members "$file" 2> "$work/errors.txt" | tail -1)
    ended=$(date +%s.%N)
    echo "$(awk -v a="$started" -v b="$ended" 'BEGIN { printf "%.1f", b - a }')|$summary"
  }
  IFS='|' read -r first first_summary < <(run)
  IFS='|' read -r second second_summary < <(run)
  rate=$(awk -v n="$rows" -v s="$first" 'BEGIN { printf "%.0f", n / s }')
  ok=$(awk -v s="$first" -v n="$rows" 'BEGIN { print (s * 100000 / n < 60) ? "yes" : "**no**" }')
  echo "| $backend | $first | $rate | $first_summary | $second | $second_summary | $ok |"
done
