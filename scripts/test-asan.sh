#!/usr/bin/env bash
# The headless core (no GUI module) and its unit and integration tests built and run under
# AddressSanitizer and UBSan: a heavier check beside scripts/test.sh (a cold build takes about ten
# minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh asan
ctest --preset asan -j2 -L 'unit|integration' "$@"
