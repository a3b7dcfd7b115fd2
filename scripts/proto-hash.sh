#!/usr/bin/env bash
# Prints one hash over every file under proto/ (path and content), so that a test
# can tell when proto/ changed without the generated code being regenerated.
set -euo pipefail
cd "$(dirname "$0")/../proto"
find . -type f -name '*.proto' | LC_ALL=C sort | while read -r f; do
  printf '%s\n' "$f"
  sha256sum <"$f" | cut -d' ' -f1
done | sha256sum | cut -d' ' -f1
