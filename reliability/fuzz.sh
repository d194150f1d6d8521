#!/usr/bin/env bash
# Fuzzing campaign: every target of every fuzz workspace (zse/fuzz, firmware/fuzz, gateway/fuzz,
# esi-sim/fuzz) for SECONDS each; prints executions and findings per target.
#
#   reliability/fuzz.sh 60            # one minute per target
#   TARGETS="jws_verify config_toml" reliability/fuzz.sh 30   # a subset
#
# Builds with libFuzzer's coverage instrumentation on the stable toolchain (the flags
# `cargo fuzz build -s none` uses; `cargo fuzz` is used instead when installed), release mode
# with debug assertions and overflow checks. Corpora grow in <workspace>/corpus/<target>,
# crashes land in <workspace>/artifacts/<target>/ (reproduce: run the target binary on the
# file). Exit status 1 if any target found something.
set -euo pipefail
SECONDS_PER_TARGET="${1:-60}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/fuzz}"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
JOBS="${JOBS:-2}"
FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# FUZZ_WORKSPACES="zse/fuzz esi-sim/fuzz" limits the workspaces.
read -r -a WORKSPACES <<<"${FUZZ_WORKSPACES:-zse/fuzz firmware/fuzz gateway/fuzz esi-sim/fuzz}"
declare -a ROWS=()
found_any=0
for ws in "${WORKSPACES[@]}"; do
  dir="$ROOT/$ws"
  [ -f "$dir/Cargo.toml" ] || continue
  # Same dependency versions as the main workspace on the first build.
  [ -f "$dir/Cargo.lock" ] || cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
  targets=$(sed -n '/^\[\[bin\]\]/,/^$/s/^name = "\(.*\)"/\1/p' "$dir/Cargo.toml")
  echo "== building $ws: $(echo $targets)" >&2
  (cd "$dir" && RUSTFLAGS="$FLAGS" cargo build -q --release -j "$JOBS" --target "$TRIPLE" --bins) >&2
  for t in $targets; do
    if [ -n "${TARGETS:-}" ] && ! grep -qw "$t" <<<"$TARGETS"; then continue; fi
    mkdir -p "$dir/corpus/$t" "$dir/artifacts/$t"
    log="$(mktemp)"
    echo "== fuzzing $ws $t for ${SECONDS_PER_TARGET}s" >&2
    set +e
    "$CARGO_TARGET_DIR/$TRIPLE/release/$t" -max_total_time="$SECONDS_PER_TARGET" \
      -artifact_prefix="$dir/artifacts/$t/" -print_final_stats=1 -rss_limit_mb=2048 \
      -timeout=10 "$dir/corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
    corpus=$(find "$dir/corpus/$t" -type f | wc -l)
    findings=$(find "$dir/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
      found_any=1
      tail -30 "$log" >&2
    fi
    ROWS+=("$(printf '%-16s %-20s %12s %8s %9s %5s' "$ws" "$t" "${execs:-?}" "$corpus" "$findings" "$rc")")
    rm -f "$log"
  done
done
printf '%-16s %-20s %12s %8s %9s %5s\n' workspace target executions corpus findings exit
printf '%s\n' "${ROWS[@]}"
exit "$found_any"
