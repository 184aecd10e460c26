#!/usr/bin/env bash
# Runs the Postman collection with newman against a fresh server on a spare port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/live_server.sh
port="${POSTMAN_PORT:-18080}"
start_live_server "$port" crm_postman

npx --yes newman@6 run postman/hybrid-crm.postman_collection.json \
    -e postman/local.postman_environment.json --env-var "baseUrl=http://127.0.0.1:$port" --env-var "apiKey=$API_KEY" \
    --bail --color off
