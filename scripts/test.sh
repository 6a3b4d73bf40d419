#!/usr/bin/env bash
# One command for the tests: environment, then pytest (helpers + the notebook executed in fast mode).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup_env.sh
echo "==> running tests (data folder: ${DIGITS_DATA_DIR:-data})"
.venv/bin/python -m pytest "$@"
