#!/usr/bin/env bash
# Browser checks in headless Chromium (Debian's package, driven by playwright-core from npm):
# Swagger UI's "Authorize" and "Try it out" with an API key under the docs' CSP, and CORS from
# pages on two other origins (one allowed, one not); the storefront's catalog through a publishable
# key from its origin (and not from another); the dashboard (every chart drawn from 18 months of
# seeded history, no console error). Screenshots: target/browser/swagger-ui.png, dashboard.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd tests/browser && npm ci --silent --no-audit --no-fund)
source scripts/live_server.sh
port="${BROWSER_API_PORT:-18082}"
allowed_port=18083
other_port=18084
shop_port=18085
export CORS_ALLOWED_ORIGINS="http://127.0.0.1:$allowed_port"
start_live_server "$port" crm_browser
node tests/browser/access.mjs "http://127.0.0.1:$port" "$API_KEY" "$allowed_port" "$other_port"
node tests/browser/storefront.mjs "http://127.0.0.1:$port" "$API_KEY" "$shop_port" "$other_port"
node tests/browser/dashboard.mjs "http://127.0.0.1:$port" "$API_KEY"
