#!/usr/bin/env bash
# Runs the Postman collection (postman/tollgate.postman_collection.json) with
# newman against a freshly started server with a fresh SQLite database, and
# fails on any failed assertion, script error or request error, and on any
# request the collection skipped.
#
# newman is pinned in tests/postman/package-lock.json. It is installed with
# `npm ci` into target/postman-newman/ (ignored by git, like all of target/),
# not beside package.json, so that no node_modules/ lands in the work tree.
# The install is skipped when the lock file has not changed since the last one.
#
#   bash tests/postman/run.sh                 # port 18480, or the next free one
#   POSTMAN_PORT=18500 bash tests/postman/run.sh
#   POSTMAN_VERBOSE=1 bash tests/postman/run.sh   # list passing assertions too
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# The server settings the collection relies on (demo posts, 5 free reads,
# 2 anonymous reads, a lockout after 3 failed logins, billing off, GitHub sign-in on and no other
# provider). Set explicitly, so that nothing in the caller's environment changes them.
max_failures=3
# Posts a browser may read without a session (the Anonymous readers folder).
anonymous_reads=2
# The SPA's address, where a refused provider callback sends the browser.
app_url=http://localhost:5173
# GitHub sign-in with dummy credentials: the collection follows a sign-in only
# as far as the redirect to GitHub (which it does not follow) and a callback
# with a made-up state, so nothing at this address is ever contacted.
github_client_id=postman-client
github_oauth_base=http://127.0.0.1:9

# --- newman, pinned by the lock file
nm="$root/target/postman-newman"
newman="$nm/node_modules/.bin/newman"
if ! { [ -x "$newman" ] && cmp -s tests/postman/package-lock.json "$nm/package-lock.json"; }; then
  echo "-- npm ci (newman, into target/postman-newman)"
  mkdir -p "$nm"
  cp tests/postman/package.json tests/postman/package-lock.json "$nm/"
  npm ci --prefix "$nm" --no-audit --no-fund --loglevel=error
fi
"$newman" --version | sed 's/^/-- newman /'

# --- the server
echo "-- cargo build --bin tollgate"
# Built with the ceiling example beside it so that dev-dependencies take
# part in resolving features, as under `cargo test`: the binary the suite
# built is reused, where a plain build would compile some 40 crates again.
cargo build --quiet --bin tollgate --example ceiling
# Where cargo put it: target/ unless CARGO_TARGET_DIR (or a cargo config) moves it.
target_dir=$(cargo metadata --no-deps --format-version 1 |
  node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s).target_directory))')
tollgate="$target_dir/debug/tollgate"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${POSTMAN_PORT:-}" ]; then
  port=$POSTMAN_PORT
  if port_busy "$port"; then
    echo "tests/postman/run.sh: port $port (POSTMAN_PORT) is already in use" >&2
    exit 1
  fi
else
  port=
  for p in $(seq 18480 18499); do
    if ! port_busy "$p"; then port=$p; break; fi
  done
  if [ -z "$port" ]; then
    echo "tests/postman/run.sh: ports 18480-18499 are all in use; set POSTMAN_PORT" >&2
    exit 1
  fi
fi

dir=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

(
  cd "$dir"
  exec env HOST=127.0.0.1 PORT="$port" DATABASE_URL=tollgate.db \
    BCRYPT_COST=4 LOGIN_MAX_FAILURES="$max_failures" FREE_READS=5 SEED_DEMO_POSTS=true \
    ANONYMOUS_READS="$anonymous_reads" \
    REGISTER_MAX_PER_IP_PER_HOUR=1000000000 LOGIN_MAX_FAILURES_PER_IP=1000000000 FORGOT_MAX_PER_IP_PER_HOUR=1000000000 SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR=1000000000 \
    COOKIE_SECURE=false COOKIE_SAMESITE=lax RUST_LOG=warn \
    STRIPE_SECRET_KEY= STRIPE_PRICE_ID= STRIPE_WEBHOOK_SECRET= \
    APP_URL="$app_url" PUBLIC_URL="http://127.0.0.1:$port" OIDC_PROVIDERS= \
    GITHUB_CLIENT_ID="$github_client_id" GITHUB_CLIENT_SECRET=postman-secret \
    GITHUB_OAUTH_BASE="$github_oauth_base" GITHUB_API_BASE="$github_oauth_base" \
    "$tollgate"
) > "$dir/server.log" 2>&1 &
server=$!

base="http://127.0.0.1:$port"
healthy=
for _ in $(seq 1 150); do
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  if curl -sf "$base/health" >/dev/null 2>&1; then healthy=1; break; fi
  sleep 0.1
done
if [ -z "$healthy" ] || ! kill -0 "$server" 2>/dev/null; then
  echo "tests/postman/run.sh: the server did not come up on $base; its log:" >&2
  cat "$dir/server.log" >&2
  exit 1
fi
echo "-- server up on $base (fresh database in $dir)"

# The admin the Publishing and Two-step sign-in folders log in as: registered,
# then made an admin on the command line, as an operator makes the first one.
# (Without adminUsername the collection skips the requests that need an admin.)
admin_username="admin$(date +%s)"
admin_password="an admin's long passphrase"
curl -sf "$base/register" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$admin_username\",\"password\":\"$admin_password\"}" > /dev/null
(cd "$dir" && DATABASE_URL=tollgate.db "$tollgate" set-role "$admin_username" admin > /dev/null)

# --- the collection
cli_opts=(--reporter-cli-no-banner)
[ -n "${POSTMAN_VERBOSE:-}" ] || cli_opts+=(--reporter-cli-no-success-assertions)
# Off a terminal (CI), no colours: newman's failure table keeps some even
# with --color off, so strip what is left.
if [ -t 1 ]; then color=on; decolor() { cat; }; else color=off; decolor() { sed 's/\x1b\[[0-9;]*m//g'; }; fi

rc=0
"$newman" run postman/tollgate.postman_collection.json \
  -e postman/tollgate.postman_environment.json \
  --env-var "baseUrl=$base" \
  --env-var "loginMaxFailures=$max_failures" \
  --env-var "anonymousReads=$anonymous_reads" \
  --env-var "adminUsername=$admin_username" --env-var "adminPassword=$admin_password" \
  --env-var "appUrl=$app_url" --env-var "expectedProviders=github" \
  --env-var "githubClientId=$github_client_id" --env-var "githubOauthBase=$github_oauth_base" \
  --reporters cli,json --reporter-json-export "$dir/newman.json" "${cli_opts[@]}" \
  --color "$color" --timeout-request 10000 --timeout 120000 2>&1 | decolor || rc=$?

# One closing line with the counts. newman's own exit code decides, and then
# whether every request ran: the collection skips some on a server that lacks
# what they need (an admin, a sign-in provider), and this one has it all.
skipped=0
if [ -f "$dir/newman.json" ]; then
  node -e '
    const out = require(process.argv[1]), run = out.run, a = run.stats.assertions, r = run.stats.requests;
    // A skipped request has no execution (and its pre-request script counted a skipped test).
    const ran = new Set(run.executions.map(e => e.item.id)), skipped = [];
    const passed = run.executions.reduce((n, e) =>
      n + (e.assertions || []).filter(t => !t.error && !t.skipped).length, 0);
    (function walk(items, path) {
      for (const i of items) {
        if (i.item) walk(i.item, path.concat(i.name));
        else if (!ran.has(i.id)) skipped.push(path.concat(i.name).join(" / "));
      }
    })(out.collection.item, []);
    console.log(`-- ${r.total} requests, ${a.total} assertions, ${run.failures.length} failures, ` +
      `${run.timings.completed - run.timings.started} ms`);
    // failures: failed assertions, plus script or request errors outside any test
    console.log(`postman: ${passed} passed, ${run.failures.length} failed` +
      (skipped.length ? `, ${skipped.length} requests skipped:` : ""));
    skipped.forEach(name => console.log(`  ${name}`));
    process.exitCode = skipped.length ? 1 : 0;
  ' "$dir/newman.json" || skipped=1
fi
if [ "$rc" -ne 0 ]; then
  echo "tests/postman/run.sh: newman failed (exit $rc)" >&2
  if [ -s "$dir/server.log" ]; then
    echo "-- the server's log (last 50 lines):" >&2
    tail -n 50 "$dir/server.log" >&2
  fi
  exit "$rc"
fi
if [ "$skipped" -ne 0 ]; then
  echo "tests/postman/run.sh: requests were skipped; this server should run them all" >&2
  exit 1
fi
