#!/usr/bin/env bash
# Runs every test: brings PostgreSQL and the MongoDB-protocol server up, then `cargo test`, then
# the browser checks in headless Chromium (scripts/browser.sh). Each cargo test creates its own
# PostgreSQL and MongoDB databases, so they run in parallel. Arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
cargo test --locked --all-targets "$@"
scripts/browser.sh
