#!/usr/bin/env bash
# Benchmarks of docs/BENCHMARKS.md: an optimized server on its own databases, loaded by oha on
# this machine. Results go to .data/bench/. Not part of the tests.
#
#   scripts/bench.sh              the full set at CLIENTS clients (default 10,000): view, list,
#                                 search and stats (most requests/s and at a fixed rate), the
#                                 floor, the enrollment rush and order placement
#   scripts/bench.sh scale        view, list, search and stats at a fixed rate at 10,000
#                                 clients, then the same database grown to SCALE_CLIENTS
#                                 (default 1,000,000) and the same runs again, with EXPLAIN
#                                 ANALYZE of the search and the view's statements
#   scripts/bench.sh again        the fixed-rate runs again on the database as the last run left
#                                 it (to repeat a measurement once the machine has settled)
#   scripts/bench.sh events       order placement back to back: BEFORE_BINARY (a build without
#                                 the outbox, if given), this build with its outbox, and this
#                                 build with a webhook endpoint subscribed to order events
#                                 (examples/webhook_sink.rs receives them and reports the delay
#                                 from commit to receipt)
#   scripts/bench.sh access       the client view at most requests/s back to back: BEFORE_BINARY
#                                 (a build without API keys, if given) and this build with a
#                                 readonly key (authentication, rate limit, audit layer, ETag,
#                                 metrics), in alternating order, with the floor after each pair
#   scripts/bench.sh triggers     order placement with the reports' change-noting triggers on
#                                 `orders` enabled and disabled, in alternating order (same
#                                 build, same database): what noting late changes costs a sale
#   scripts/bench.sh payments     card payments (tok_visa) on distinct pending orders at 64
#                                 connections, each with its own Idempotency-Key
#                                 (examples/pay_load.rs: oha cannot vary a header), the same for
#                                 cash, and an idempotent replay at a fixed RATE
#   scripts/bench.sh compare      the client view and order placement at most requests/s, this
#                                 build against BEFORE_BINARY back to back: each build on a
#                                 database it migrated and seeded itself (their schemas may
#                                 differ), REPEAT (3) rounds alternating which goes first, the
#                                 floor on each database after each round
#   scripts/bench.sh reports      the reports at ORDERS orders (default 1,000,000) and CLIENTS
#                                 clients (default 100,000) on their own database (seeded once,
#                                 kept between runs): seeding time, a full rollup and a one-day
#                                 rollup, then p50/p99 of each report over CALLS (200) calls with
#                                 random one-year and random-length periods from the rollups, and
#                                 over BASE_CALLS (20; 0 skips it) from the base tables alone
#                                 (rollups emptied)
#
#   scripts/bench.sh people       people as principals (examples/store_load.rs): 2,000 customers
#                                 enroll in a 100-seat workshop at 256 connections, already
#                                 signed in, and signing in (then browsing) as they enroll,
#                                 REPEAT (2) rounds alternating; the client view at a fixed RATE
#                                 (default 200) alone and beside a flood of 200 concurrent
#                                 sign-ins; a customer's `/store/me/orders` (access token looked
#                                 up on every request) against the same list with an API key
#                                 (`/orders?client_id=`, cached) and the view with a key;
#                                 PARTS (default `rush,flood,auth`) picks some
#
# DURATION (default 20s) per run; RATE (default 1000) requests/s for the fixed-rate runs;
# BINARY (default target/release/hybrid-crm, built first) to compare builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-full}"
scripts/services.sh up
command -v oha >/dev/null 2>&1 || cargo install oha --locked
binary="${BINARY:-target/release/hybrid-crm}"
[ -n "${BINARY:-}" ] || cargo build --release --locked

db=crm_bench; [ "$mode" = reports ] && db=crm_reports
port="${BENCH_PORT:-18090}"; duration="${DURATION:-20s}" rate="${RATE:-1000}" out=.data/bench/$mode
rm -rf "$out" && mkdir -p "$out"
psql=(psql); if [ "$(id -u)" = 0 ]; then psql=(runuser -u postgres -- psql); else psql=(sudo -u postgres psql); fi
sql() { "${psql[@]}" -d "$db" -qtAc "$1"; }
base="http://127.0.0.1:$port"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; PostgreSQL shared_buffers $("${psql[@]}" -qtAc 'SHOW shared_buffers')" | tee "$out/machine.txt"

# A fresh database each time: the order runs add tens of thousands of orders, which would change
# what the next run's views read.
if [ "$mode" != again ] && [ "$mode" != reports ]; then
    "${psql[@]}" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    "${psql[@]}" -qc "CREATE DATABASE $db OWNER crm" >/dev/null
fi
# The reports' million orders take minutes to seed: their database is kept between runs.
if [ "$mode" = reports ] && [ -z "$("${psql[@]}" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
    "${psql[@]}" -qc "CREATE DATABASE $db OWNER crm" >/dev/null
fi
export HOST=127.0.0.1 PORT="$port" DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db"
export MONGODB_URI="mongodb://127.0.0.1:27017/?directConnection=true" MONGODB_DB="$db" RUST_LOG=warn
# The benchmarks measure the service, not the rate limiter's refusals (its cost is still paid).
export RATE_LIMITS="default=1000000/1000000" RATE_LIMIT_ANONYMOUS="1000000/1000000" PAYMENT_GATEWAY=sandbox
export WEBHOOK_SECRET_KEY="${WEBHOOK_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}"
"$binary" migrate
# Every request carries an admin key (the keys table is kept by `seed --reset`).
API_KEY=$("$binary" api-key create --role admin --name "benchmark $(date +%s)" 2>/dev/null)
export API_KEY
auth=(-H "Authorization: Bearer $API_KEY")

seed() {
    echo "== seed --clients $1 ${2:-}"
    # Dropping the previous run's million documents takes longer than a request's timeout.
    MONGODB_TIMEOUT_MS=120000 /usr/bin/time -f "seed: %e s wall, %M KiB peak resident" "$binary" seed --clients "$1" --products "${PRODUCTS:-1000}" ${2:-} 2>&1 |
        grep -v "^\s*$" | tail -3 | tee -a "$out/seed.txt"
    sql "VACUUM ANALYZE" >/dev/null
    # The report rollups brought up to date, as a server that has been running keeps them.
    "$binary" rollup >/dev/null
}

server=""
start_server() {
    [ -z "$server" ] || { kill "$server"; wait "$server" 2>/dev/null || true; }
    "$binary" serve --no-migrate >>"$out/server.log" 2>&1 &
    server=$!
    local started; started=$(sql "SELECT now()")
    for _ in $(seq 1 100); do curl -fs "$base/health/ready" >/dev/null && break; sleep 0.2; done
    curl -fs "$base/health/ready" >/dev/null || { echo "server did not start" >&2; exit 1; }
    # A server runs its periodic jobs once at start (reconcile takes about a minute at a million
    # clients, paced): measure the steady state after them, as a server that has been up would be.
    for _ in $(seq 1 600); do
        [ "$(sql "SELECT count(*) FROM job_reports WHERE job IN ('reconcile', 'client_stats') AND finished_at > '$started'")" = 2 ] && return
        sleep 0.5
    done
    echo "the server's first reconcile and statistics did not finish within 5 minutes" >&2; exit 1
}
trap '[ -z "$server" ] || kill $server 2>/dev/null || true' EXIT
# The comparison build (BEFORE_BINARY) in the server's place.
start_before_server() { local saved="$binary"; binary="$BEFORE_BINARY"; start_server; binary="$saved"; }

run() {
    local name="$1"; shift
    echo "== $name"
    oha --no-tui -z "$duration" "${auth[@]}" "$@" | tee "$out/$name.txt" |
        grep -E "Success rate|Requests/sec|Slowest|Average|50.00%|99.00%|99.90%|\[[0-9]{3}\]"
}

# CPU time by process kind, to say where a run's work went: `cpu_mark` before it, `cpu_report
# NAME` after it writes NAME-cpu.txt with the CPU seconds each kind used in between (PostgreSQL
# counts its exited backends through the postmaster's children's time) and the machine's total.
cpu_sample() {
    # (cat, not awk's own file list: processes come and go, and mawk stops at a missing file.)
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{ t = $14 + $15 + $16 + $17; k = $2 }
         k == "(postgres)" { c["postgres"] += t } k == "(hybrid-crm)" { c["server"] += t }
         k == "(secantusd-rs)" { c["mongodb"] += t } k == "(webhook_sink)" { c["sink"] += t }
         END { for (k in c) print k, c[k] }'
    # Busy time (user, nice, system, irq, softirq), and apart from it the time the hypervisor
    # gave this VM's CPUs to others (steal): a shared host's slow hours show there.
    awk '$1 == "cpu" { print "machine", $2 + $3 + $4 + $7 + $8; print "steal", $9 }' /proc/stat
}
cpu_mark() { cpu_sample >"$out/.cpu-mark"; }
cpu_report() {
    local hz; hz=$(getconf CLK_TCK)
    cpu_sample | awk -v hz="$hz" 'NR == FNR { before[$1] = $2; next } { after[$1] = $2 }
        END { for (k in after) { s = (after[k] - before[k]) / hz; if (k == "machine") other += s; else if (k != "steal") other -= s
                                  printf "%s %.1f\n", k, s }
              printf "other %.1f\n", other }' "$out/.cpu-mark" - | sort >"$out/$1-cpu.txt"
    echo "CPU seconds: $(tr '\n' ' ' <"$out/$1-cpu.txt")"
}

# URL files: every client's view, shuffled; searches of 3 to 6 characters drawn from names and
# emails (so they match few or many clients) plus ones that match nothing.
url_files() {
    sql "SELECT '$base/api/v1/clients/' || id || '/view' FROM clients ORDER BY random()" >"$out/view-urls.txt"
    sql "WITH words AS (SELECT lower(substr(x, 1 + (random() * greatest(length(x) - 6, 0))::int, 3 + (random() * 3)::int)) AS q
                          FROM (SELECT CASE WHEN random() < 0.5 THEN name ELSE email END AS x FROM clients ORDER BY random() LIMIT 2000) t)
         SELECT '$base/api/v1/clients?q=' || replace(replace(replace(q, ' ', '%20'), '@', '%40'), '+', '%2B') FROM words
          WHERE length(replace(q, ' ', '')) >= 3
         UNION ALL SELECT '$base/api/v1/clients?q=' || q FROM unnest(array['zzqxj', 'qqqzz', 'xkcdy', 'jjjwq']) q" \
        >"$out/search-urls.txt"
    echo "view URLs: $(wc -l <"$out/view-urls.txt"), search URLs: $(wc -l <"$out/search-urls.txt")"
}

# Both stores warm, as a server that has been serving would have them: PostgreSQL's tables and
# indexes read into memory (pg_prewarm), MongoDB's documents by a pass over the collection.
warm_up() {
    "${psql[@]}" -d "$db" -qc "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
    "${psql[@]}" -d "$db" -qtAc "SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')" >/dev/null
    python3 - "$MONGODB_URI" "$db" <<'PY' 2>/dev/null || mongo_scan_by_view
import sys
from pymongo import MongoClient
print(MongoClient(sys.argv[1])[sys.argv[2]]["client_info"].count_documents({"preferences.language": {"$exists": True}}))
PY
    oha --no-tui -z 10s -c 32 "${auth[@]}" --urls-from-file "$out/view-urls.txt" >/dev/null
}
mongo_scan_by_view() { oha --no-tui -z 20s -c 32 "${auth[@]}" --urls-from-file "$out/view-urls.txt" >/dev/null; }

# Each fixed-rate run REPEAT times (default 3), interleaved: this shared VM's figures swing
# between runs, so medians and ranges are what the report states.
fixed_rate_runs() {
    local label="$1"
    url_files
    warm_up
    for i in $(seq 1 "${REPEAT:-3}"); do
        run "$label-view-${rate}rps-$i" -c 64 -q "$rate" --latency-correction --urls-from-file "$out/view-urls.txt"
        run "$label-list-${rate}rps-$i" -c 64 -q "$rate" --latency-correction "$base/api/v1/clients?limit=50"
        run "$label-search-${rate}rps-$i" -c 64 -q "$rate" --latency-correction --urls-from-file "$out/search-urls.txt"
        run "$label-search-16-$i" -c 16 --urls-from-file "$out/search-urls.txt"
        run "$label-search-nomatch-16-$i" -c 16 "$base/api/v1/clients?q=zzqxj"
        run "$label-stats-${rate}rps-$i" -c 64 -q "$rate" --latency-correction "$base/api/v1/stats/clients"
    done
}

# p99 per run kind: median and range over the repetitions.
summary() {
    echo "== p99 (median, min-max over ${REPEAT:-3} runs)"
    for file in "$out"/*-1.txt; do
        local kind; kind=$(basename "$file" -1.txt)
        ls "$out/$kind"-[0-9].txt >/dev/null 2>&1 || continue
        grep -h "99.00%" "$out/$kind"-[0-9].txt | awk '{v=$3; if ($4 == "sec") v *= 1000; print v}' | sort -n |
            awk -v k="$kind" '{a[NR]=$1} END {printf "%-34s %9.2f ms  (%.2f-%.2f)\n", k, a[int((NR+1)/2)], a[1], a[NR]}'
    done | tee "$out/summary.txt"
}

explain() {
    local label="$1" id
    id=$(sql "SELECT id FROM clients ORDER BY random() LIMIT 1")
    {
        for q in zzqxj lovelace 'd kn' 'is pe' 'm mcc' 'y th'; do
            echo "-- search: GET /clients?q=$q"
            # The list's statement for a search: the page's ids from the sort order's index, then the rows.
            sql "EXPLAIN (ANALYZE, BUFFERS) SELECT c.*, ARRAY(SELECT ci.interest_id FROM client_interests ci WHERE ci.client_id = c.id ORDER BY ci.interest_id)
                 FROM clients c WHERE c.id = ANY(SELECT id FROM clients WHERE search_text LIKE lower('%$q%') ORDER BY created_at, id LIMIT 21)
                 ORDER BY c.created_at, c.id LIMIT 21"
        done
        echo "-- the view's statement (client ⟕ company ⟕ interests) for $id"
        sql "EXPLAIN (ANALYZE, BUFFERS) SELECT c.*, co.*, i.* FROM clients c LEFT JOIN companies co ON co.id = c.company_id
             LEFT JOIN (client_interests ci JOIN interests i ON i.id = ci.interest_id) ON ci.client_id = c.id
             WHERE c.id = '$id' ORDER BY i.name, i.id"
    } >"$out/$label-explain.txt"
    grep -E "^--|Execution Time|Index Scan|Index Only Scan|Bitmap Heap|Seq Scan" "$out/$label-explain.txt"
}

floor() {
    local label="$1"
    echo "== $label-floor (the two drivers alone, 64 concurrent, no HTTP)"
    ../shared/bench/floor/run.sh "$DATABASE_URL" "$MONGODB_URI" "$db" 64 "${duration%s}" | tee "$out/$label-floor.json"
}

# Order placement: 3 distinct active products per order, random active clients. Stock is topped
# up first (as recorded `adjust` movements) so runs measure placement, not sold-out refusals.
order_bodies() {
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
}

if [ "$mode" = reports ]; then
    orders="${ORDERS:-1000000}"
    # (Today's orders go through the rules, which may refuse one: "nearly" is enough.)
    if [ "$(sql "SELECT count(*) FROM orders")" -lt "$((orders * 99 / 100))" ]; then
        seed "${CLIENTS:-100000}" "--reset --orders $orders"
    fi
    echo "data: $(sql "SELECT count(*) FROM orders") orders, $(sql "SELECT count(*) FROM clients") clients, \
$(sql "SELECT count(*) FROM order_items") items, $(sql "SELECT count(*) FROM payments") payments, \
$(sql "SELECT count(*) FROM enrollments") enrollments, from $(sql "SELECT min(created_at)::date FROM orders")" | tee "$out/data.txt"
    echo "== rollup of every day, from scratch" | tee -a "$out/rollup.txt"
    sql "TRUNCATE daily_sales CASCADE; TRUNCATE report_changes" >/dev/null
    "$binary" rollup 2>&1 | tail -1 | tee -a "$out/rollup.txt"
    sql "VACUUM ANALYZE" >/dev/null
    yesterday=$(date -u -d yesterday +%F)
    for i in 1 2 3; do
        echo "== rollup of one day ($yesterday), run $i" | tee -a "$out/rollup.txt"
        "$binary" rollup --from "$yesterday" 2>&1 | tail -1 | tee -a "$out/rollup.txt"
    done
    "${psql[@]}" -d "$db" -qc "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
    "${psql[@]}" -d "$db" -qtAc "SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')" >/dev/null
    export ROLLUP_INTERVAL_SECS=0
    start_server
    latency() { python3 scripts/report_latency.py "$base" "$API_KEY" "$@"; }
    echo "== from the rollups (today from the base tables)"
    latency 3 any >/dev/null
    latency "${CALLS:-200}" year | tee "$out/rollups-year.jsonl"
    latency "${CALLS:-200}" any | tee "$out/rollups-any.jsonl"
    # BASE_CALLS=0 skips this part (each call takes seconds).
    if [ "${BASE_CALLS:-20}" != 0 ]; then
        echo "== from the base tables alone (rollups emptied)"
        sql "TRUNCATE daily_sales CASCADE" >/dev/null
        latency "${BASE_CALLS:-20}" year | tee "$out/base-year.jsonl"
        latency "${BASE_CALLS:-20}" any | tee "$out/base-any.jsonl"
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        "$binary" rollup 2>&1 | tail -1 | tee -a "$out/rollup.txt"
    fi
    floor reports
    exit 0
fi

if [ "$mode" = events ]; then
    [ -x target/release/examples/webhook_sink ] || cargo build --release --locked --example webhook_sink
    seed "${CLIENTS:-10000}" --reset
    order_bodies
    sink_port=$((port + 9))
    target/release/examples/webhook_sink "127.0.0.1:$sink_port" >"$out/sink.log" 2>&1 &
    sink=$!
    trap '[ -z "$server" ] || kill $server 2>/dev/null || true; kill $sink 2>/dev/null || true' EXIT
    export WEBHOOK_ALLOW_PRIVATE=true
    subscribe() {
        curl -fs -o /dev/null -X POST "${auth[@]}" -H 'content-type: application/json' \
            -d "{\"url\": \"http://127.0.0.1:$sink_port/hook\", \"event_types\": [\"order.*\"]}" "$base/api/v1/webhook-endpoints"
    }
    # A run's CPU is counted until the work its orders caused is done (events numbered,
    # confirmations sent, deliveries made), so work left behind a run is charged to it.
    drained() {
        [ "$(sql "SELECT (SELECT count(*) FROM events WHERE sequence IS NULL)
                       + (SELECT count(*) FROM notifications WHERE status IN ('pending', 'sending'))
                       + (SELECT count(*) FROM webhook_deliveries WHERE status IN ('pending', 'delivering'))")" = 0 ]
    }
    placing() {
        local name="$1" started
        cpu_mark
        run "$name" -c 64 -m POST -H 'content-type: application/json' -Z "$out/order-bodies.txt" "$base/api/v1/orders"
        started=$(date +%s%N)
        until drained; do sleep 0.5; done
        echo "work left at the end of the run done $(( ($(date +%s%N) - started) / 1000000 )) ms later"
        cpu_report "$name"
    }
    before_run() {
        [ -n "${BEFORE_BINARY:-}" ] || return 0
        start_before_server
        placing "orders-before-$1"
    }
    outbox_run() { start_server; sql "DELETE FROM webhook_endpoints" >/dev/null; placing "orders-outbox-$1"; }
    webhook_run() {
        start_server; sql "DELETE FROM webhook_endpoints" >/dev/null; subscribe
        placing "orders-webhook-$1"
        sql "DELETE FROM webhook_endpoints" >/dev/null
    }
    # The order of the three kinds reversed every other repetition: each run adds ~10,000 orders,
    # and a later run meets larger tables.
    for i in $(seq 1 "${REPEAT:-2}"); do
        if [ $((i % 2)) = 1 ]; then before_run "$i"; outbox_run "$i"; webhook_run "$i"
        else webhook_run "$i"; outbox_run "$i"; before_run "$i"; fi
    done
    echo "== orders/s (before | outbox | outbox + webhook endpoint)"
    for i in $(seq 1 "${REPEAT:-2}"); do
        for kind in before outbox webhook; do
            printf '%s ' "$(grep -h 'Requests/sec' "$out/orders-$kind-$i.txt" 2>/dev/null | awk '{print $2}')"
        done
        echo
    done | tee "$out/summary.txt"
    echo "== commit to webhook receipt during the runs at most requests/s (the backlog grows)"
    curl -fs "http://127.0.0.1:$sink_port/stats" | tee "$out/webhook-delay-max.json"; echo
    # At a fixed rate the dispatcher can keep up with: a fresh endpoint (no backlog) and a fresh
    # sink, so the delays are those of this run alone.
    kill $sink; wait $sink 2>/dev/null || true
    target/release/examples/webhook_sink "127.0.0.1:$sink_port" >"$out/sink.log" 2>&1 &
    sink=$!
    sleep 0.5
    start_server
    sql "DELETE FROM webhook_endpoints" >/dev/null
    subscribe
    webhook_rate="${WEBHOOK_RATE:-200}"
    run "orders-webhook-${webhook_rate}rps" -c 64 -q "$webhook_rate" --latency-correction -m POST \
        -H 'content-type: application/json' -Z "$out/order-bodies.txt" "$base/api/v1/orders"
    sleep 5
    echo "== commit to webhook receipt at $webhook_rate orders/s"
    curl -fs "http://127.0.0.1:$sink_port/stats" | tee "$out/webhook-delay-${webhook_rate}rps.json"; echo
    exit 0
fi

if [ "$mode" = access ]; then
    seed "${CLIENTS:-10000}" --reset
    API_KEY=$("$binary" api-key create --role readonly --name "benchmark reader" 2>/dev/null)
    auth=(-H "Authorization: Bearer $API_KEY")
    start_server
    url_files
    warm_up
    before_run() {
        [ -n "${BEFORE_BINARY:-}" ] || return 0
        start_before_server
        run "view-before-$1" -c 64 --urls-from-file "$out/view-urls.txt"
    }
    key_run() { start_server; run "view-key-$1" -c 64 --urls-from-file "$out/view-urls.txt"; }
    # Alternating which build goes first, so a machine slowing down (or speeding up) during the
    # session does not favour one of them.
    for i in $(seq 1 "${REPEAT:-3}"); do
        if [ $((i % 2)) = 1 ]; then before_run "$i"; key_run "$i"; else key_run "$i"; before_run "$i"; fi
        floor "access-$i"
    done
    echo "== requests/s (before | with a key | floor)"
    for i in $(seq 1 "${REPEAT:-3}"); do
        printf '%s | %s | %s\n' "$(grep -h 'Requests/sec' "$out/view-before-$i.txt" 2>/dev/null | awk '{print $2}')" \
            "$(grep -h 'Requests/sec' "$out/view-key-$i.txt" | awk '{print $2}')" \
            "$(grep -o '"requests_per_s":[0-9.]*' "$out/access-$i-floor.json" | cut -d: -f2)"
    done | tee "$out/summary.txt"
    exit 0
fi

if [ "$mode" = compare ]; then
    [ -n "${BEFORE_BINARY:-}" ] || { echo "compare needs BEFORE_BINARY (the build to compare with)" >&2; exit 1; }
    after_binary="$binary"
    use_build() {
        if [ "$1" = before ]; then db=crm_bench_before binary="$BEFORE_BINARY"; else db=crm_bench binary="$after_binary"; fi
        export DATABASE_URL="postgres://crm:crm@127.0.0.1:5432/$db" MONGODB_DB="$db"
        [ ! -s "$out/key-$1" ] || auth=(-H "Authorization: Bearer $(cat "$out/key-$1")")
    }
    "${psql[@]}" -qc "DROP DATABASE IF EXISTS crm_bench_before WITH (FORCE)" >/dev/null
    "${psql[@]}" -qc "CREATE DATABASE crm_bench_before OWNER crm" >/dev/null
    for build in before after; do
        use_build "$build"
        "$binary" migrate
        "$binary" api-key create --role admin --name "benchmark $build" 2>/dev/null >"$out/key-$build"
        use_build "$build"
        seed "${CLIENTS:-10000}" --reset
        start_server
        url_files; mv "$out/view-urls.txt" "$out/view-urls-$build.txt"
        cp "$out/view-urls-$build.txt" "$out/view-urls.txt"; warm_up
        order_bodies; mv "$out/order-bodies.txt" "$out/order-bodies-$build.txt"
    done
    round() {
        use_build "$1"
        start_server
        run "view-$1-$2" -c 64 --urls-from-file "$out/view-urls-$1.txt"
        run "orders-$1-$2" -c 64 -m POST -H 'content-type: application/json' -Z "$out/order-bodies-$1.txt" "$base/api/v1/orders"
        floor "$1-$2"
    }
    for i in $(seq 1 "${REPEAT:-3}"); do
        if [ $((i % 2)) = 1 ]; then round before "$i"; round after "$i"; else round after "$i"; round before "$i"; fi
    done
    figure() { grep -h 'Requests/sec' "$out/$1.txt" | awk '{print $2}'; }
    echo "== requests/s: view before | view after | orders before | orders after | floor before | floor after"
    for i in $(seq 1 "${REPEAT:-3}"); do
        printf '%s | %s | %s | %s | %s | %s\n' "$(figure "view-before-$i")" "$(figure "view-after-$i")" \
            "$(figure "orders-before-$i")" "$(figure "orders-after-$i")" \
            "$(grep -o '"requests_per_s":[0-9.]*' "$out/before-$i-floor.json" | cut -d: -f2)" \
            "$(grep -o '"requests_per_s":[0-9.]*' "$out/after-$i-floor.json" | cut -d: -f2)"
    done | tee "$out/summary.txt"
    exit 0
fi

if [ "$mode" = triggers ]; then
    seed "${CLIENTS:-10000}" --reset
    order_bodies
    start_server
    notes() { sql "ALTER TABLE orders $1 TRIGGER orders_inserted_report; ALTER TABLE orders $1 TRIGGER orders_updated_report;
                   ALTER TABLE orders $1 TRIGGER orders_deleted_report" >/dev/null; }
    trap 'notes ENABLE; [ -z "$server" ] || kill $server 2>/dev/null || true' EXIT
    placing() { run "orders-$1-$2" -c 64 -m POST -H 'content-type: application/json' -Z "$out/order-bodies.txt" "$base/api/v1/orders"; }
    for i in $(seq 1 "${REPEAT:-4}"); do
        if [ $((i % 2)) = 1 ]; then notes DISABLE; placing without "$i"; notes ENABLE; placing with "$i"
        else notes ENABLE; placing with "$i"; notes DISABLE; placing without "$i"; fi
    done
    notes ENABLE
    echo "== orders/s (without the triggers | with them)"
    for i in $(seq 1 "${REPEAT:-4}"); do
        printf '%s | %s\n' "$(grep -h 'Requests/sec' "$out/orders-without-$i.txt" | awk '{print $2}')" \
            "$(grep -h 'Requests/sec' "$out/orders-with-$i.txt" | awk '{print $2}')"
    done | tee "$out/summary.txt"
    exit 0
fi

if [ "$mode" = again ]; then
    label="again-$(sql "SELECT count(*) / 1000 FROM clients")k"
    start_server
    fixed_rate_runs "$label"
    explain "$label"
    floor "$label"
    summary
    exit 0
fi

if [ "$mode" = payments ]; then
    cargo build --release --locked --example pay_load
    seed 10000 --reset
    # 50,000 pending orders of 10.00 (five per client), straight into the table: the runs
    # measure paying them, not placing them. Card payments take sets 1-2, cash 3-4, the replay 5.
    sql "INSERT INTO orders (id, client_id, status, shipping_address, payment_method, subtotal, discount, total)
         SELECT gen_random_uuid(), c.id, 'pending', 'Bench ' || s, 'card', 10, 0, 10
           FROM clients c CROSS JOIN generate_series(1, 5) s" >/dev/null
    sql "VACUUM ANALYZE" >/dev/null
    start_server
    bodies() {
        sql "SELECT json_build_object('subject', json_build_object('type', 'order', 'id', id), 'amount', '10.00',
                                      'method', '$1', 'token', $2)
               FROM orders WHERE shipping_address IN ('Bench $3', 'Bench $4') ORDER BY random()" >"$out/bodies-$1.txt"
    }
    bodies card "'tok_visa'" 1 2
    bodies cash "NULL" 3 4
    sed -i 's/,"token":null//; s/, "token" : null//' "$out/bodies-cash.txt"
    for i in $(seq 1 "${REPEAT:-3}"); do
        echo "== payments-card-64-$i"
        target/release/examples/pay_load "127.0.0.1:$port" "$out/bodies-card.txt" 64 "${duration%s}" | tee "$out/payments-card-64-$i.txt"
        tail -n +"$(( $(grep -h -o 'requests: [0-9]*' "$out/payments-card-64-$i.txt" | cut -d' ' -f2) + 1 ))" "$out/bodies-card.txt" >"$out/rest.txt"
        mv "$out/rest.txt" "$out/bodies-card.txt"
        echo "== payments-cash-64-$i"
        target/release/examples/pay_load "127.0.0.1:$port" "$out/bodies-cash.txt" 64 "${duration%s}" | tee "$out/payments-cash-64-$i.txt"
        tail -n +"$(( $(grep -h -o 'requests: [0-9]*' "$out/payments-cash-64-$i.txt" | cut -d' ' -f2) + 1 ))" "$out/bodies-cash.txt" >"$out/rest.txt"
        mv "$out/rest.txt" "$out/bodies-cash.txt"
    done
    # The replay: one payment, then the same key and body again and again.
    order=$(sql "SELECT id FROM orders WHERE status = 'pending' AND shipping_address = 'Bench 5' LIMIT 1")
    body="{\"subject\": {\"type\": \"order\", \"id\": \"$order\"}, \"amount\": \"10.00\", \"method\": \"card\", \"token\": \"tok_visa\"}"
    curl -fs -o /dev/null -X POST "${auth[@]}" -H 'content-type: application/json' -H "Idempotency-Key: replay-$order" -d "$body" "$base/api/v1/payments"
    for i in $(seq 1 "${REPEAT:-3}"); do
        run "replay-${rate}rps-$i" -c 64 -q "$rate" --latency-correction -m POST -H 'content-type: application/json' \
            -H "Idempotency-Key: replay-$order" -d "$body" "$base/api/v1/payments"
    done
    echo "payments of the replayed order: $(sql "SELECT count(*) FROM payments WHERE order_id = '$order'")"
    floor payments
    echo "== server resident memory"; grep -E "VmRSS|VmHWM" "/proc/$server/status" | tee "$out/memory.txt"
    summary
    exit 0
fi

if [ "$mode" = people ]; then
    cargo build --release --locked --example store_load
    load=target/release/examples/store_load
    seed "${CLIENTS:-10000}" --reset
    start_server
    url_files
    warm_up
    publishable=$("$binary" api-key create --name "bench storefront" --publishable-for "http://127.0.0.1:$port" 2>/dev/null)
    # 2,000 verified customers of existing clients, all with one password: its argon2id hash made
    # once by the CLI (a staff user's), copied to their accounts.
    password="bench passphrase for customers"
    echo "$password" | "$binary" user create --email "hash.$(date +%s)@bench.example.com" --role readonly --name Hash >/dev/null 2>&1
    hash=$(sql "SELECT password_hash FROM users WHERE name = 'Hash' ORDER BY created_at DESC LIMIT 1")
    sql "INSERT INTO customer_accounts (id, client_id, email, password_hash, email_verified_at, active, created_at, updated_at)
         SELECT gen_random_uuid(), id, email, '$hash', now(), true, now(), now() FROM clients
          WHERE active AND id NOT IN (SELECT client_id FROM customer_accounts WHERE client_id IS NOT NULL)
          ORDER BY random() LIMIT 2000" >/dev/null
    sql "SELECT email FROM customer_accounts WHERE password_hash = '$hash' LIMIT 2000" >"$out/emails.txt"
    echo "customers: $(wc -l <"$out/emails.txt")"
    interest=$(sql "SELECT id FROM interests ORDER BY name LIMIT 1")
    new_workshop() {
        curl -fs -X POST "${auth[@]}" -H 'content-type: application/json' "$base/api/v1/workshops" \
            -d "{\"name\": \"Rush $(date +%s%N)\", \"category_id\": \"$interest\", \"starts_at\": \"2099-01-01T10:00:00Z\",
                 \"duration_minutes\": 60, \"modality\": \"online\", \"link\": \"https://meet.example.com/rush\",
                 \"price\": \"50.00\", \"capacity\": 100}" | sed -E 's/.*"id":"([^"]+)".*/\1/'
    }
    rush() {
        local kind="$1" round="$2" workshop; workshop=$(new_workshop)
        echo "== rush-$kind-$round (2000 customers, 256 connections, 100 seats)"
        "$load" rush "127.0.0.1:$port" "$out/emails.txt" "$password" "$publishable" "$workshop" 256 "$kind" | tee "$out/rush-$kind-$round.txt"
        echo "enrolled: $(sql "SELECT count(*) FROM enrollments WHERE workshop_id = '$workshop' AND status <> 'cancelled'"), seats taken: $(sql "SELECT count(enrollment_id) FROM workshop_seats WHERE workshop_id = '$workshop'")" | tee -a "$out/rush-$kind-$round.txt"
    }
    parts="${PARTS:-rush,flood,auth}"
    for i in $(seq 1 "${REPEAT:-2}"); do
        [[ "$parts" == *rush* ]] || break
        if [ $((i % 2)) = 1 ]; then rush presigned "$i"; rush signin "$i"; else rush signin "$i"; rush presigned "$i"; fi
    done
    # The view at a fixed rate, alone and beside 200 concurrent sign-ins (the flood starts first).
    view_rate="${RATE:-200}"
    for i in $(seq 1 "${REPEAT:-2}"); do
        [[ "$parts" == *flood* ]] || break
        run "view-${view_rate}rps-alone-$i" -c 64 -q "$view_rate" --latency-correction --urls-from-file "$out/view-urls.txt"
        "$load" flood "127.0.0.1:$port" "$out/emails.txt" "$password" 200 "$((${duration%s} + 4))" >"$out/flood-$i.txt" &
        flood=$!
        sleep 2
        run "view-${view_rate}rps-flood-$i" -c 64 -q "$view_rate" --latency-correction --urls-from-file "$out/view-urls.txt"
        wait "$flood"; cat "$out/flood-$i.txt"
    done
    # Authentication: a customer's orders with their access token against the same list with a key.
    email=$(sql "SELECT a.email FROM customer_accounts a JOIN orders o ON o.client_id = a.client_id
                  WHERE a.password_hash = '$hash' GROUP BY a.email ORDER BY count(*) DESC LIMIT 1")
    client=$(sql "SELECT client_id FROM customer_accounts WHERE email = '$email'")
    token=$(curl -fs -X POST -H 'content-type: application/json' "$base/api/v1/store/auth/sign-in" \
        -d "{\"email\": \"$email\", \"password\": \"$password\"}" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
    echo "customer $email: $(sql "SELECT count(*) FROM orders WHERE client_id = '$client'") orders"
    for i in $(seq 1 "${REPEAT:-2}"); do
        [[ "$parts" == *auth* ]] || break
        echo "== store-orders-token-max-64-$i"
        oha --no-tui -z "$duration" -c 64 -H "Authorization: Bearer $token" "$base/api/v1/store/me/orders" |
            tee "$out/store-orders-token-$i.txt" | grep -E "Success rate|Requests/sec|50.00%|99.00%|\[[0-9]{3}\]"
        run "orders-key-max-64-$i" -c 64 "$base/api/v1/orders?client_id=$client"
        run "view-key-max-64-$i" -c 64 "$base/api/v1/clients/$client/view"
    done
    floor people
    exit 0
fi

if [ "$mode" = scale ]; then
    seed 10000 --reset
    start_server
    fixed_rate_runs 10k
    explain 10k
    seed "${SCALE_CLIENTS:-1000000}"
    start_server
    fixed_rate_runs 1m
    explain 1m
    floor 1m
    echo "== server resident memory"; grep -E "VmRSS|VmHWM" "/proc/$server/status" | tee "$out/memory.txt"
    summary
    exit 0
fi

seed "${CLIENTS:-10000}" --reset
start_server
url_files
oha --no-tui -z 5s -c 64 "${auth[@]}" --urls-from-file "$out/view-urls.txt" >/dev/null # warm-up
run view-max-64 -c 64 --urls-from-file "$out/view-urls.txt"
floor full
run view-2000rps-64 -c 64 -q 2000 --latency-correction --urls-from-file "$out/view-urls.txt"
# The same view for clients with orders or enrollments only (their view adds the activity).
sql "SELECT '$base/api/v1/clients/' || id || '/view' FROM clients WHERE has_activity ORDER BY random()" \
    >"$out/active-view-urls.txt"
echo "clients with activity: $(wc -l <"$out/active-view-urls.txt")"
run view-active-max-64 -c 64 --urls-from-file "$out/active-view-urls.txt"
run list50-max-64 -c 64 "$base/api/v1/clients?limit=50"
run list50-2000rps-64 -c 64 -q 2000 --latency-correction "$base/api/v1/clients?limit=50"
run search-max-64 -c 64 --urls-from-file "$out/search-urls.txt"
run stats-max-64 -c 64 "$base/api/v1/stats/clients"

# Enrollment rush: 2,000 distinct clients at 256 connections for a new 100-seat workshop.
interest=$(sql "SELECT id FROM interests ORDER BY name LIMIT 1")
workshop=$(curl -fs -X POST "${auth[@]}" -H 'content-type: application/json' "$base/api/v1/workshops" \
    -d "{\"name\": \"Rush $(date +%s%N)\", \"category_id\": \"$interest\", \"starts_at\": \"2099-01-01T10:00:00Z\",
         \"duration_minutes\": 60, \"modality\": \"online\", \"link\": \"https://meet.example.com/rush\",
         \"price\": \"50.00\", \"capacity\": 100}" | sed -E 's/.*"id":"([^"]+)".*/\1/')
sql "SELECT '{\"client_id\": \"' || id || '\"}' FROM clients WHERE active ORDER BY random() LIMIT 2000" >"$out/rush-bodies.txt"
echo "== enrollment-rush (2000 requests, 256 connections, 100 seats)"
oha --no-tui -n 2000 -c 256 "${auth[@]}" -m POST -H 'content-type: application/json' -Z "$out/rush-bodies.txt" \
    "$base/api/v1/workshops/$workshop/enrollments" | tee "$out/enrollment-rush.txt" |
    grep -E "Success rate|Total:|Requests/sec|50.00%|99.00%|Slowest|\[[0-9]{3}\]"
echo "seats taken: $(sql "SELECT count(enrollment_id) FROM workshop_seats WHERE workshop_id = '$workshop'"), enrollments: $(sql "SELECT count(*) FROM enrollments WHERE workshop_id = '$workshop'")"

order_bodies
run orders-max-64 -c 64 -m POST -H 'content-type: application/json' -Z "$out/order-bodies.txt" "$base/api/v1/orders"

echo "== server resident memory after the runs"
grep -E "VmRSS|VmHWM" "/proc/$server/status" | tee "$out/memory.txt"
