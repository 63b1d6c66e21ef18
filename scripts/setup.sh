#!/usr/bin/env bash
# Installs the Debian packages Tollgate needs to build, run and test. Idempotent: does nothing
# when everything is present; runs `apt-get update` only when a package must be installed.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config clang-format
  qt6-base-dev libqt6opengl6-dev qt6-charts-dev
  # the console's provider keys: QtKeychain, and libsecret, which it loads at run time
  qtkeychain-qt6-dev libsecret-1-0
  libsqlite3-dev libhttp-parser-dev libssl-dev libsimdjson-dev libhiredis-dev libjemalloc-dev
  # tests: promtool, the sqlite3 CLI, Redis for the shared stores, Node.js for the official SDKs
  prometheus sqlite3 redis-server nodejs npm
  # a real Secret Service for the console's keychain tests (tests/support/with-keyring.sh);
  # never dbus-x11, which autolaunches buses that hang on invisible prompts
  dbus gnome-keyring libsecret-tools
)
# Callers that need more (scripts/screenshot.sh: a virtual display) name it.
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  # nodejs from other sources (e.g. NodeSource) ships npm itself.
  if [ "$package" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$package" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y \
  --no-install-recommends "${missing[@]}"
