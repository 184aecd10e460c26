#!/usr/bin/env bash
# Runs every test: brings PostgreSQL and the MongoDB-protocol server up, then `cargo test`.
# Each test creates its own PostgreSQL and MongoDB databases, so they run in parallel.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
cargo test --locked --all-targets "$@"
