#!/usr/bin/env bash
# Builds Conclave's Linux packages with the Tauri bundler, versioned from
# Cargo.toml, into target/packages/:
#   Conclave_VERSION_amd64.deb   the app (/usr/bin/conclave), conclave-cli on
#                                the PATH, the desktop entry, the icons, and
#                                the libraries it needs as dependencies
#   Conclave_VERSION_amd64.AppImage
#                                only where Tauri's AppImage tools can be had
#                                (see README "Packages"); without them the
#                                .deb is made and the AppImage is reported
#                                missing (exit status 3), never faked.
# The Tauri CLI is the npm package @tauri-apps/cli (a devDependency of ui/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash scripts/install-deps.sh app
export PATH="$HOME/.cargo/bin:$PATH"

echo "--- the UI (with the Tauri CLI)" >&2
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)

echo "--- conclave-cli, release build" >&2
cargo build --release --locked -p conclave-cli

tauri() { "$root/ui/node_modules/.bin/tauri" "$@"; }
bundle=target/release/bundle
out=target/packages
rm -rf "$bundle/deb" "$bundle/appimage" "$out"
mkdir -p "$out"

echo "--- the app, release build, and the .deb" >&2
# The bundler reads src-tauri/tauri.conf.json (bundle section); the .deb
# takes target/release/conclave-cli as /usr/bin/conclave-cli.
tauri build --ci --bundles deb -- --locked
cp "$bundle"/deb/*.deb "$out/"

echo "--- the AppImage" >&2
appimage_ok=0
# Tauri's AppImage bundler fetches linuxdeploy, its plugins and the AppImage
# runtime from the project sites of those tools on first use (it keeps them
# in ~/.cache/tauri). Where they cannot be fetched it fails; the .deb stands.
if tauri bundle --ci --bundles appimage >"$out/appimage.log" 2>&1; then
  cp "$bundle"/appimage/*.AppImage "$out/"
  appimage_ok=1
  rm "$out/appimage.log"
else
  echo "the AppImage could not be built; the bundler said (also in $out/appimage.log):" >&2
  tail -n 5 "$out/appimage.log" >&2
fi

echo "--- made, in $out:" >&2
ls -l "$out" >&2
[ "$appimage_ok" = 1 ] || exit 3
