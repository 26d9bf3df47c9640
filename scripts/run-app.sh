#!/usr/bin/env bash
# Builds and starts the Conclave window and its tray icon on a Debian/Ubuntu
# desktop, installing what is missing first. `scripts/run-app.sh --demo`
# starts the demo list instead of your lists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh app
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
# The light tray the app becomes when its window closes, found beside it.
cargo build -p conclave-tray --release
# Arguments go to the app: `--demo` starts the demo list.
exec cargo run -p conclave --release -- "$@"
