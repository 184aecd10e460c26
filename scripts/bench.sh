#!/usr/bin/env bash
# Benchmarks of docs/BENCHMARKS.md: an optimized server on its own databases with 10,000 seeded
# clients, loaded by oha on this machine. Results go to .data/bench/. Not part of the tests.
#   DURATION (default 20s) per run; CLIENTS (default 10000); PRODUCTS (default 1000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/services.sh up
command -v oha >/dev/null 2>&1 || cargo install oha --locked
cargo build --release --locked

db=crm_bench port="${BENCH_PORT:-18090}" duration="${DURATION:-20s}" out=.data/bench
mkdir -p "$out"
psql=(psql); if [ "$(id -u)" = 0 ]; then psql=(runuser -u postgres -- psql); else psql=(sudo -u postgres psql); fi
# A fresh database each time: the order runs add tens of thousands of orders, which would change
# what the next run's views read.
"${psql[@]}" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
"${psql[@]}" -qc "CREATE DATABASE $db OWNER crm" >/dev/null

export HOST=127.0.0.1 PORT="$port" DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db"
export MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" MONGODB_DB="$db" RUST_LOG=warn
target/release/hybrid-crm migrate
target/release/hybrid-crm seed --reset --clients "${CLIENTS:-10000}" --products "${PRODUCTS:-1000}"
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
# The same view for clients with orders or enrollments only (their view adds the activity call).
"${psql[@]}" -d "$db" -qtAc "SELECT 'http://127.0.0.1:$port/api/v1/clients/' || id || '/view' FROM clients WHERE has_activity ORDER BY random()" \
    >"$out/active-view-urls.txt"
echo "clients with activity: $(wc -l <"$out/active-view-urls.txt")"
run view-active-max-64 -c 64 --urls-from-file "$out/active-view-urls.txt"
run view-active-2000rps-64 -c 64 -q 2000 --latency-correction --urls-from-file "$out/active-view-urls.txt"
run list50-max-64 -c 64 "http://127.0.0.1:$port/api/v1/clients?limit=50"
run list50-2000rps-64 -c 64 -q 2000 --latency-correction "http://127.0.0.1:$port/api/v1/clients?limit=50"
# Enrollment rush: 2,000 distinct clients at 256 connections for a new 100-seat workshop.
sql() { "${psql[@]}" -d "$db" -qtAc "$1"; }
interest=$(sql "SELECT id FROM interests ORDER BY name LIMIT 1")
workshop=$(curl -fs -X POST -H 'content-type: application/json' "http://127.0.0.1:$port/api/v1/workshops" \
    -d "{\"name\": \"Rush $(date +%s%N)\", \"category_id\": \"$interest\", \"starts_at\": \"2099-01-01T10:00:00Z\",
         \"duration_minutes\": 60, \"modality\": \"online\", \"link\": \"https://meet.example.com/rush\",
         \"price\": \"50.00\", \"capacity\": 100}" | sed -E 's/.*"id":"([^"]+)".*/\1/')
sql "SELECT '{\"client_id\": \"' || id || '\"}' FROM clients WHERE active ORDER BY random() LIMIT 2000" >"$out/rush-bodies.txt"
echo "== enrollment-rush (2000 requests, 256 connections, 100 seats)"
oha --no-tui -n 2000 -c 256 -m POST -H 'content-type: application/json' -Z "$out/rush-bodies.txt" \
    "http://127.0.0.1:$port/api/v1/workshops/$workshop/enrollments" | tee "$out/enrollment-rush.txt" |
    grep -E "Success rate|Total:|Requests/sec|50.00%|99.00%|Slowest|\[[0-9]{3}\]"
echo "seats taken: $(sql "SELECT count(enrollment_id) FROM workshop_seats WHERE workshop_id = '$workshop'"), enrollments: $(sql "SELECT count(*) FROM enrollments WHERE workshop_id = '$workshop'")"

# Order placement: 3 distinct active products per order, random active clients. Stock is topped
# up first (as recorded `adjust` movements) so runs measure placement, not sold-out refusals.
sql "WITH old AS (SELECT id, stock FROM products WHERE active FOR UPDATE),
          upd AS (UPDATE products p SET stock = 1000000 FROM old WHERE p.id = old.id RETURNING p.id, old.stock AS before)
     INSERT INTO stock_movements (id, product_id, kind, quantity, delta, resulting_stock, reason)
     SELECT gen_random_uuid(), id, 'adjust', 1000000, 1000000 - before, 1000000, 'benchmark top-up' FROM upd" >/dev/null
sql "WITH c AS (SELECT id, row_number() OVER (ORDER BY random()) AS n FROM clients WHERE active LIMIT 5000),
          p AS (SELECT array_agg(id ORDER BY random()) AS ids FROM products WHERE active)
     SELECT json_build_object('client_id', c.id, 'shipping_address', '1 Bench Street', 'payment_method', 'card',
                              'items', json_build_array(
                                  json_build_object('product_id', p.ids[1 + (c.n * 3) % array_length(p.ids, 1)], 'quantity', 1),
                                  json_build_object('product_id', p.ids[1 + (c.n * 3 + 1) % array_length(p.ids, 1)], 'quantity', 1),
                                  json_build_object('product_id', p.ids[1 + (c.n * 3 + 2) % array_length(p.ids, 1)], 'quantity', 1)))
     FROM c, p" >"$out/order-bodies.txt"
run orders-max-64 -c 64 -m POST -H 'content-type: application/json' -Z "$out/order-bodies.txt" \
    "http://127.0.0.1:$port/api/v1/orders"

echo "== server resident memory after the runs"
grep -E "VmRSS|VmHWM" "/proc/$server/status" | tee "$out/memory.txt"
