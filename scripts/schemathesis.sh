#!/usr/bin/env bash
# Property-based tests generated from the OpenAPI document (schemathesis) against a fresh
# server: no server errors, every response as documented. Settings: schemathesis.toml.
# MAX_TIME bounds the run in seconds (default 300).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/live_server.sh
command -v st >/dev/null 2>&1 || python3 -m pip install --quiet schemathesis
port="${SCHEMATHESIS_PORT:-18081}"
start_live_server "$port" crm_schemathesis

# A fresh Idempotency-Key per generated case (scripts/schemathesis_hooks.py).
PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
    st run "http://127.0.0.1:$port/api-docs/openapi.json" --max-time "${MAX_TIME:-300}" --workers 1 \
    --seed "${SEED:-1}" "$@"
