#!/usr/bin/env bash
# Builds the embedded coordinator image for Cortex-M4F (nRF52840-class, thumbv7em-none-eabihf) in
# release mode and prints its section sizes, then cross-builds the coordinator library for
# Cortex-M33 (EFR32MG21/24-class, thumbv8m.main-none-eabihf). Figures: docs/firmware.md §4.
#
#   firmware-image/size.sh            (honours CARGO_TARGET_DIR)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

rustup target add thumbv7em-none-eabihf thumbv8m.main-none-eabihf >/dev/null 2>&1 ||
    rustup target add thumbv7em-none-eabihf thumbv8m.main-none-eabihf
if ! command -v arm-none-eabi-size >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq binutils-arm-none-eabi
fi

# The image: its own workspace (see Cargo.toml), target and linker script from .cargo/config.toml.
cd "$here"
cargo build --release
target_dir="${CARGO_TARGET_DIR:-$here/target}"
elf="$target_dir/thumbv7em-none-eabihf/release/firmware-image"
echo "== $elf (thumbv7em-none-eabihf, opt-level s, LTO)"
arm-none-eabi-size -B "$elf"
arm-none-eabi-size -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '

# The library for Cortex-M33, built as the main workspace builds it.
cd "$here/.."
cargo build --release -p firmware --target thumbv8m.main-none-eabihf
echo "== firmware library builds for thumbv8m.main-none-eabihf"
