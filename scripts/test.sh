#!/usr/bin/env bash
# The whole test suite: format lint, the Swift tests (Swift Testing), and the interop suite in
# which an independent Python grpcio client calls a real server. Used by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== swift format lint" >&2
scripts/format.sh --lint

echo "== swift build" >&2
swift build --build-tests

echo "== swift test" >&2
swift test --skip-build

echo "== interop (Python grpcio)" >&2
POLICYWATCH_BIN="$(swift build --show-bin-path)/policywatch" \
  .venv/bin/python -m pytest -q Tests/interop

# The fuzz targets, each for a short bounded time (POLICYWATCH_FUZZ_SECONDS, default 20; 0
# skips them). `make fuzz` runs them longer.
if [ "${POLICYWATCH_FUZZ_SECONDS:-20}" != 0 ]; then
  echo "== fuzz (libFuzzer, AddressSanitizer)" >&2
  # A fixed seed: the same inputs on every run, so that CI's result does not depend on luck.
  POLICYWATCH_FUZZ_SEED="${POLICYWATCH_FUZZ_SEED:-1}" scripts/fuzz.sh "${POLICYWATCH_FUZZ_SECONDS:-20}"
fi
