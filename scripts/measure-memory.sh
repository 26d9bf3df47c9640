#!/usr/bin/env bash
# Prints the peak memory of issue 6: one `conclave-cli run --once` taking a
# 1 MB post to 1000 members of an OpenPGP list (CONCLAVE_MEMBERS=N for
# another count), on the mail rig, measured with /usr/bin/time -v. Setting
# up 1000 members with gpg keys takes a few minutes.
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
export CONCLAVE_CLI="$root/target/release/conclave-cli"
bash tests/with-keychain.sh cargo bench -p conclave-system-tests --bench memory
