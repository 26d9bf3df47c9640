#!/usr/bin/env bash
# Installs the Debian packages Conclave needs. Idempotent: packages already
# present are skipped, so a second run costs a dpkg query and nothing else.
#   install-deps.sh app    what building and running the desktop app needs
#   install-deps.sh package  the above, plus what making the packages needs
#   install-deps.sh test   the above, plus the mail rig, keychain daemon, Xvfb
#                          and WebDriver used by the tests
set -euo pipefail

what=${1:-app}

app_pkgs=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev
  librsvg2-dev libssl-dev libxdo-dev
  libclang-dev          # bindgen, for sequoia's openssl backend
  libdbus-1-dev         # Secret Service client of the keyring crate
  nodejs npm
)
test_pkgs=(
  dovecot-imapd dovecot-lmtpd postfix openssl
  python3-milter        # the rig's header From check (tests/rig/from_milter.py)
  dbus dbus-x11 gnome-keyring libsecret-tools
  xvfb xauth webkit2gtk-driver
  gnupg gpgsm
  rnp                   # the OpenPGP library inside Thunderbird, as a member reads copies
  neomutt tmux          # a member's mail client, driven headless (tests/src/neomutt.rs)
  time                  # peak memory (scripts/measure-memory.sh, tests/tests/system/owner_input.rs)
  xdotool               # answers the system's Save dialog in window tests (tests/src/window.rs)
  zbar-tools            # reads the invitation's QR code as a phone would (window_key_inbox.rs)
  desktop-file-utils    # desktop-file-validate, on the installed package (scripts/test-packages.sh)
  dpkg-dev              # dpkg-shlibdeps: the libraries the packaged binaries need (same)
)

package_pkgs=(
  squashfs-tools        # mksquashfs, for the AppImage (scripts/appimage.sh)
)

pkgs=("${app_pkgs[@]}")
[ "$what" = package ] || [ "$what" = test ] && pkgs+=("${package_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (e.g. nodesource): accept them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}" >&2
# Postfix asks how to configure itself; the rig brings its own configuration.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
