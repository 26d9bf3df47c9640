#!/usr/bin/env bash
# Type-checks the engine and the CLI for Windows and macOS with
# `cargo check --target …`, for each of those targets whose standard library
# the Rust toolchain has (`rustup target list --installed`). A target that
# is not installed is named and skipped: this script never downloads one.
# README "Other systems" says what could not be checked where.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(x86_64-pc-windows-msvc x86_64-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin)
installed=$(rustup target list --installed 2>/dev/null || true)
checked=0
for t in "${targets[@]}"; do
  if grep -qx "$t" <<<"$installed"; then
    echo "--- cargo check --target $t (engine, CLI)" >&2
    cargo check --locked --target "$t" -p conclave-engine -p conclave-cli
    checked=$((checked + 1))
  else
    echo "not checked: the Rust target $t is not installed (rustup target add $t)" >&2
  fi
done
echo "$checked of ${#targets[@]} Windows and macOS targets checked" >&2
