#!/usr/bin/env bash
# Builds and starts the Conclave window and its tray icon on a Debian/Ubuntu
# desktop, installing what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh app
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
exec cargo run -p conclave --release
