#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned requirements into it. Sourced by the other scripts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    echo "==> creating virtual environment in .venv"
    "$PYTHON" -m venv "$ROOT/.venv"
fi
echo "==> installing requirements (about 2-3 min on a fresh machine, seconds when they are there)"
"$ROOT/.venv/bin/python" -m pip install --quiet --upgrade pip
"$ROOT/.venv/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
# The helpers package itself, editable (pyproject.toml), so that scripts/, experiments/ and a user's own
# code import it from any folder; its dependencies are the pins just installed.
"$ROOT/.venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
# Debian packages, installed once if apt is there and we may use it (no downloads outside the
# package registries are possible offline):
# - chromium + chromium-driver: Step 5's browser test and the report's screenshot of the web page;
# - tesseract-ocr: the OCR baseline the real-photo section scores beside the reader;
# - graphviz: draws the models' architecture figures (keras.utils.plot_model, through pydot);
# - fonts-*: the 100+ font families the stand-in draws its house numbers in (helpers/synth/fonts.py).
# Fonts without their recommends, so that the font pool (and so the stand-in) is the same everywhere.
FONT_PACKAGES="$(tr '\n' ' ' < "$ROOT/scripts/font_packages.txt")"
missing_apps="" missing_fonts=""
for package in chromium chromium-driver tesseract-ocr graphviz; do
    dpkg -s "$package" >/dev/null 2>&1 || missing_apps="$missing_apps $package"
done
for package in $FONT_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || missing_fonts="$missing_fonts $package"
done
if [ -n "$missing_apps$missing_fonts" ] && command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
    # Another apt (an unattended upgrade, a parallel set-up) may hold the lock: wait for it, up to 10 min.
    APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -qq"
    echo "==> installing Debian packages (about 1-2 min the first time):$missing_apps$missing_fonts"
    $APT update || echo "    (apt-get update failed: trying with the package lists there are)"
    [ -z "$missing_apps" ] || DEBIAN_FRONTEND=noninteractive $APT install -y $missing_apps >/dev/null || true
    [ -z "$missing_fonts" ] || DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends \
        $missing_fonts >/dev/null || true
fi
# Say what is really missing now (another process may have installed it meanwhile), and what that costs.
still_missing=""
for package in chromium chromium-driver tesseract-ocr graphviz $FONT_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || still_missing="$still_missing $package"
done
if [ -n "$still_missing" ]; then
    echo "    not installed:$still_missing"
    case "$still_missing" in *chromium*) echo "    - without Chromium the browser test is skipped and the report has no page screenshot";; esac
    case "$still_missing" in *tesseract*) echo "    - without Tesseract its figures are left out of the real-photo section";; esac
    case "$still_missing" in *graphviz*) echo "    - without Graphviz the architecture figures are left out";; esac
    case "$still_missing" in *fonts-*) echo "    - with fonts missing the stand-in draws from fewer fonts (a different stand-in)";; esac
fi
