#!/usr/bin/env bash
# Brings the two stores and NATS up (idempotently) on a fresh Debian machine, or stops what it
# started.
#
#   scripts/services.sh up     PostgreSQL (installed/started, role + database created), a
#                              MongoDB-protocol server (a reachable mongod, else secantusd-rs)
#                              and nats-server with JetStream (for the event relay and its tests)
#   scripts/services.sh down   stops the secantusd-rs and nats-server this script started
#                              (PostgreSQL is the system's cluster and is left running)
#   scripts/services.sh env    prints the connection settings it uses
#
# Settings (override in the environment): PG_USER, PG_PASSWORD, PG_DB, MONGO_PORT, NATS_PORT.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="$here/.data"
PG_USER="${PG_USER:-crm}"
PG_PASSWORD="${PG_PASSWORD:-crm}"
PG_DB="${PG_DB:-crm}"
MONGO_PORT="${MONGO_PORT:-27017}"
NATS_PORT="${NATS_PORT:-4222}"
SECANTUS_VERSION="0.5.3-beta.196"

log() { printf '[services] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

apt_install() {
    if [ ! -f /var/lib/apt/periodic/.hybrid-crm-updated ]; then
        as_root apt-get update -qq
        as_root mkdir -p /var/lib/apt/periodic && as_root touch /var/lib/apt/periodic/.hybrid-crm-updated
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_up() {
    if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
        log "installing PostgreSQL"
        apt_install postgresql postgresql-contrib
    fi
    # libpq-dev is what diesel links against.
    if ! dpkg -s libpq-dev >/dev/null 2>&1; then
        log "installing libpq-dev"
        apt_install libpq-dev
    fi
    local version cluster status
    read -r version cluster _ status _ < <(pg_lsclusters -h | head -n 1)
    if [ "$status" != "online" ]; then
        log "starting PostgreSQL $version/$cluster"
        as_root pg_ctlcluster "$version" "$cluster" start
    fi
    for _ in $(seq 1 30); do
        as_postgres psql -qtAc 'SELECT 1' >/dev/null 2>&1 && break
        sleep 1
    done
    # CREATEDB lets the test harness create a database per test.
    as_postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'" | grep -q 1 ||
        as_postgres psql -qc "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
    as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1 ||
        as_postgres psql -qc "CREATE DATABASE $PG_DB OWNER $PG_USER"
    log "PostgreSQL ready: postgres://$PG_USER:***@127.0.0.1:5432/$PG_DB"
}

mongo_reachable() {
    # A MongoDB server answers an OP_MSG hello; a plain TCP connect is enough to know one listens.
    (exec 3<>"/dev/tcp/127.0.0.1/$MONGO_PORT") 2>/dev/null
}

secantus_bin() {
    if command -v secantusd-rs >/dev/null 2>&1; then command -v secantusd-rs; return; fi
    if [ -x "$HOME/.cargo/bin/secantusd-rs" ]; then echo "$HOME/.cargo/bin/secantusd-rs"; return; fi
    return 1
}

mongo_up() {
    if mongo_reachable; then
        log "a MongoDB-protocol server already listens on 127.0.0.1:$MONGO_PORT"
        return
    fi
    if command -v mongod >/dev/null 2>&1; then
        log "starting mongod"
        mkdir -p "$data_dir/mongod"
        mongod --dbpath "$data_dir/mongod" --port "$MONGO_PORT" --bind_ip 127.0.0.1 --fork \
            --logpath "$data_dir/mongod.log" >/dev/null
    else
        local bin
        if ! bin="$(secantus_bin)"; then
            log "installing secantusd-rs $SECANTUS_VERSION (one-time build, several minutes)"
            command -v cmake >/dev/null 2>&1 || apt_install cmake
            cargo install secantus-mdb --version "=$SECANTUS_VERSION" --ignore-rust-version --locked --quiet
            bin="$(secantus_bin)"
        fi
        log "starting secantusd-rs on 127.0.0.1:$MONGO_PORT"
        mkdir -p "$data_dir/secantus"
        nohup "$bin" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$data_dir/secantus" \
            --log-level WARNING --cache-size 1G >"$data_dir/secantus.log" 2>&1 &
        echo $! >"$data_dir/secantus.pid"
    fi
    for _ in $(seq 1 60); do
        mongo_reachable && { log "MongoDB protocol ready on 127.0.0.1:$MONGO_PORT"; return; }
        sleep 0.5
    done
    log "the MongoDB-protocol server did not come up; see $data_dir/*.log"
    exit 1
}

nats_reachable() {
    (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null
}

nats_up() {
    if nats_reachable; then
        log "a NATS server already listens on 127.0.0.1:$NATS_PORT"
        return
    fi
    if ! command -v nats-server >/dev/null 2>&1; then
        log "installing nats-server"
        apt_install nats-server
    fi
    log "starting nats-server with JetStream on 127.0.0.1:$NATS_PORT"
    mkdir -p "$data_dir/nats"
    nohup nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$data_dir/nats" >"$data_dir/nats.log" 2>&1 &
    echo $! >"$data_dir/nats.pid"
    for _ in $(seq 1 40); do
        nats_reachable && { log "NATS ready: nats://127.0.0.1:$NATS_PORT"; return; }
        sleep 0.25
    done
    log "nats-server did not come up; see $data_dir/nats.log"
    exit 1
}

down() {
    if [ -f "$data_dir/nats.pid" ]; then
        kill "$(cat "$data_dir/nats.pid")" 2>/dev/null || true
        rm -f "$data_dir/nats.pid"
        log "stopped nats-server"
    fi
    if [ -f "$data_dir/secantus.pid" ]; then
        kill "$(cat "$data_dir/secantus.pid")" 2>/dev/null || true
        rm -f "$data_dir/secantus.pid"
        log "stopped secantusd-rs"
    fi
    if [ -f "$data_dir/mongod/mongod.lock" ] && command -v mongod >/dev/null 2>&1; then
        mongod --dbpath "$data_dir/mongod" --shutdown >/dev/null 2>&1 || true
    fi
}

print_env() {
    cat <<ENV
DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:5432/$PG_DB
MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true
NATS_URL=nats://127.0.0.1:$NATS_PORT
ENV
}

case "${1:-up}" in
    up) mkdir -p "$data_dir"; pg_up; mongo_up; nats_up ;;
    down) down ;;
    env) print_env ;;
    *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
