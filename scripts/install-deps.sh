#!/usr/bin/env bash
# Installs the Debian 12 packages dmarcwatch needs, idempotently: only the
# missing ones are installed, and nothing is done when none is missing.
#   scripts/install-deps.sh build   what building and running needs
#   scripts/install-deps.sh test    that, plus the servers and tools the tests start
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config
  libpoco-dev libpq-dev libpugixml-dev libarchive-dev zlib1g-dev libsqlite3-dev
  libpsl-dev publicsuffix libc-ares-dev libtomlplusplus-dev libsodium-dev
  libjs-chart.js libboost-test-dev
)
test_packages=(
  clang-14 libclang-rt-14-dev
  dovecot-imapd postgresql unbound python3-aiosmtpd openssl
  chromium iproute2 procps
)
# Node.js with npm drives the browser tests (playwright-core). A machine may
# already have a Node.js build that ships its own npm, which Debian's npm
# package conflicts with; only when there is no npm at all is Debian's asked for.
node_packages=(nodejs npm)

case "${1:-build}" in
  build) wanted=("${build_packages[@]}") ;;
  test)
    wanted=("${build_packages[@]}" "${test_packages[@]}")
    command -v npm >/dev/null 2>&1 || wanted+=("${node_packages[@]}")
    ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -ne 0 ] && as_root=(sudo)
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
