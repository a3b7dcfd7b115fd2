#!/usr/bin/env bash
# Formats (default) or lints (--lint) the Swift sources with the toolchain's swift-format,
# using .swift-format at the root. Generated code is excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t FILES < <(git ls-files --cached --others --exclude-standard -- '*.swift' |
  grep -v '^Sources/PolicyWatchAPI/Generated/' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ "${1:-}" = "--lint" ]; then
  swift format lint --strict --parallel "${FILES[@]}"
else
  swift format format --in-place --parallel "${FILES[@]}"
fi
