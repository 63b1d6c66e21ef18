#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through CTest. The same tests under
# AddressSanitizer and UBSan are scripts/test-asan.sh (a second full build: a heavier check).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh default
# The official SDKs the client tests use, pinned by tests/sdk/package-lock.json.
if [ ! -d tests/sdk/node_modules ] || [ tests/sdk/package-lock.json -nt tests/sdk/node_modules ]; then
  npm ci --prefix tests/sdk --no-audit --no-fund
fi
ctest --preset default -j2 "$@"
