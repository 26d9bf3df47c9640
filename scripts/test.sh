#!/usr/bin/env bash
# Runs every test of Conclave on a fresh Debian/Ubuntu machine: installs what
# is missing, builds the UI, the engine, the CLI and the app, starts the mail
# rig (Dovecot + Postfix on 127.0.0.1), a keychain daemon and Xvfb, and runs
# the unit, system and WebDriver tests; then checks the engine and the CLI
# for Windows and macOS where those Rust targets are installed, builds the
# packages and tests the installed .deb (scripts/test-packages.sh), and ends
# with a short fuzz run of each target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh test
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v tauri-driver >/dev/null; then
  echo "installing tauri-driver" >&2
  cargo install tauri-driver --locked --version "^2" --quiet
fi

echo "--- building the UI and running its component tests" >&2
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test)

echo "--- style: rustfmt and clippy" >&2
# Both come with a rustup toolchain; a toolchain without them is told, not
# failed (nothing here can fetch them).
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "rustfmt is not installed: formatting not checked" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --quiet -- -D warnings
else
  echo "clippy is not installed: lints not checked" >&2
fi

echo "--- building the engine, the CLI and the app" >&2
cargo build --workspace --bins --tests

echo "--- starting the mail rig" >&2
rig_dir=$(mktemp -d "${TMPDIR:-/tmp}/conclave-rig.XXXXXX")
cleanup() { bash "$root/tests/rig/stop.sh" "$rig_dir" >/dev/null 2>&1 || true; rm -rf "$rig_dir"; }
trap cleanup EXIT
bash tests/rig/start.sh "$rig_dir"
export CONCLAVE_RIG_DIR="$rig_dir"

echo "--- running the tests" >&2
# The window tests save a picture of each screen they reach (docs/screens
# has the ones README shows).
export CONCLAVE_SCREENSHOTS="$root/target/screens"
mkdir -p "$CONCLAVE_SCREENSHOTS"
# The keychain (Secret Service in a private D-Bus session) and a virtual
# display for the app window wrap the whole run.
bash tests/with-keychain.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test --workspace --no-fail-fast

echo "--- Windows and macOS: cargo check, where the Rust target is installed" >&2
bash scripts/check-targets.sh

echo "--- the packages: built, installed, started, driven, removed" >&2
# Release builds of the CLI and the app (about 14 minutes on 2 cores),
# then the .deb through apt-get and the installed app under WebDriver.
bash scripts/test-packages.sh

echo "--- fuzzing: each target for 20 s from the committed seeds" >&2
bash scripts/fuzz.sh 20
