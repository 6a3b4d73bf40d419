"""The scale-up path: training under a tf.distribute strategy (MirroredStrategy on 2 logical CPUs)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECT_ROOT
from helpers.steps import train_svhn
from helpers.synth import street_numbers


def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path: Path) -> None:
    for split, count, seed in (("train", 40, 1), ("test", 12, 2)):
        street_numbers.write_split(tmp_path / "svhn" / split, count, seed=seed, progress=False, workers=1)
    summary = tmp_path / "summary.json"
    # A fresh process: the CPU can only be split into logical devices before TensorFlow starts.
    env = {**os.environ, "DIGITS_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "helpers.steps.train_svhn", "--root", str(tmp_path / "svhn"),
                           "--splits", "train", "--strategy", "cpu2", "--batch-size", "8", "--epochs", "1",
                           "--steps-per-epoch", "2", "--validation-size", "8", "--summary", str(summary)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(summary.read_text())
    assert result["replicas"] == 2 and result["strategy"] == "cpu2"
    assert result["train_numbers"] == 32 and result["test_numbers"] == 12
    assert 0 <= result["sequence_accuracy"] <= 1 and Path(result["model"]).exists()


def test_missing_split_and_unknown_strategy_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m helpers.datasets.svhn extra"):
        train_svhn.main(["--root", str(tmp_path), "--splits", "extra", "--strategy", "default"])
    with pytest.raises(ValueError, match="unknown strategy"):
        train_svhn.make_strategy("tpu")


def test_concat_tables_keeps_rows_in_order(tmp_path: Path) -> None:
    street_numbers.write_split(tmp_path / "a", 3, seed=1, progress=False, workers=1)
    street_numbers.write_split(tmp_path / "b", 2, seed=2, progress=False, workers=1)
    from helpers.datasets import crops

    a, b = crops.number_table(tmp_path / "a"), crops.number_table(tmp_path / "b")
    both = crops.concat_tables([a, b])
    assert len(both) == len(a) + len(b) and list(both.paths) == list(a.paths) + list(b.paths)
    assert (both.labels[len(a):] == b.labels).all()
    with pytest.raises(ValueError, match="at least one split"):
        crops.concat_tables([])
