#!/usr/bin/env bash
# A virtualenv (.venv-bench) with the peers the benchmarks compare against, from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/python -m pip install --quiet --disable-pip-version-check \
    cel-expr-python==0.1.3 common-expression-language==0.10.0
fi
