#!/usr/bin/env bash
# Starts the API on a spare port with a fresh pair of databases, runs the Postman collection with
# newman against it, and stops it again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
cargo build --locked
port="${POSTMAN_PORT:-18080}"
db="crm_postman"
runuser_psql() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql "$@"; else sudo -u postgres psql "$@"; fi; }
runuser_psql -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
runuser_psql -qc "CREATE DATABASE $db OWNER crm" >/dev/null

export HOST=127.0.0.1 PORT="$port" DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db"
export MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" MONGODB_DB="$db" RUST_LOG=warn
target/debug/hybrid-crm migrate
target/debug/hybrid-crm seed --clients 50 --reset
target/debug/hybrid-crm serve --no-migrate > .data/postman-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.2; done

npx --yes newman@6 run postman/hybrid-crm.postman_collection.json \
    -e postman/local.postman_environment.json --env-var "baseUrl=http://127.0.0.1:$port" \
    --bail --color off
