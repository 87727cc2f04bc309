#!/usr/bin/env bash
# The README's second command: install, build and run every test.
#   1. the normal build: unit, corpus and integration tests (ctest)
#   2. an AddressSanitizer + UBSan build of the unit tests
#   3. libFuzzer (clang) over the unpack+parse entry point, bounded in time,
#      seeded with the report corpus
# FUZZ_SECONDS (default 60) bounds step 3.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
jobs="$(nproc)"

echo "== build"
scripts/build.sh
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== unit tests under AddressSanitizer + UBSan"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDMARC_ENABLE_SANITIZERS=ON \
  -DDMARC_BUILD_BENCH=OFF -DDMARC_ENABLE_INTEGRATION_TESTS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs"

echo "== fuzzing"
tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
echo "== all tests passed"
