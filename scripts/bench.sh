#!/usr/bin/env bash
# Benchmarks of docs/BENCHMARKS.md: an optimized server on its own databases with 10,000 seeded
# clients, loaded by oha on this machine. Results go to .data/bench/. Not part of the tests.
#   DURATION (default 20s) per run; CLIENTS (default 10000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/services.sh up
command -v oha >/dev/null 2>&1 || cargo install oha --locked
cargo build --release --locked

db=crm_bench port="${BENCH_PORT:-18090}" duration="${DURATION:-20s}" out=.data/bench
mkdir -p "$out"
psql=(psql); if [ "$(id -u)" = 0 ]; then psql=(runuser -u postgres -- psql); else psql=(sudo -u postgres psql); fi
"${psql[@]}" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
    "${psql[@]}" -qc "CREATE DATABASE $db OWNER crm" >/dev/null

export HOST=127.0.0.1 PORT="$port" DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db"
export MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" MONGODB_DB="$db" RUST_LOG=warn
target/release/hybrid-crm migrate
target/release/hybrid-crm seed --clients "${CLIENTS:-10000}"
target/release/hybrid-crm serve --no-migrate >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.2; done

# Every client's view URL, shuffled: oha picks from the file at random.
"${psql[@]}" -d "$db" -qtAc "SELECT 'http://127.0.0.1:$port/api/v1/clients/' || id || '/view' FROM clients ORDER BY random()" \
    >"$out/view-urls.txt"
echo "view URLs: $(wc -l <"$out/view-urls.txt")"

run() {
    local name="$1"; shift
    echo "== $name"
    oha --no-tui -z "$duration" "$@" | tee "$out/$name.txt" |
        grep -E "Success rate|Requests/sec|Slowest|Fastest|Average|50.00%|99.00%|99.90%|\[200\]|\[[0-9]{3}\]"
}

curl -fs -o /dev/null "http://127.0.0.1:$port/api/v1/clients?limit=50"
oha --no-tui -z 5s -c 64 --urls-from-file "$out/view-urls.txt" >/dev/null # warm-up
run view-max-64 -c 64 --urls-from-file "$out/view-urls.txt"
run view-2000rps-64 -c 64 -q 2000 --latency-correction --urls-from-file "$out/view-urls.txt"
run list50-max-64 -c 64 "http://127.0.0.1:$port/api/v1/clients?limit=50"
run list50-2000rps-64 -c 64 -q 2000 --latency-correction "http://127.0.0.1:$port/api/v1/clients?limit=50"
echo "== server resident memory after the runs"
grep -E "VmRSS|VmHWM" "/proc/$server/status" | tee "$out/memory.txt"
