#!/usr/bin/env bash
# Stops the mail rig started by tests/rig/start.sh DIR: asks Dovecot,
# Postfix and the From milter to stop, waits for them, and kills whatever is
# left of the processes whose pid files are in DIR. Mailboxes and
# certificates stay.
#
#   tests/rig/stop.sh DIR
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd)
dc=$DIR/dovecot
pf=$DIR/postfix

# Pid files first: the polite commands may remove them.
pids=()
for f in "$dc/run/master.pid" "$DIR/postfix-queue/pid/master.pid" "$DIR/milter/milter.pid"; do
  [ -s "$f" ] && pids+=("$(tr -dc 0-9 <"$f")")
done

alive() { # pid: running (not a zombie), and not a recycled pid of something else
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  case "$exe" in
    */dovecot|*/master) return 0 ;;
    */python3*) tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "from_milter.py unix:$DIR/" ;;
    *) return 1 ;;
  esac
}

# SIGTERM is what `dovecot stop` and `postfix stop` send to the masters, but
# those commands then wait in turn (3 s together); this waits for both at once.
# The milter keeps no state and libmilter takes up to 5 s to act on a
# SIGTERM: it gets SIGKILL at once.
for pid in "${pids[@]}"; do
  [ -n "$pid" ] && alive "$pid" || continue
  case "$(readlink "/proc/$pid/exe")" in
    */python3*) kill -KILL "$pid" 2>/dev/null ;;
    *) kill -TERM "$pid" 2>/dev/null ;;
  esac
done
for _ in $(seq 100); do
  any=0
  for pid in "${pids[@]}"; do [ -n "$pid" ] && alive "$pid" && any=1; done
  [ $any -eq 0 ] && break
  sleep 0.05
done
for pid in "${pids[@]}"; do
  [ -n "$pid" ] && alive "$pid" && { echo "rig: killing $pid" >&2; kill -KILL "$pid" 2>/dev/null; }
done
# Child processes can hold the listening sockets a moment longer: wait until
# the ports are free so a restart can bind them.
if [ -s "$DIR/rig.env" ]; then
  ports=$(sed -n 's/^RIG_[A-Z_]*PORT=//p' "$DIR/rig.env")
  for _ in $(seq 100); do
    busy=0
    for p in $ports; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && busy=1; done
    [ $busy -eq 0 ] && break
    sleep 0.05
  done
fi
rm -f "$dc/run/master.pid" "$DIR/postfix-queue/pid/master.pid" "$DIR/milter/milter.pid" "$DIR/milter/from.sock" "$DIR/rig.env"
exit 0
