#!/usr/bin/env bash
# Fuzzes the engine's readers of untrusted bytes (see README, "Fuzzing"):
# installs what is missing (a few Debian packages, cargo-fuzz), builds the
# fuzz targets in fuzz/ and runs each for SECONDS, starting from the seeds in
# fuzz/corpus/<target>/. Exits non-zero on the first crash, leak-free hang
# (timeout) or out-of-memory, with the input in fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS defaults to 20 (the short run for the test command). With
# FUZZ_RUNS=N a target also stops after N executions. Inputs found on the
# way are kept in fuzz/found/<target>/ (not committed) and a later run goes
# on from them. Stable Rust: without a sanitizer cargo fuzz passes rustc only
# stable flags. FUZZ_SANITIZER=address builds with AddressSanitizer, whose
# -Z flag a stable rustc takes with RUSTC_BOOTSTRAP=1 (set here then); it
# halves the speed and the engine is safe Rust, so the default is none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

began=$(date +%s)
seconds=${1:-20}
shift || true
all_targets=(post_read openpgp_unwrap smime_unwrap member_keys decide)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# What building the engine and libFuzzer needs (a C++ compiler for
# libFuzzer itself, libclang for sequoia's OpenSSL back end).
pkgs=(build-essential pkg-config libssl-dev libclang-dev libdbus-1-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"
cargo_fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  echo "installing cargo-fuzz $cargo_fuzz_version" >&2
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version" --quiet
fi

# The fuzz crate is a workspace of its own with its own target folder.
unset CARGO_TARGET_DIR
sanitizer=${FUZZ_SANITIZER:-none}
# -Zsanitizer=...: a stable rustc takes it when told it is building itself.
[ "$sanitizer" != none ] && export RUSTC_BOOTSTRAP=1
# A panic prints its backtrace, but errors made on the way do not capture
# one (anyhow in sequoia would, at every refusal, a third of the time).
export RUST_BACKTRACE=1 RUST_LIB_BACKTRACE=0

installed=$(date +%s)
cd fuzz
echo "--- building the fuzz targets (sanitizer: $sanitizer)" >&2
if [ ${#targets[@]} -eq 1 ]; then
  cargo fuzz build --release --sanitizer "$sanitizer" "${targets[0]}"
else
  cargo fuzz build --release --sanitizer "$sanitizer"
fi

built=$(date +%s)
status=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "found/$t" "artifacts/$t"
  echo "--- fuzzing $t for ${seconds}s" >&2
  log="found/$t.log"
  args=(
    -max_total_time="$seconds"
    -timeout=10             # seconds for one input: the agent gives a post 30
    -rss_limit_mb=2048
    -max_len=16384
    -print_final_stats=1
    -artifact_prefix="$root/fuzz/artifacts/$t/"
  )
  [ -f "dict/$t.dict" ] && args+=(-dict="$root/fuzz/dict/$t.dict")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  # New inputs go to found/<target>; the committed seeds are only read.
  if cargo fuzz run --release --sanitizer "$sanitizer" "$t" "found/$t" "corpus/$t" -- "${args[@]}" 2>"$log"; then
    result=ok
  else
    result=FAILED
    status=1
    tail -n 40 "$log" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  line="$t: $result, ${runs:-?} executions, ${rate:-?}/s"
  echo "$line" >&2
  summary+=("$line")
  [ $status -ne 0 ] && break
done

echo "--- fuzzing summary" >&2
printf '%s\n' "${summary[@]}" >&2
now=$(date +%s)
echo "installing $((installed - began)) s, building $((built - installed)) s, fuzzing $((now - built)) s" >&2
if [ $status -ne 0 ]; then
  echo "a fuzz target failed: the input is in fuzz/artifacts/$t/; replay it with" >&2
  echo "  (cd fuzz && cargo fuzz run --release -s $sanitizer $t artifacts/$t/<file>)" >&2
fi
exit $status
