#!/usr/bin/env bash
# Brings the stores up, then migrates, seeds demo data and serves the API on http://127.0.0.1:8080
# (Swagger UI at /swagger-ui/). Extra arguments go to `seed`, e.g. `scripts/run.sh --clients 10000`.
# RELEASE=1 builds with optimizations (what the benchmarks use). How to sign in is printed last,
# once the server answers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh up
scripts/env.sh
# services.sh started nats-server: relay the demo's events to it (JetStream stream CRM_EVENTS).
export NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"

profile=debug
build_flags=()
if [ "${RELEASE:-0}" = 1 ]; then profile=release; build_flags=(--release); fi
cargo build --locked "${build_flags[@]}"
# Wherever cargo builds: CARGO_TARGET_DIR, a `build.target-dir` setting, or ./target.
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin="$target_dir/$profile/hybrid-crm"

"$bin" migrate
"$bin" seed "$@"

# Mail goes to SMTP_URL when set; otherwise to a local sink whose messages (the store's
# verification and reset links among them) are readable at http://127.0.0.1:8025/messages.
sink=""
if [ -z "${SMTP_URL:-}" ]; then
  python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet 'aiosmtpd==1.4.6'
  python3 scripts/mail_sink.py --smtp-port 1025 --http-port 8025 >/dev/null &
  sink=$!
  export SMTP_URL=smtp://127.0.0.1:1025
fi

base="http://127.0.0.1:${PORT:-8080}"
"$bin" serve --no-migrate &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server"; [ -z "$sink" ] || kill "$sink" 2>/dev/null || true' INT TERM
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/health/ready" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit 1; }
  sleep 0.5
done

# A demo admin key for Swagger UI ("Authorize"), Postman (`apiKey`) and curl, kept in
# .demo-api-key (not committed) and reused while the API accepts it. `hybrid-crm api-key list`
# shows the keys and `hybrid-crm api-key revoke ID` ends one.
key_file=.demo-api-key
key=""
if [ -s "$key_file" ]; then
  key=$(cat "$key_file")
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/api/v1/api-keys?limit=1")
  [ "$status" = 200 ] || key=""
fi
if [ -z "$key" ]; then
  key=$("$bin" api-key create --role admin --name "demo (scripts/run.sh)" 2>/dev/null)
  (umask 077 && printf '%s\n' "$key" >"$key_file")
fi
# A demo admin user for signing in (`POST /api/v1/auth/sign-in`, the back office), its password
# kept in .demo-admin-password (not committed) and reused while it signs in.
user_email=admin@demo.example.com
password_file=.demo-admin-password
password=""
sign_in() {
  python3 -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2], "device": "scripts/run.sh"}))' \
    "$user_email" "$1" |
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @- "$base/api/v1/auth/sign-in"
}
if [ -s "$password_file" ]; then
  password=$(cat "$password_file")
  [ "$(sign_in "$password")" = 200 ] || password=""
fi
if [ -z "$password" ]; then
  password=$(python3 -c 'import secrets; print("demo-" + secrets.token_urlsafe(12))')
  printf '%s\n' "$password" | "$bin" user create --email "$user_email" --role admin --name "Demo admin" >/dev/null 2>&1 ||
    printf '%s\n' "$password" | "$bin" user set-password --email "$user_email" >/dev/null
  (umask 077 && printf '%s\n' "$password" >"$password_file")
fi
# A demo storefront key (publishable: the public catalog only) for a local shop page, kept in
# .demo-publishable-key (not committed) and reused while the catalog accepts it.
publishable_file=.demo-publishable-key
publishable=""
if [ -s "$publishable_file" ]; then
  publishable=$(cat "$publishable_file")
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Publishable-Key: $publishable" "$base/api/v1/store/categories?limit=1")
  [ "$status" = 200 ] || publishable=""
fi
if [ -z "$publishable" ]; then
  publishable=$("$bin" api-key create --name "demo storefront (scripts/run.sh)" \
    --publishable-for "http://127.0.0.1:5173,http://localhost:5173" 2>/dev/null)
  printf '%s\n' "$publishable" >"$publishable_file"
fi
mail="through SMTP_URL"
[ -z "$sink" ] || mail="http://127.0.0.1:8025/messages   (what the API mailed: store verification and reset links)"
cat <<EOT

Hybrid CRM is serving on $base (Ctrl-C stops it)
  Start here:  $base/   (links to everything below)
  Swagger UI:  $base/swagger-ui/   ("Authorize" with the key below)
  Dashboard:   $base/dashboard   (paste the same key)
  Metrics:     $base/metrics
  Mail:        $mail
  Try:         curl -H "Authorization: Bearer $key" "$base/api/v1/clients?limit=3"
  API key:     $key
               (admin; saved in .demo-api-key and reused by the next run)
  Sign in:     $user_email / $password   (admin; saved in .demo-admin-password)
               curl -H 'Content-Type: application/json' -d '{"email": "$user_email", "password": "$password"}' $base/api/v1/auth/sign-in
  Storefront:  publishable key $publishable
               (the public catalog from http://127.0.0.1:5173 or http://localhost:5173; saved in .demo-publishable-key)
               curl -H "X-Publishable-Key: $publishable" "$base/api/v1/store/products?limit=3"
EOT
wait "$server"
