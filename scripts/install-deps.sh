#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libcli11-dev libpcre2-dev libcurl4-openssl-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy
  python3 python3-numpy
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the server's end-to-end tests with the official `openai` client; a node that is
# already installed (any source) is used as is.
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages of the server's end-to-end tests, exactly as locked (skipped when up to date).
NODE_TESTS="$(cd "$(dirname "$0")/.." && pwd)/tests/server/node"
if command -v npm >/dev/null 2>&1 && [ -f "$NODE_TESTS/package-lock.json" ]; then
  if [ ! -f "$NODE_TESTS/node_modules/.package-lock.json" ] ||
     [ "$NODE_TESTS/package-lock.json" -nt "$NODE_TESTS/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in tests/server/node"
    (cd "$NODE_TESTS" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
