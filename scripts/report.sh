#!/usr/bin/env bash
# One command for the report: environment, data, full notebook run, report.html, models/.
#   bash scripts/report.sh                 # full run (downloads MNIST into data/ if needed)
#   DIGITS_DATA_DIR=../shared/data ...     # read the datasets from another folder (offline)
#   DIGITS_FAST=1 bash scripts/report.sh   # quick smoke run (outputs go to build/fast/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/setup_env.sh
echo "==> data folder: ${DIGITS_DATA_DIR:-data}"
data_start=$(date +%s)
.venv/bin/python -m helpers.datasets.mnist
# Step 2's photos: the real SVHN if it is in the data folder, else the offline stand-in, rendered here
# once (cached) like a download, so the report's run time is the modelling alone.
[ "${DIGITS_FAST:-0}" = "1" ] || .venv/bin/python -m helpers.synth.street_numbers
export DIGITS_DATA_SECONDS=$(( $(date +%s) - data_start ))   # recorded by the notebook in metrics.json
# A fast run executes the same notebook (from the project root, so `helpers` imports) but writes
# the executed copy to build/fast/, leaving the committed full-run notebook untouched.
OUT_DIR=.
[ "${DIGITS_FAST:-0}" = "1" ] && OUT_DIR=build/fast && mkdir -p "$OUT_DIR"
NOTEBOOK="$OUT_DIR/digit_recognition.ipynb"
if [ "${DIGITS_FAST:-0}" = "1" ]; then
    echo "==> executing digit_recognition.ipynb into $NOTEBOOK (fast mode: about 5 min of notebook time on 2 cores)"
else
    echo "==> executing digit_recognition.ipynb into $NOTEBOOK (the long part: training on the CPU; without"
    echo "    cache/ about 80 min on a 2-core AMD EPYC with AVX-512, 3 h or more on an AVX2 one (see the README);"
    echo "    the notebook prints no progress bars)"
fi
start=$(date +%s)
# The kernel talks over a local socket file (IPC) instead of TCP: nothing listens on the network, and
# the kernel's "running over TCP without encryption" warning does not clutter the run's output.
.venv/bin/jupyter nbconvert --to notebook --execute digit_recognition.ipynb --output-dir "$OUT_DIR" \
    --output digit_recognition.ipynb --ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 \
    --KernelManager.transport=ipc
echo "==> exporting report.html next to the notebook"
# scripts/report_template is JupyterLab's template with folded code and each figure's alternative text;
# cells tagged hide_input show their output only, report_skip (bookkeeping) not at all.
.venv/bin/jupyter nbconvert --to html "$NOTEBOOK" --output report.html \
    --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags=hide_input \
    --TagRemovePreprocessor.remove_cell_tags=report_skip --no-prompt \
    --HTMLExporter.embed_images=True --TemplateExporter.extra_template_basedirs=scripts --template report_template
if [ "${DIGITS_FAST:-0}" != "1" ]; then
    echo "==> refreshing the README's results table from results/metrics.json"
    .venv/bin/python -m helpers.report.results results/metrics.json
    # The notebook saved the released models in models/; their TFLite exports and model card
    # come from the same run (a few minutes: conversion, then readings compared with Keras).
    echo "==> exporting models/ to TensorFlow Lite and writing its model card"
    .venv/bin/python -m helpers.steps.export
fi
echo "==> done in $(( $(date +%s) - start )) s: $(dirname "$NOTEBOOK")/report.html"
