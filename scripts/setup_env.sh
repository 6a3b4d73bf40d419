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
# Debian packages, installed once if apt is there and we may use it (no downloads outside the
# package registries are possible offline):
# - chromium + chromium-driver: Step 5's browser test and the report's screenshot of the web page;
# - tesseract-ocr: the OCR baseline the real-photo section scores beside the reader;
# - graphviz: draws the models' architecture figures (keras.utils.plot_model, through pydot);
# - fonts-*: the 100+ font families the stand-in draws its house numbers in (helpers/fonts.py).
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
    echo "==> installing Debian packages:$missing_apps$missing_fonts"
    { $SUDO apt-get update -qq \
      && { [ -z "$missing_apps" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing_apps >/dev/null; } \
      && { [ -z "$missing_fonts" ] || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
           --no-install-recommends $missing_fonts >/dev/null; }; } \
    || echo "    (could not install them: the browser test is skipped, Tesseract's figures and the" \
            "architecture figures are left out, and the stand-in falls back to the fonts pip installs)"
fi
