#!/usr/bin/env bash
# Brings the stores up, then migrates, seeds demo data and serves the API on http://127.0.0.1:8080
# (Swagger UI at /swagger-ui/). Extra arguments go to `seed`, e.g. `scripts/run.sh --clients 10000`.
# RELEASE=1 builds with optimizations (what the benchmarks use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
scripts/env.sh
# services.sh started nats-server: relay the demo's events to it (JetStream stream CRM_EVENTS).
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

profile=debug
build_flags=()
if [ "${RELEASE:-0}" = 1 ]; then profile=release; build_flags=(--release); fi
cargo build --locked "${build_flags[@]}"
bin="target/$profile/hybrid-crm"

"$bin" migrate
"$bin" seed "$@"
# A demo admin key for Swagger UI ("Authorize"), Postman (`apiKey`) and curl. A new one each run;
# `hybrid-crm api-key list` shows them and `hybrid-crm api-key revoke ID` ends one.
key=$("$bin" api-key create --role admin --name "demo (scripts/run.sh)" 2>/dev/null)
base="http://127.0.0.1:${PORT:-8080}"
cat <<EOF
Serving on $base (Ctrl-C stops)
  Swagger UI:  $base/swagger-ui/   ("Authorize" with the key below)
  API key:     $key   (admin; shown once)
  Try:         curl -H "Authorization: Bearer $key" $base/api/v1/clients?limit=3
  Metrics:     $base/metrics
EOF
exec "$bin" serve --no-migrate
