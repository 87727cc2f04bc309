#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs them for
# SECONDS in total (default 60): two thirds for the unpack-and-parse entry
# point, seeded with every file of the report corpus, and one third for the
# IMAP response parser, seeded with tests/fuzz/imap_seeds.
# Exits non-zero on any crash, leak, timeout or sanitizer report; the
# failing input is left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
imap_seconds=$(( seconds / 3 > 0 ? seconds / 3 : 1 ))
ingest_seconds=$(( seconds - imap_seconds > 0 ? seconds - imap_seconds : 1 ))
CXX=clang++-14 CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDMARC_ENABLE_FUZZING=ON -DDMARC_BUILD_TESTS=OFF -DDMARC_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target ingest_fuzz imap_fuzz -j"$(nproc)"
seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds" build-fuzz/work build-fuzz/artifacts
find tests/corpus -type f ! -name '*.tsv' ! -name '*.md' -exec cp {} "$seeds"/ \;
# Inputs that once crashed or hung the fuzzer are kept in samples/malformed.
[ -d samples/malformed ] && cp samples/malformed/* "$seeds"/ 2>/dev/null || true
build-fuzz/tests/fuzz/ingest_fuzz -max_total_time="$ingest_seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=1048576 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
  build-fuzz/work "$seeds"
mkdir -p build-fuzz/imap-work
build-fuzz/tests/fuzz/imap_fuzz -max_total_time="$imap_seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/imap- \
  build-fuzz/imap-work tests/fuzz/imap_seeds
