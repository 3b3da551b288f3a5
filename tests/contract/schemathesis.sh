#!/usr/bin/env bash
# Holds openapi.yaml to the server: schemathesis (from PyPI) runs every check
# it has — server errors, status codes, content types, headers, response
# schemas — plus the stateful links, against a freshly started server with a
# fresh database. Any failure fails the script.
#
# Two runs, because a session cookie and the operations that end it cannot
# share one: the first is anonymous over everything (public routes answer,
# guarded ones must give their documented 401s, and the stateful phase logs
# in through the links), the second carries a logged-in cookie over the
# guarded operations that do not end the session.
set -euo pipefail
cd "$(dirname "$0")/../.."

python3 -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
# Built with the ceiling example beside it so that dev-dependencies take
# part in resolving features, as under `cargo test`: the binary the suite
# built is reused, where a plain build would compile some 40 crates again.
cargo build --quiet --bin tollgate --example ceiling
# Where cargo put it: target/ unless CARGO_TARGET_DIR (or a cargo config) moves it.
tollgate=$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/tollgate

port=${SCHEMATHESIS_PORT:-18390}
dir=$(mktemp -d)
(
  cd "$dir"
  exec env BCRYPT_COST=4 PORT="$port" FREE_READS=1000000 LOGIN_MAX_FAILURES=1000000 \
    REGISTER_MAX_PER_IP_PER_HOUR=1000000000 LOGIN_MAX_FAILURES_PER_IP=1000000000 FORGOT_MAX_PER_IP_PER_HOUR=1000000000 EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR=1000000000 SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR=1000000000 \
    STRIPE_SECRET_KEY= STRIPE_PRICE_ID= STRIPE_WEBHOOK_SECRET= \
    RUST_LOG=warn "$tollgate"
) > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done

common=(--url "http://127.0.0.1:$port" --checks all --generation-codec ascii
        --max-examples "${SCHEMATHESIS_EXAMPLES:-50}" --seed 1 --no-color)

# The prices are left out everywhere: public, they answer this server (no
# STRIPE_* settings) their documented 501 billing_not_configured to anyone,
# which schemathesis counts as a server error whatever the spec says. The
# Postman collection checks that 501; tests/api/billing/prices.rs checks
# the answers against a local Stripe stand-in.
echo "-- anonymous, every operation but the prices"
schemathesis --config-file tests/contract/schemathesis.toml run openapi.yaml "${common[@]}" \
  --exclude-operation-id billingPrices

TOLLGATE_SESSION=$(curl -si "http://127.0.0.1:$port/register" -H 'Content-Type: application/json' \
  -d '{"username":"schemathesis","password":"a long enough passphrase"}' |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: session=\([^;]*\).*/\1/p')
export TOLLGATE_SESSION
# An admin, so that the publishing and admin routes are fuzzed past their
# 403 (the CLI works on the server's database; a role change holds on live
# sessions). Being the only admin, it cannot demote or disable itself
# (409 last_admin), so the fuzzing cannot end its own session.
(cd "$dir" && "$tollgate" set-role schemathesis admin >/dev/null)
# The billing operations are left out of the logged-in run: this server has
# no STRIPE_* settings (Stripe cannot be reached from here), so they answer
# their documented 501 billing_not_configured, which schemathesis counts as
# a server error whatever the spec says. The anonymous run covers their
# 401s; tests/api/billing/ covers them against a local Stripe stand-in.
echo "-- logged in, guarded operations that keep the session"
schemathesis --config-file tests/contract/schemathesis-logged-in.toml run openapi.yaml "${common[@]}" \
  --exclude-operation-id register --exclude-operation-id login \
  --exclude-operation-id logout --exclude-operation-id changePassword \
  --exclude-operation-id deleteAccount --exclude-operation-id endSession \
  --exclude-operation-id billingCheckout --exclude-operation-id billingPortal \
  --exclude-operation-id billingPrices --exclude-operation-id editUser

# Changing users last: the fuzzer may make another user an admin and then
# demote or disable itself, after which its own calls are 403 (or 401).
echo "-- logged in, an admin changing users"
schemathesis --config-file tests/contract/schemathesis-logged-in.toml run openapi.yaml "${common[@]}" \
  --include-operation-id editUser --phases examples,coverage,fuzzing
