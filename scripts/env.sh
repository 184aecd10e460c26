#!/usr/bin/env bash
# Makes `.env` from `.env.example` when there is none, and gives every secret that
# `.env.example` leaves empty (`…_PASSWORD=`, `…_KEY=`) a random value in `.env`, also in an
# older `.env` that lacks one. Values already set are kept.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -f .env ] || cp .env.example .env
random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }
sed -nE 's/^([A-Z0-9_]+_(PASSWORD|KEY))=$/\1/p' .env.example | while read -r name; do
    if ! grep -qE "^$name=.+" .env; then
        sed -i "/^$name=\$/d" .env
        echo "$name=$(random)" >>.env
    fi
done
