#!/usr/bin/env bash
# Prints the end-to-end figure of issue 6: from a post's SMTP submission to
# the last of 50 members' copies landing in their inboxes, on the mail rig,
# with the agent waiting in IMAP IDLE. A measurement, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh test
cargo build -p conclave-engine --bins --release
rig_dir=$(mktemp -d "${TMPDIR:-/tmp}/conclave-rig.XXXXXX")
cleanup() { bash "$root/tests/rig/stop.sh" "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"; }
trap cleanup EXIT
bash tests/rig/start.sh "$rig_dir"
export CONCLAVE_RIG_DIR="$rig_dir"
# The release CLI, as a user runs it.
export CONCLAVE_CLI="$root/target/release/conclave-cli"
bash tests/with-keychain.sh cargo bench -p conclave-system-tests --bench end_to_end
