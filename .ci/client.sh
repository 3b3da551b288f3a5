#!/usr/bin/env bash
# Holds the React example to the API contract, without a server:
#   1. the committed examples/react-spa/src/api/schema.d.ts must be exactly
#      what openapi-typescript generates from openapi.yaml today (a contract
#      change must ship with its regenerated types);
#   2. the example must type-check against it (tsc --noEmit, strict), so a
#      field renamed or removed in the contract fails here, in the component
#      that reads it, rather than on a user's page.
# Installs the example's pinned npm packages itself (npm ci). Non-interactive;
# fine under CI=true. Needs node and npm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPA_DIR="$ROOT/examples/react-spa"
COMMITTED="src/api/schema.d.ts"
export CI="${CI:-true}" npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

cd "$SPA_DIR"
echo "== npm ci (examples/react-spa)"
timeout 300 npm ci --no-audit --no-fund --loglevel=error

echo "== $COMMITTED is what openapi.yaml generates"
GENERATED="$(mktemp "${TMPDIR:-/tmp}/tollgate-schema.XXXXXX.d.ts")"
trap 'rm -f "$GENERATED"' EXIT
# The same command as `npm run gen:api`, into a temporary file.
./node_modules/.bin/openapi-typescript "$ROOT/openapi.yaml" --output "$GENERATED"
if ! diff -u --label "$COMMITTED (committed)" --label "$COMMITTED (from openapi.yaml)" \
  "$COMMITTED" "$GENERATED"; then
  echo >&2
  echo "client: FAIL: examples/react-spa/$COMMITTED is out of date with openapi.yaml." >&2
  echo "  Regenerate it and commit the result:  cd examples/react-spa && npm run gen:api" >&2
  exit 1
fi

echo "== tsc --noEmit (examples/react-spa, strict)"
if ! ./node_modules/.bin/tsc --noEmit -p .; then
  echo >&2
  echo "client: FAIL: examples/react-spa does not type-check against the contract (errors above)." >&2
  exit 1
fi
echo "== client: the example matches openapi.yaml and type-checks"
