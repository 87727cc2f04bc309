#!/usr/bin/env bash
# The README's first command: install, build, and run dmarcwatch on the
# bundled demo data: a month of reports for example.com (samples/demo),
# imported into an embedded SQLite store (var/demo.db); then the sending
# paths and what to fix, and the dashboard, served until Ctrl-C.
# Offline: the demo domain is fictional. DEMO_LISTEN changes the address.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh
mkdir -p var
rm -f var/demo.db var/demo.db-wal var/demo.db-shm
dmarcwatch=(build/dmarcwatch --config samples/demo/dmarcwatch.toml --offline)
"${dmarcwatch[@]}" import --quiet samples/demo/reports
echo
"${dmarcwatch[@]}" paths
echo
exec "${dmarcwatch[@]}" serve --listen "${DEMO_LISTEN:-127.0.0.1:8080}"
