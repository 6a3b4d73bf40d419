#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned requirements into it. Sourced by the other scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    echo "==> creating virtual environment in .venv"
    "$PYTHON" -m venv "$ROOT/.venv"
fi
echo "==> installing requirements"
"$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/.venv/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
# Step 5's browser test and the report's screenshot drive Debian's headless Chromium (no browser
# downloads are possible offline); install it once if apt is there and we may use it.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
        echo "==> installing chromium + chromium-driver (apt) for the web page's browser test"
        { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
            chromium chromium-driver >/dev/null; } || echo "    (could not install Chromium: the browser test will be skipped)"
    fi
fi
