#!/usr/bin/env bash
# Runs one of the rig benches of the system tests (tests/benches/NAME.rs)
# on a fresh mail rig, with a keychain and the release CLI: a measurement,
# not a test. Used by measure-end-to-end.sh and measure-memory.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bench=$1

bash scripts/install-deps.sh test
cargo build -p conclave-cli --release
rig_dir=$(mktemp -d "${TMPDIR:-/tmp}/conclave-rig.XXXXXX")
cleanup() { bash "$root/tests/rig/stop.sh" "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"; }
trap cleanup EXIT
bash tests/rig/start.sh "$rig_dir"
export CONCLAVE_RIG_DIR="$rig_dir"
# CONCLAVE_RIG_LATENCY_MS=N puts N ms each way in front of IMAP and
# submission (tests/rig/latency_proxy.py), for everyone who connects: a
# provider across a country answers so. Off by default.
if [ -n "${CONCLAVE_RIG_LATENCY_MS:-}" ]; then
  . "$rig_dir/rig.env"
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  imap_proxy=$(free_port); submission_proxy=$(free_port)
  # CONCLAVE_RIG_NO_PIPELINING=1: the submission behind the proxy is the
  # rig's one without PIPELINING in its EHLO (127.0.0.2), to measure what
  # pipelining saves over the same round trips.
  submission_target=$RIG_SUBMISSION_PORT
  if [ -n "${CONCLAVE_RIG_NO_PIPELINING:-}" ]; then
    submission_target="$RIG_HOST_NOPIPELINING:$RIG_SUBMISSION_PORT"
  fi
  python3 tests/rig/latency_proxy.py "$CONCLAVE_RIG_LATENCY_MS" \
    "$imap_proxy:$RIG_IMAP_PORT" "$submission_proxy:$submission_target" &
  proxy=$!
  cleanup() { kill "$proxy" 2>/dev/null || true; bash "$root/tests/rig/stop.sh" "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"; }
  until (exec 3<>"/dev/tcp/127.0.0.1/$submission_proxy") 2>/dev/null; do sleep 0.1; done
  sed -i -e "s/^RIG_IMAP_PORT=.*/RIG_IMAP_PORT=$imap_proxy/" \
    -e "s/^RIG_SUBMISSION_PORT=.*/RIG_SUBMISSION_PORT=$submission_proxy/" "$rig_dir/rig.env"
  echo "--- ${CONCLAVE_RIG_LATENCY_MS} ms each way in front of IMAP ($imap_proxy) and submission ($submission_proxy -> $submission_target)" >&2
fi
# The release CLI, as a user runs it; CONCLAVE_CLI=PATH measures another
# build of it (an earlier one, to compare).
export CONCLAVE_CLI="${CONCLAVE_CLI:-$root/target/release/conclave-cli}"
bash tests/with-keychain.sh cargo bench -p conclave-system-tests --bench "$bench"
