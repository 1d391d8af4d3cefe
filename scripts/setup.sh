#!/usr/bin/env bash
# Creates .venv and installs everything the app needs; with --dev also the test tools and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  # Debian's Chromium for the browser tests (never `playwright install`), and fonts so screenshots show text
  # and emoji as a student's browser would.
  # Debian's redis-server for the Redis-backed queue's tests (each test starts its own on a loopback port).
  if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/noto ] || ! command -v redis-server >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji \
      redis-server >/dev/null
    # The package starts a system-wide server on port 6379; the tests never use it.
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
