#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (with AddressSanitizer, into .build-fuzz) and runs each
# for a bounded time: `scripts/fuzz.sh [seconds-per-target]` (default 60). Each target first
# replays its regression inputs (fuzz/regressions/<target>/, inputs that once crashed), then
# fuzzes from its seed corpus (fuzz/corpus/<target>/). A crash fails the script and leaves the
# input in fuzz/crashes/: add it to fuzz/regressions/<target>/ with the fix.
# POLICYWATCH_FUZZ_SEED fixes libFuzzer's seed (0, the default, picks one at random).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
TARGETS=(FuzzCEL FuzzRuleFile FuzzProposalReader FuzzEvaluateRequest)
BUILD=(--scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer)
# Swift's runtime keeps caches for the life of the process: LeakSanitizer would report them.
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
mkdir -p fuzz/crashes
for target in "${TARGETS[@]}"; do
  POLICYWATCH_FUZZ=1 swift build "${BUILD[@]}" --product "$target" 2>&1 | grep -Ev "warning: Cannot export local symbol" | tail -1
done
status=0
echo "| target | seconds | runs | runs/s | edges covered | features | corpus |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for target in "${TARGETS[@]}"; do
  binary=".build-fuzz/debug/$target"
  regressions="fuzz/regressions/$target"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    "$binary" "$regressions"/* >/dev/null 2>&1 || { echo "$target: a regression input crashes again" >&2; status=1; }
  fi
  mkdir -p "fuzz/corpus/$target"
  work="$(mktemp -d)"
  log="$(mktemp)"
  if ! "$binary" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=3072 \
    -seed="${POLICYWATCH_FUZZ_SEED:-0}" \
    -artifact_prefix="fuzz/crashes/$target-" "$work" "fuzz/corpus/$target" >"$log" 2>&1; then
    echo "$target: CRASH (input in fuzz/crashes/)" >&2
    tail -40 "$log" >&2
    status=1
  fi
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
  field() { grep -oE "$1: [0-9]+" <<<"$done_line" | head -1 | cut -d' ' -f2 || true; }
  runs="$(grep -oE '^#[0-9]+' <<<"$done_line" | tr -d '#' || true)"
  cov="$(field cov)"
  ft="$(field ft)"
  corp="$(field corp)"
  rate="$(field exec/s)"
  echo "| $target | $SECONDS_EACH | ${runs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} |"
  rm -rf "$work" "$log"
done
exit "$status"
