#!/usr/bin/env bash
# Runs the Postman collection with newman against a fresh server on a spare port, which mails
# through a local mail sink (scripts/mail_sink.py) the storefront folder reads its links from.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/live_server.sh
port="${POSTMAN_PORT:-18080}"
smtp_port="${POSTMAN_SMTP_PORT:-18025}"
mail_port="${POSTMAN_MAIL_PORT:-18026}"

python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet 'aiosmtpd==1.4.6'
python3 scripts/mail_sink.py --smtp-port "$smtp_port" --http-port "$mail_port" >/dev/null &
sink=$!
export SMTP_URL="smtp://127.0.0.1:$smtp_port"
start_live_server "$port" crm_postman
# start_live_server stops the server on exit; the sink goes with it.
trap 'kill $LIVE_SERVER_PID $sink 2>/dev/null || true' EXIT

npx --yes newman@6 run postman/hybrid-crm.postman_collection.json \
    -e postman/local.postman_environment.json --env-var "baseUrl=http://127.0.0.1:$port" --env-var "apiKey=$API_KEY" \
    --env-var "mailUrl=http://127.0.0.1:$mail_port" --bail --color off
