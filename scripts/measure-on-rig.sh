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
# The release CLI, as a user runs it.
export CONCLAVE_CLI="$root/target/release/conclave-cli"
bash tests/with-keychain.sh cargo bench -p conclave-system-tests --bench "$bench"
