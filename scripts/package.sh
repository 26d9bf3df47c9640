#!/usr/bin/env bash
# Builds Conclave's Linux packages with the Tauri bundler, versioned from
# Cargo.toml, into target/packages/:
#   Conclave_VERSION_amd64.deb   the app (/usr/bin/conclave), its light tray
#                                (/usr/bin/conclave-tray, beside the app,
#                                where the app looks for it), conclave-cli on
#                                the PATH, the desktop entry, the icons, and
#                                the libraries it needs as dependencies
#   Conclave_VERSION_amd64.AppImage
#                                by Tauri's AppImage bundler where it can
#                                fetch its tools, else assembled from the
#                                .deb by scripts/appimage.sh (README
#                                "Packages" says what that one lacks)
# The Tauri CLI is the npm package @tauri-apps/cli (a devDependency of ui/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh package
export PATH="$HOME/.cargo/bin:$PATH"
# tauri.conf.json names target/release/conclave-cli and conclave-tray for
# the .deb: build them here.
export CARGO_TARGET_DIR=$root/target

echo "--- the UI (with the Tauri CLI)" >&2
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)

echo "--- conclave-cli and conclave-tray (the light tray), release build" >&2
cargo build --release --locked -p conclave-cli -p conclave-tray

tauri() { "$root/ui/node_modules/.bin/tauri" "$@"; }
bundle=target/release/bundle
out=target/packages
rm -rf "$bundle/deb" "$bundle/appimage" "$out"
mkdir -p "$out"

echo "--- the app, release build, and the .deb" >&2
# The bundler reads src-tauri/tauri.conf.json (bundle section); the .deb
# takes target/release/conclave-cli and conclave-tray into /usr/bin.
tauri build --ci --bundles deb -- --locked
cp "$bundle"/deb/*.deb "$out/"

echo "--- the AppImage" >&2
version=$(basename "$out"/Conclave_*_amd64.deb | sed 's/^Conclave_\(.*\)_amd64\.deb$/\1/')
# Tauri's AppImage bundler fetches linuxdeploy, its plugins and AppRun from
# those tools' release pages on first use (it keeps them in
# ~/.cache/tauri). Where it can, it makes the AppImage; where it cannot,
# scripts/appimage.sh assembles one from the .deb with pieces from package
# registries (no libraries inside: see there and README "Packages").
if tauri bundle --ci --bundles appimage >"$out/appimage.log" 2>&1; then
  cp "$bundle"/appimage/*.AppImage "$out/"
  echo "made by Tauri's AppImage bundler" >&2
else
  echo "Tauri's AppImage bundler could not make it; its last words (all in $out/appimage.log):" >&2
  tail -n 2 "$out/appimage.log" >&2
  echo "assembling the AppImage from the .deb instead (scripts/appimage.sh)" >&2
  bash scripts/appimage.sh "$out/Conclave_${version}_amd64.deb" "$out/Conclave_${version}_amd64.AppImage"
fi

echo "--- made, in $out:" >&2
ls -l "$out" >&2
