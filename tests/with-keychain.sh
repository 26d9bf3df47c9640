#!/usr/bin/env bash
# Runs a command with a working keychain (the freedesktop Secret Service)
# and no desktop: a private D-Bus session (dbus-run-session) in which
# gnome-keyring-daemon runs with a fresh login keyring, created and unlocked
# with a throwaway password.
#
#   tests/with-keychain.sh CMD ARGS...      exit status is CMD's
#
# The child sees DBUS_SESSION_BUS_ADDRESS (the private bus),
# GNOME_KEYRING_CONTROL, and XDG_DATA_HOME pointing at a fresh temporary
# folder (keyrings live in $XDG_DATA_HOME/keyrings, so an existing login
# keyring made with another password never gets in the way). Everything is
# removed when CMD ends.
#
# No keychain at all: to check how code behaves when the Secret Service is
# unreachable, run it (inside or outside this script) with the session bus
# pointing at a socket that does not exist, e.g.
#   DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus CMD
# (in Rust: Command::new(..).env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")).
# A bus without a keyring daemon (dbus-run-session CMD, without this script)
# gives the other failure, "no Secret Service on the bus".
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 CMD ARGS..." >&2; exit 2; }

if [ -z "${CONCLAVE_KEYCHAIN_STAGE:-}" ]; then
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/conclave-keychain.XXXXXX")
  mkdir -p "$tmp/data" "$tmp/run"
  chmod 0700 "$tmp/run"
  rc=0
  CONCLAVE_KEYCHAIN_STAGE=inside CONCLAVE_KEYCHAIN_TMP="$tmp" XDG_DATA_HOME="$tmp/data" \
    dbus-run-session -- bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  rm -rf "$tmp"
  exit $rc
fi

# Inside the private session.
tmp=$CONCLAVE_KEYCHAIN_TMP
unset CONCLAVE_KEYCHAIN_STAGE CONCLAVE_KEYCHAIN_TMP
export XDG_DATA_HOME

# The daemon forks into the background: its output goes to files, so a caller
# reading this script's output is not kept waiting by it. Its control socket
# goes to a private runtime folder, away from any desktop keyring's.
printf '%s' "conclave-test-keyring" \
  | XDG_RUNTIME_DIR="$tmp/run" gnome-keyring-daemon --unlock --components=secrets \
    >"$tmp/keyring.env" 2>"$tmp/keyring.log" \
  || { cat "$tmp/keyring.log" >&2; echo "with-keychain: gnome-keyring-daemon did not start" >&2; exit 1; }
while IFS= read -r line; do
  case "$line" in GNOME_KEYRING_CONTROL=*) export "$line" ;; esac
done <"$tmp/keyring.env"
# Some versions print nothing with --unlock; the socket is in the runtime folder.
[ -z "${GNOME_KEYRING_CONTROL:-}" ] && [ -d "$tmp/run/keyring" ] && export GNOME_KEYRING_CONTROL="$tmp/run/keyring"

# Wait until the Secret Service is on the bus, and learn the daemon's pid.
keyring_pid=""
for _ in $(seq 100); do
  keyring_pid=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null \
    | awk '/uint32/ {print $2}') && [ -n "$keyring_pid" ] && break
  sleep 0.05
done
[ -n "$keyring_pid" ] || { cat "$tmp/keyring.log" >&2; echo "with-keychain: no Secret Service on the bus" >&2; exit 1; }

rc=0
"$@" || rc=$?
kill "$keyring_pid" 2>/dev/null || true
exit $rc
