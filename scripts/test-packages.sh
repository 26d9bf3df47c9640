#!/usr/bin/env bash
# Tests the packages scripts/package.sh makes, as a user would meet them:
# installs the .deb with apt-get, validates its desktop entry, starts the
# installed app under Xvfb and drives it over WebDriver (the smoke test
# against /usr/bin/conclave and /usr/bin/conclave-cli), runs the installed
# conclave-cli --version, starts the AppImage (extracted and run, no FUSE)
# and drives it the same way, then removes the package and checks that none
# of its files is left.
#
#   scripts/test-packages.sh           builds the packages first
#   scripts/test-packages.sh --built   takes those in target/packages/
#
# Needs root (or sudo) for apt-get; scripts/test.sh calls it after its test
# run, with the test dependencies installed and tauri-driver on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo

[ "${1:-}" = --built ] || bash scripts/package.sh

version=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="conclave-cli"))')
deb=$(ls target/packages/Conclave_"$version"_*.deb)
echo "--- installing $deb ($(du -k "$deb" | cut -f1) KiB)" >&2
if dpkg-query -W conclave >/dev/null 2>&1; then
  echo "a package named conclave is installed already: remove it first" >&2
  exit 1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "./$deb" >/dev/null
files=$(mktemp "${TMPDIR:-/tmp}/conclave-deb-files.XXXXXX")
bin=$(mktemp -d "${TMPDIR:-/tmp}/conclave-appimage.XXXXXX")
removed=0
finish() {
  if [ "$removed" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove --purge -y -qq conclave >/dev/null || true
  fi
  rm -rf "$files" "$bin"
}
trap finish EXIT
dpkg -L conclave >"$files"

echo "--- what it installed" >&2
for f in /usr/bin/conclave /usr/bin/conclave-cli /usr/bin/conclave-tray /usr/share/applications/Conclave.desktop; do
  grep -qx "$f" "$files" || { echo "the package lacks $f" >&2; exit 1; }
done
for icon in 32x32/apps/conclave.png 64x64/apps/conclave.png 128x128/apps/conclave.png \
  256x256/apps/conclave.png 512x512/apps/conclave.png scalable/apps/conclave.svg; do
  grep -qx "/usr/share/icons/hicolor/$icon" "$files" ||
    { echo "the package lacks the icon $icon" >&2; exit 1; }
done

echo "--- its declared dependencies cover the libraries its programs load" >&2
# dpkg-shlibdeps names the packages of the shared libraries the three
# programs link; each must be declared, or be a dependency (at any depth)
# of a declared one.
shl=$(mktemp -d "${TMPDIR:-/tmp}/conclave-shlibs.XXXXXX")
mkdir "$shl/debian"
printf 'Source: conclave\n\nPackage: conclave\nArchitecture: any\n' >"$shl/debian/control"
needed=$(cd "$shl" && dpkg-shlibdeps -O /usr/bin/conclave /usr/bin/conclave-cli /usr/bin/conclave-tray 2>/dev/null)
rm -rf "$shl"
python3 - "$needed" "$(dpkg-deb -f "$deb" Depends)" <<'PY'
import re, subprocess, sys
def names(field):
    return {re.split(r"[ (:]", alt.strip())[0] for dep in field.split(",") if dep.strip()
            for alt in dep.split("|")}
needed = names(sys.argv[1].split("=", 1)[1])
declared = names(sys.argv[2])
seen, todo = set(), list(declared)
while todo:
    p = todo.pop()
    if p in seen:
        continue
    seen.add(p)
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", p],
                         capture_output=True, text=True).stdout
    todo += names(out.replace(",,", ","))
missing = sorted(needed - seen)
print("declared:", ", ".join(sorted(declared)), file=sys.stderr)
if missing:
    sys.exit("the programs need, undeclared: " + ", ".join(missing))
PY

echo "--- desktop-file-validate" >&2
desktop-file-validate /usr/share/applications/Conclave.desktop

echo "--- conclave-cli --version" >&2
said=$(conclave-cli --version)
[ "$said" = "conclave-cli $version" ] || { echo "conclave-cli --version said: $said" >&2; exit 1; }
echo "$said" >&2

echo "--- the installed app under WebDriver" >&2
CONCLAVE_BIN_DIR=/usr/bin bash tests/with-keychain.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test -p conclave-system-tests --test system -- --exact \
  window_smoke::a_list_created_with_the_cli_appears_in_the_window

appimage=target/packages/Conclave_${version}_amd64.AppImage
[ -x "$appimage" ] || { echo "$appimage is missing" >&2; exit 1; }
echo "--- the AppImage ($(du -k "$appimage" | cut -f1) KiB), extracted and run without FUSE" >&2
# The smoke test again, its app started as the AppImage with
# --appimage-extract-and-run (the runtime unpacks it into a temporary
# folder, here one of the test's own, and runs it from there).
mkdir "$bin/tmp"
printf '#!/bin/sh\nTMPDIR=%q exec %q --appimage-extract-and-run "$@"\n' "$bin/tmp" "$root/$appimage" >"$bin/conclave"
chmod +x "$bin/conclave"
# The smoke test makes its list with the installed CLI.
ln -s /usr/bin/conclave-cli "$bin/conclave-cli"
CONCLAVE_BIN_DIR=$bin bash tests/with-keychain.sh xvfb-run -a -s "-screen 0 1280x800x24" \
  cargo test -p conclave-system-tests --test system -- --exact \
  window_smoke::a_list_created_with_the_cli_appears_in_the_window

echo "--- removing the package" >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove --purge -y -qq conclave >/dev/null
removed=1
if dpkg-query -W -f='${Status}\n' conclave 2>/dev/null | grep -q installed; then
  echo "conclave is still installed" >&2
  exit 1
fi
left=0
while IFS= read -r path; do
  [ "$path" = /. ] && continue
  if [ -d "$path" ] && [ ! -L "$path" ]; then
    # dpkg removes the folders it made once they are empty; one that stays
    # must hold other files or belong to another package too (the icon
    # theme's folders).
    if [ -z "$(ls -A "$path")" ] && ! dpkg-query -S "$path" >/dev/null 2>&1; then
      echo "left behind, empty: $path" >&2
      left=1
    fi
  elif [ -e "$path" ] || [ -L "$path" ]; then
    echo "left behind: $path" >&2
    left=1
  fi
done <"$files"
[ "$left" = 0 ] || exit 1
echo "--- the package is gone: $(wc -l <"$files") paths checked" >&2
