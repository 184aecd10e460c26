#!/usr/bin/env bash
# Brings the stores up, then migrates, seeds demo data and serves the API on http://127.0.0.1:8080
# (Swagger UI at /swagger-ui/). Extra arguments go to `seed`, e.g. `scripts/run.sh --clients 10000`.
# RELEASE=1 builds with optimizations (what the benchmarks use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
[ -f .env ] || cp .env.example .env
# services.sh started nats-server: relay the demo's events to it (JetStream stream CRM_EVENTS).
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

profile=debug
build_flags=()
if [ "${RELEASE:-0}" = 1 ]; then profile=release; build_flags=(--release); fi
cargo build --locked "${build_flags[@]}"
bin="target/$profile/hybrid-crm"

"$bin" migrate
"$bin" seed "$@"
echo "Serving on http://127.0.0.1:${PORT:-8080} — Swagger UI: http://127.0.0.1:${PORT:-8080}/swagger-ui/ (Ctrl-C stops)"
exec "$bin" serve --no-migrate
