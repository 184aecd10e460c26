#!/usr/bin/env bash
# Lints the committed OpenAPI document with Redocly's recommended rules (settings:
# redocly.yaml). Errors fail; warnings are printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npx --yes @redocly/cli@2.77.0 lint openapi/openapi.json --format=stylish
