#!/usr/bin/env bash
# src/store/pg/schema.rs is diesel's: `diesel print-schema` (settings and patch in diesel.toml)
# of a scratch database migrated from migrations/. `scripts/schema.sh` rewrites the file after a
# migration changes; `scripts/schema.sh --check` (CI) fails when the committed file differs.
# Installs the pinned diesel CLI when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DIESEL_CLI_VERSION=2.3.14
if ! diesel --version 2>/dev/null | grep -q "$DIESEL_CLI_VERSION"; then
  echo "[schema] installing diesel_cli $DIESEL_CLI_VERSION (PostgreSQL only)"
  cargo install diesel_cli --version "=$DIESEL_CLI_VERSION" --no-default-features --features postgres --locked --quiet
fi

scripts/services.sh up >/dev/null
admin="${TEST_DATABASE_URL:-postgres://crm:crm@127.0.0.1:5432/crm}"
scratch="crm_schema_$$"
url="${admin%/*}/$scratch"
psql -q "$admin" -c "CREATE DATABASE $scratch"
trap 'psql -q "$admin" -c "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1 || true' EXIT

if [ "${1:-}" = "--check" ]; then
  # Fails, naming the difference, if migrating would change the committed file.
  if ! diesel migration run --database-url "$url" --locked-schema; then
    echo "[schema] src/store/pg/schema.rs differs from the migrations: run scripts/schema.sh and commit it" >&2
    exit 1
  fi
  echo "[schema] src/store/pg/schema.rs is what diesel print-schema makes of the migrations"
else
  diesel migration run --database-url "$url"
  echo "[schema] src/store/pg/schema.rs regenerated"
fi
