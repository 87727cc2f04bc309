#!/usr/bin/env bash
# Builds the libFuzzer target with clang-14 (ASan + UBSan) and runs it for
# SECONDS (default 60), seeded with every file of the report corpus.
# Exits non-zero on any crash, leak, timeout or sanitizer report; the
# failing input is left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
CXX=clang++-14 CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDMARC_ENABLE_FUZZING=ON -DDMARC_BUILD_TESTS=OFF -DDMARC_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target ingest_fuzz -j"$(nproc)"
seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds" build-fuzz/work build-fuzz/artifacts
find tests/corpus -type f ! -name '*.tsv' ! -name '*.md' -exec cp {} "$seeds"/ \;
# Inputs that once crashed or hung the fuzzer are kept in samples/malformed.
[ -d samples/malformed ] && cp samples/malformed/* "$seeds"/ 2>/dev/null || true
build-fuzz/tests/fuzz/ingest_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=1048576 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
  build-fuzz/work "$seeds"
