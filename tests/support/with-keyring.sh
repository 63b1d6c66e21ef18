#!/usr/bin/env bash
# with-keyring.sh COMMAND [ARGS...]: runs COMMAND against a real Secret Service of its own — a
# temporary HOME and XDG folders, a private D-Bus session (dbus-run-session) and gnome-keyring
# unlocked with a throwaway password — so keychain tests never touch the user's keyring and
# leave nothing behind. Exports TOLLGATE_TEST_HOME (the temporary HOME) for tests that scan it.
# Needs dbus and gnome-keyring (scripts/setup.sh); never dbus-x11.
set -euo pipefail

if [ "${1:-}" = --inside ]; then
  shift
  # In the private session: the keyring daemon in the foreground, so its id is ours to stop.
  printf %s tollgate-test-keyring |
    gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
  keyring=$!
  trap 'kill "$keyring" 2>/dev/null || true; wait "$keyring" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
         org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
         grep -q 'boolean true'; then
      break
    fi
    sleep 0.1
  done
  "$@"
  exit $?
fi

khome=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-keyring.XXXXXX")
trap 'rm -rf "$khome"' EXIT
mkdir -m700 "$khome/run"
export HOME=$khome TOLLGATE_TEST_HOME=$khome
export XDG_DATA_HOME=$khome/.local/share XDG_CONFIG_HOME=$khome/.config
export XDG_CACHE_HOME=$khome/.cache XDG_RUNTIME_DIR=$khome/run
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL
dbus-run-session -- "$0" --inside "$@" 2> >(grep -v 'Failed to set fd limit' >&2)
