#!/usr/bin/env bash
# Re-vendors the dashboard's chart library from npm (the checked-in copy is what the binary
# embeds; nothing is downloaded at build or run time). Checks npm's integrity hash of the tarball.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=4.5.1
integrity="sha512-GIjfiT9dbmHRiYi6Nl2yFCq7kkwdkp1W/lp2J99rX0yo9tgJGn3lKQATztIjb5tVtevcBtIdICNWqlq5+E8/Pw=="
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "chart.js@$version" --silent >/dev/null)
got="sha512-$(openssl dgst -sha512 -binary "$work/chart.js-$version.tgz" | base64 -w0)"
[ "$got" = "$integrity" ] || { echo "integrity mismatch: $got" >&2; exit 1; }
tar xzf "$work/chart.js-$version.tgz" -C "$work"
cp "$work/package/dist/chart.umd.min.js" static/dashboard/vendor/chart.umd.min.js
cp "$work/package/LICENSE.md" static/dashboard/vendor/chart.js-LICENSE.md
echo "vendored chart.js $version into static/dashboard/vendor/"
