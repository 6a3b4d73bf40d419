"""One place that says where data, caches and generated outputs live."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]   # helpers/core/paths.py


def _env_path(variable: str, default: Path) -> Path:
    """Return the folder named by an environment variable, else the default, as an absolute path."""
    value = os.environ.get(variable, "").strip()
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def data_dir() -> Path:
    """Datasets folder: $DIGITS_DATA_DIR, default `data/` (may be read-only, e.g. ../shared/data)."""
    return _env_path("DIGITS_DATA_DIR", PROJECT_ROOT / "data")


def cache_dir() -> Path:
    """Trained weights and other caches: $DIGITS_CACHE_DIR, default `cache/` (ignored by git)."""
    return _env_path("DIGITS_CACHE_DIR", PROJECT_ROOT / "cache")


def output_dir(fast: bool) -> Path:
    """Where figures and results go: the project root for a full run, `build/fast/` for a fast one.

    Fast runs never overwrite the committed full-run figures and `results/metrics.json`.
    $DIGITS_OUTPUT_DIR overrides both (the tests point it at a temporary folder).
    """
    default = PROJECT_ROOT / "build" / "fast" if fast else PROJECT_ROOT
    return _env_path("DIGITS_OUTPUT_DIR", default)


def fast_mode() -> bool:
    """Whether this run uses the fast configuration's tiny budgets ($DIGITS_FAST=1: CI and smoke runs)."""
    return os.environ.get("DIGITS_FAST", "0").strip() == "1"


def models_dir(fast: bool | None = None) -> Path:
    """The released models the reader and the app load: $DIGITS_MODELS_DIR, default `models/`.

    A full run writes them there (with report.html and results/metrics.json); a fast run writes
    its own under its output folder (`build/fast/models/`), so it never replaces the released ones.
    `fast`: the run's own switch (FAST_MODE in the notebook); None reads $DIGITS_FAST.
    """
    return _env_path("DIGITS_MODELS_DIR", output_dir(fast_mode() if fast is None else fast) / "models")
