# Sourced by scripts that need a running API on a fresh pair of databases:
#   start_live_server PORT NAME   starts it (debug build) and waits until it is ready; stopped on exit.
#   API_KEY is then an admin key of that server (API_KEY_ID its id) (rate limits, per key and per IP, are lifted: the
#   runs send thousands of requests, with and without keys).
start_live_server() {
    local port="$1" db="$2"
    scripts/services.sh up
    cargo build --locked
    local psql=(psql)
    if [ "$(id -u)" = 0 ]; then psql=(runuser -u postgres -- psql); else psql=(sudo -u postgres psql); fi
    "${psql[@]}" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    "${psql[@]}" -qc "CREATE DATABASE $db OWNER crm" >/dev/null

    export HOST=127.0.0.1 PORT="$port" DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db"
    export MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" MONGODB_DB="$db" RUST_LOG=warn
    export RATE_LIMITS="default=100000/100000" RATE_LIMIT_ANONYMOUS="100000/100000" PAYMENT_GATEWAY=sandbox
    export WEBHOOK_SECRET_KEY="${WEBHOOK_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}"
    # Wherever cargo builds: CARGO_TARGET_DIR, a `build.target-dir` setting, or ./target.
    local bin
    bin="$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/hybrid-crm"
    "$bin" migrate
    "$bin" seed --clients 50 --reset
    API_KEY=$("$bin" api-key create --role admin --name "$db" 2>".data/$db-key.log")
    API_KEY_ID=$(sed -nE 's/^created API key ([0-9a-f-]{36}) .*/\1/p' ".data/$db-key.log")
    # The storefront's catalog reads a publishable key (schemathesis sends it per the spec).
    PUBLISHABLE_KEY=$("$bin" api-key create --name "$db storefront" --publishable-for "http://127.0.0.1:$port" 2>>".data/$db-key.log")
    export API_KEY API_KEY_ID PUBLISHABLE_KEY
    "$bin" serve --no-migrate >".data/$db-server.log" 2>&1 &
    LIVE_SERVER_PID=$!
    trap 'kill $LIVE_SERVER_PID 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do
        curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && return 0
        sleep 0.2
    done
    echo "the server did not become ready; see .data/$db-server.log" >&2
    return 1
}
