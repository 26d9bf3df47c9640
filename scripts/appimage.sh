#!/usr/bin/env bash
# Assembles Conclave's AppImage from the .deb the Tauri bundler made, for
# machines where Tauri's own AppImage bundler cannot work: it fetches
# linuxdeploy, linuxdeploy's AppImage and GTK plugins and its AppRun from
# those tools' release pages on first use, and none of them is in a package
# registry (README "Packages").
#
#   scripts/appimage.sh DEB OUT.AppImage
#
# The pieces, each from a package registry:
# - the AppImage type-2 runtime (AppImageKit's, the executable head of every
#   AppImage) that the Rust crate `appimage` 0.4.0 (fetched by cargo) ships as
#   assets/runtime-x86_64, checked against the SHA-256 below;
# - mksquashfs, from Debian's squashfs-tools;
# - the app, the CLI, the desktop entry and the icons: the .deb's files.
# What it lacks next to an AppImage made by linuxdeploy: it carries no
# libraries, so it runs where the .deb's dependencies are installed
# (WebKitGTK 4.1, GTK 3, ayatana appindicator, OpenSSL 3, libdbus: Debian 12,
# Ubuntu 22.04 and later). Started plainly it mounts itself through FUSE 2
# (libfuse2); with --appimage-extract-and-run it needs no FUSE.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DEB OUT.AppImage" >&2; exit 2; }
deb=$1
out=$2
runtime_sha256=328e0d745c5c6817048c27bc3e8314871703f8f47ffa81a37cb06cd95a94b323

work=$(mktemp -d "${TMPDIR:-/tmp}/conclave-appimage.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The runtime: cargo fetches the package `appimage` into its registry
# folder (a manifest of its own, outside the workspace, so nothing of it
# reaches Cargo.lock) and says where it is.
mkdir -p "$work/fetch/src"
touch "$work/fetch/src/lib.rs"
cat >"$work/fetch/Cargo.toml" <<'EOF'
[package]
name = "fetch-appimage-runtime"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
appimage = "=0.4.0"

[workspace]
EOF
cargo fetch --quiet --manifest-path "$work/fetch/Cargo.toml"
crate=$(cargo metadata --format-version 1 --manifest-path "$work/fetch/Cargo.toml" |
  python3 -c 'import json, sys, os
print(next(os.path.dirname(p["manifest_path"]) for p in json.load(sys.stdin)["packages"] if p["name"] == "appimage"))')
runtime=$crate/assets/runtime-x86_64
echo "$runtime_sha256  $runtime" | sha256sum --check --quiet ||
  { echo "the AppImage runtime in $crate is not the one expected" >&2; exit 1; }

# The AppDir: the .deb's /usr, with the desktop entry and the icon at its
# top and an AppRun that starts the app.
app=$work/Conclave.AppDir
mkdir -p "$app"
dpkg-deb --extract "$deb" "$app"
[ -x "$app/usr/bin/conclave" ] || { echo "$deb has no usr/bin/conclave" >&2; exit 1; }
cp "$app/usr/share/applications/Conclave.desktop" "$app/Conclave.desktop"
cp "$app/usr/share/icons/hicolor/256x256/apps/conclave.png" "$app/conclave.png"
ln -s conclave.png "$app/.DirIcon"
cat >"$app/AppRun" <<'EOF'
#!/bin/sh
# Starts Conclave from the AppImage (the runtime sets APPDIR; else the
# folder of this script, when the AppDir is run unpacked).
here=${APPDIR:-$(dirname "$(readlink -f "$0")")}
exec "$here/usr/bin/conclave" "$@"
EOF
chmod 0755 "$app/AppRun"

mksquashfs "$app" "$work/Conclave.squashfs" -root-owned -noappend -comp gzip -quiet -no-progress
cat "$runtime" "$work/Conclave.squashfs" >"$out.part"
chmod 0755 "$out.part"
mv "$out.part" "$out"
echo "made $out ($(du -k "$out" | cut -f1) KiB)" >&2
