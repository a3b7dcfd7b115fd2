#!/usr/bin/env bash
# Installs what PolicyWatch needs on a fresh Debian machine that has the Swift toolchain:
# Debian packages (SQLite's headers, protoc) and a Python virtualenv (.venv) with grpcio for the
# interop tests. Idempotent: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libsqlite3-dev protobuf-compiler openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

REQS=Tests/interop/requirements.txt
STAMP=.venv/.requirements.sha256
want=$(sha256sum "$REQS" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "setup: preparing the Python virtualenv .venv" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQS"
  echo "$want" >"$STAMP"
fi
