#!/usr/bin/env bash
# Real-browser end-to-end test: builds examples/react-spa and the tollgate
# binary, starts a fresh tollgate (temp directory, fresh SQLite database) and
# `vite preview`, then drives Debian's Chromium through playwright-core
# (tests/browser/e2e.mjs). Billing is on, with a local Stripe stand-in
# (tests/browser/stripe-stand-in.mjs; there is no internet here) as its
# API, two prices (monthly, yearly) and a 14-day trial. Before the browser
# starts, an admin is registered and made one with
# `tollgate set-role`, as an operator makes the first admin; e2e.mjs signs
# in as them (E2E_ADMIN_USERNAME, E2E_ADMIN_PASSWORD). Browsers without an
# account read 3 posts a month (ANONYMOUS_READS=3) before the registration
# wall; accounts read 5 (FREE_READS=5). Sign-in with another
# provider is on too: a real OpenID Connect provider (tests/oidc/provider.mjs,
# oidc-provider from npm) on loopback, with which tollgate is registered as
# the client `corp` (Dynamic Client Registration); providers.mjs signs in on
# its own login page (OIDC_ISSUER). Screenshots of each step go to
# artifacts/browser/.
#
# Non-interactive; fine under CI=true. Needs node/npm, cargo, and Chromium
# (installed with apt-get when /usr/bin/chromium is missing).
#
#   E2E_API_PORT  tollgate's port   (default 8080)
#   E2E_SPA_PORT  vite preview port (default 5173)
#   E2E_STRIPE_PORT  the Stripe stand-in's port (default 12111)
#   E2E_OIDC_PORT the OpenID Connect provider's port (default 0: any free one)
#   CHROMIUM      the browser binary (default /usr/bin/chromium)
#   CARGO_TARGET_DIR  where cargo builds tollgate (default <repo>/target)
# The ports must be free. The SPA and the API are both addressed as
# `localhost`, so they are the same site and the SameSite=Lax cookie flows;
# tollgate's PUBLIC_URL is that address too, so the provider sends the
# browser back to the host whose cookies it holds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SPA_DIR="$ROOT/examples/react-spa"
TEST_DIR="$ROOT/tests/browser"
API_PORT="${E2E_API_PORT:-8080}"
SPA_PORT="${E2E_SPA_PORT:-5173}"
STRIPE_PORT="${E2E_STRIPE_PORT:-12111}"
OIDC_PORT="${E2E_OIDC_PORT:-0}"
OIDC_DIR="$ROOT/tests/oidc"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export ARTIFACTS_DIR="$ROOT/artifacts/browser"
export SPA_URL="http://localhost:$SPA_PORT"
export API_URL="http://localhost:$API_PORT"
export STRIPE_URL="http://127.0.0.1:$STRIPE_PORT"
# A test secret: e2e.mjs signs the webhook events it delivers with it.
export WEBHOOK_SECRET="whsec_e2e_$(date +%s)"
export CI="${CI:-true}" npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
START=$SECONDS

say() { printf '== %s (%ss)\n' "$*" "$((SECONDS - START))"; }
die() { printf 'browser e2e: FAIL: %s\n' "$*" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$API_PORT" "$SPA_PORT" "$STRIPE_PORT" $([[ $OIDC_PORT == 0 ]] || echo "$OIDC_PORT"); do
  port_in_use "$port" && die "port $port is already in use (another server?); free it or set E2E_API_PORT / E2E_SPA_PORT / E2E_STRIPE_PORT / E2E_OIDC_PORT"
done

# --- Chromium -------------------------------------------------------------
if [[ ! -x "$CHROMIUM" ]]; then
  [[ "$CHROMIUM" == /usr/bin/chromium ]] || die "CHROMIUM=$CHROMIUM is not an executable"
  say "installing Chromium with apt-get"
  SUDO=""
  [[ "$(id -u)" == 0 ]] || SUDO="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 $SUDO apt-get update -qq
  timeout 600 $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [[ -x "$CHROMIUM" ]] || die "apt-get did not install $CHROMIUM"
fi

# --- node packages, the SPA, the server -----------------------------------
npm_install() {
  if [[ -f "$1/package-lock.json" ]]; then
    (cd "$1" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$1" && timeout 300 npm install --no-audit --no-fund --loglevel=error)
  fi
}
say "npm ci (examples/react-spa, tests/browser)"
npm_install "$SPA_DIR"
npm_install "$TEST_DIR"
if [[ ! -f "$OIDC_DIR/node_modules/oidc-provider/package.json" ]]; then
  say "npm ci (tests/oidc)"
  npm_install "$OIDC_DIR"
fi

say "building the SPA (VITE_API_URL=$API_URL)"
(cd "$SPA_DIR" && VITE_API_URL="$API_URL" timeout 120 npm run build --silent -- --logLevel warn)

say "checking a reader's first-load JavaScript (tests/browser/bundle-size.mjs)"
node "$TEST_DIR/bundle-size.mjs" "$SPA_DIR/dist" 70 || die "a reader's first load is over its budget"

say "cargo build --bin tollgate"
# Built with the ceiling example beside it so that dev-dependencies take
# part in resolving features, as under `cargo test`: the binary the suite
# built is reused, where a plain build would compile some 40 crates again.
(cd "$ROOT" && cargo build --bin tollgate --example ceiling --quiet)
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[[ "$TARGET_DIR" == /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR" # cargo reads a relative one from where it runs
TOLLGATE="$TARGET_DIR/debug/tollgate"
[[ -x "$TOLLGATE" ]] || die "no binary at $TOLLGATE (is CARGO_TARGET_DIR set elsewhere?)"

# --- servers ----------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-e2e.XXXXXX")"
API_PID=""
SPA_PID=""
E2E_PID=""
STRIPE_PID=""
OIDC_PID=""
cleanup() {
  local rc=$?
  for pid in $E2E_PID $SPA_PID $API_PID $STRIPE_PID $OIDC_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $E2E_PID $SPA_PID $API_PID $STRIPE_PID $OIDC_PID; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]]; then
    for log in "$WORK/tollgate.log" "$WORK/vite.log" "$WORK/stripe.log" "$WORK/oidc.log"; do
      [[ -s "$log" ]] && { echo "--- last lines of $(basename "$log")"; tail -n 30 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting the Stripe stand-in on 127.0.0.1:$STRIPE_PORT"
node "$TEST_DIR/stripe-stand-in.mjs" "$STRIPE_PORT" >"$WORK/stripe.log" 2>&1 &
STRIPE_PID=$!

say "starting the OpenID Connect provider (tests/oidc/provider.mjs)"
# It runs until its stdin closes: a pipe this script holds open as fd 8, so
# the provider goes with the script even if the script is killed outright.
# (The servers started below do not inherit that end: 8>&-.)
exec 8> >(cd "$OIDC_DIR" && PORT="$OIDC_PORT" exec node provider.mjs >"$WORK/oidc.out" 2>"$WORK/oidc.log")
OIDC_PID=$!
deadline=$((SECONDS + 30))
until OIDC_PORT="$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$WORK/oidc.out" 2>/dev/null)" && [[ -n "$OIDC_PORT" ]]; do
  kill -0 "$OIDC_PID" 2>/dev/null || die "the OpenID Connect provider exited before listening"
  ((SECONDS < deadline)) || die "the OpenID Connect provider did not listen within 30 s"
  sleep 0.2
done
export OIDC_ISSUER="http://127.0.0.1:$OIDC_PORT"
# tollgate as a client of its own (open Dynamic Client Registration), sent
# back to the API at the address the browser uses.
REGISTRATION="$(curl -fsS --max-time 10 "$OIDC_ISSUER/reg" -H 'Content-Type: application/json' \
  -d "{\"redirect_uris\":[\"$API_URL/auth/corp/callback\"],\"token_endpoint_auth_method\":\"client_secret_basic\",\"grant_types\":[\"authorization_code\"],\"response_types\":[\"code\"]}")" \
  || die "the OpenID Connect provider refused to register tollgate as a client"
client_field() { printf '%s' "$REGISTRATION" | node -e 'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => process.stdout.write(JSON.parse(s)[process.argv[1]] ?? ""));' "$1"; }
OIDC_CLIENT_ID="$(client_field client_id)"
OIDC_CLIENT_SECRET="$(client_field client_secret)"
[[ -n "$OIDC_CLIENT_ID" && -n "$OIDC_CLIENT_SECRET" ]] || die "no client_id or client_secret in the registration: $REGISTRATION"
say "the provider is $OIDC_ISSUER; tollgate is its client $OIDC_CLIENT_ID"

# No SMTP_URL: messages are written as .eml files here, where e2e.mjs reads
# them and follows their links as the recipient would.
export MAIL_DIR="$WORK/mail"

say "starting tollgate on 127.0.0.1:$API_PORT (fresh database in $WORK)"
# A fresh directory: a fresh tollgate.db with the demo posts, and no stray .env.
(
  cd "$WORK"
  exec env HOST=127.0.0.1 PORT="$API_PORT" BCRYPT_COST=4 RUST_LOG=warn \
    REGISTER_MAX_PER_IP_PER_HOUR=1000000000 LOGIN_MAX_FAILURES_PER_IP=1000000000 FORGOT_MAX_PER_IP_PER_HOUR=1000000000 EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR=1000000000 MAIL_MAX_PER_ADDRESS_PER_HOUR=100 SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR=1000000000 \
    CORS_ALLOWED_ORIGINS="$SPA_URL" DATABASE_URL="$WORK/tollgate.db" \
    FREE_READS=5 PUBLIC_LISTING=true ANONYMOUS_READS=3 SEED_DEMO_POSTS=true APP_URL="$SPA_URL" MAIL_DIR="$MAIL_DIR" \
    STRIPE_SECRET_KEY=sk_test_e2e STRIPE_PRICES=monthly=price_e2e_monthly,yearly=price_e2e_yearly TRIAL_DAYS=14 STRIPE_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
    STRIPE_API_BASE="$STRIPE_URL" PUBLIC_URL="$API_URL" \
    OIDC_PROVIDERS=corp OIDC_CORP_ISSUER="$OIDC_ISSUER" \
    OIDC_CORP_CLIENT_ID="$OIDC_CLIENT_ID" OIDC_CORP_CLIENT_SECRET="$OIDC_CLIENT_SECRET" "$TOLLGATE" serve
) >"$WORK/tollgate.log" 2>&1 8>&- &
API_PID=$!

say "starting vite preview on localhost:$SPA_PORT"
(
  cd "$SPA_DIR"
  exec ./node_modules/.bin/vite preview --port "$SPA_PORT" --strictPort --host localhost
) >"$WORK/vite.log" 2>&1 8>&- &
SPA_PID=$!

wait_for() { # name url pid
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 2 -o /dev/null "$2" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || die "$1 exited before answering $2"
    ((SECONDS < deadline)) || die "$1 did not answer $2 within 60 s"
    sleep 0.2
  done
}
wait_for "the Stripe stand-in" "$STRIPE_URL/_requests" "$STRIPE_PID"
wait_for "the OpenID Connect provider" "$OIDC_ISSUER/.well-known/openid-configuration" "$OIDC_PID"
wait_for tollgate "http://127.0.0.1:$API_PORT/health" "$API_PID"
wait_for "vite preview" "$SPA_URL/" "$SPA_PID"

# --- the first admin ------------------------------------------------------------
# A name as short as the other test users', so the header shows it whole at 360 px.
export E2E_ADMIN_USERNAME="adm_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export E2E_ADMIN_PASSWORD="Admin-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')!"
say "registering $E2E_ADMIN_USERNAME and making them an admin with tollgate set-role"
curl -fsS --max-time 10 -o /dev/null "http://127.0.0.1:$API_PORT/register" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$E2E_ADMIN_USERNAME\",\"password\":\"$E2E_ADMIN_PASSWORD\"}" \
  || die "could not register $E2E_ADMIN_USERNAME"
(cd "$WORK" && env DATABASE_URL="$WORK/tollgate.db" RUST_LOG=warn "$TOLLGATE" set-role "$E2E_ADMIN_USERNAME" admin >/dev/null) \
  || die "tollgate set-role $E2E_ADMIN_USERNAME admin failed"

# --- the test -----------------------------------------------------------------
say "running e2e.mjs in Chromium"
cd "$TEST_DIR"
# In the background so that a signal to this script is handled at once.
timeout 360 node e2e.mjs 8>&- &
E2E_PID=$!
wait "$E2E_PID" || die "e2e.mjs failed (exit $?); screenshots in $ARTIFACTS_DIR"
E2E_PID=""
say "browser e2e passed"
