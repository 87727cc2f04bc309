#!/usr/bin/env bash
# The README's first command: install, build, and run dmarcwatch on the
# bundled demo data: a month of reports for example.com (samples/demo),
# imported into an embedded SQLite store (var/demo.db), then what its sending
# paths look like and what to fix. Offline: the demo domain is fictional.
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
"${dmarcwatch[@]}" findings
