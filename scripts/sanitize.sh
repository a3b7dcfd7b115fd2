#!/usr/bin/env bash
# Runs the Swift test suite under AddressSanitizer and then ThreadSanitizer, each in its own
# build directory (.build-asan, .build-tsan): `scripts/sanitize.sh [address|thread]...`
# (default both). Each build compiles the whole dependency graph instrumented: about 8 minutes
# per sanitizer from scratch on a 2-core machine, which is why CI does not run it (README).
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZERS=("$@")
[ ${#SANITIZERS[@]} -gt 0 ] || SANITIZERS=(address thread)
# Swift's runtime keeps caches for the life of the process: LeakSanitizer would report them.
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1:${TSAN_OPTIONS:-}"
for sanitizer in "${SANITIZERS[@]}"; do
  case "$sanitizer" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) echo "sanitize: unknown sanitizer '$sanitizer' (address or thread)" >&2; exit 2 ;;
  esac
  echo "sanitize: building and testing under the $sanitizer sanitizer ($scratch)" >&2
  swift build --build-tests --scratch-path "$scratch" --sanitize="$sanitizer" 2>&1 | tail -1
  swift test --skip-build --scratch-path "$scratch" --sanitize="$sanitizer"
done
