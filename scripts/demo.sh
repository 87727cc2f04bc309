#!/usr/bin/env bash
# The README's first command: install, build, and run dmarcwatch on the
# bundled sample data in samples/ with an embedded SQLite store (var/demo.db).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh
mkdir -p var
rm -f var/demo.db var/demo.db-wal var/demo.db-shm
build/dmarcwatch --db var/demo.db import --quiet samples/reports
echo
build/dmarcwatch --db var/demo.db reports
