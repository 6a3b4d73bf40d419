"""The run's configuration: one place for every budget and setting, full and fast, and the step functions on it."""
from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import PROJECT_ROOT
from helpers.core import config
from helpers.modeling import comparison
from helpers.steps import step2, step4
from helpers.synth import street_numbers


def test_the_fast_run_has_the_full_runs_settings_with_smaller_budgets() -> None:
    full, fast = config.FULL, config.FAST
    assert not full.fast and fast.fast and full.seed == fast.seed == config.SEED
    assert [s.name for s in fast.step2.settings] == [s.name for s in full.step2.settings]
    assert fast.step1.model_args == full.step1.model_args and fast.reader == full.reader
    for step in ("step1", "step2", "step4"):
        assert getattr(fast, step).steps_per_epoch < getattr(full, step).steps_per_epoch
    assert fast.step2.counts["train"] < full.step2.counts["train"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.step1.epochs = 1


def test_for_run_follows_the_fast_switch(monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_FAST", "1")
    assert config.for_run() is config.FAST and config.for_run(False) is config.FULL
    monkeypatch.setenv("DIGITS_FAST", "0")
    assert config.for_run() is config.FULL and config.for_run(True) is config.FAST


def test_the_report_commands_data_step_renders_what_the_full_run_uses() -> None:
    assert street_numbers.FULL_RUN_COUNTS == config.FULL.step2.counts
    assert street_numbers.FULL_RUN_SEED == config.FULL.seed


def test_a_setting_is_found_by_name_and_a_wrong_name_is_refused() -> None:
    assert config.FULL.step2.setting("deeper, no random crops").random_crop is False
    with pytest.raises(ValueError, match="no Step 2 setting"):
        config.FULL.step2.setting("deeper, typo")


def test_training_arguments_come_from_the_configuration_and_the_setting() -> None:
    run = config.FULL
    fast_rate = run.step2.setting("deeper, learning rate 5e-3")
    assert step2.training_args(run, fast_rate)["learning_rate"] == 5e-3
    plain = step2.training_args(run, config.DEEPER)
    assert plain["learning_rate"] == run.step2.learning_rate and plain["seed"] == run.seed
    assert plain["model_args"]["convs_per_block"] == 2 and plain["box_jitter"] == run.step2.box_jitter
    tuning = step2.fine_tuning_args(run, fast_rate, epochs=3, steps=7)
    assert (tuning["epochs"], tuning["steps_per_epoch"], tuning["learning_rate"]) == (3, 7, run.step2.learning_rate / 4)


def test_no_code_repeats_the_reports_settings() -> None:
    """Settings live in helpers/core/config.py; code elsewhere imports them instead of copying them."""
    files = [*PROJECT_ROOT.glob("helpers/**/*.py"), *PROJECT_ROOT.glob("experiments/*.py"),
             *PROJECT_ROOT.glob("scripts/*.py"), *PROJECT_ROOT.glob("scripts/*.sh")]
    copies = [path.name for path in files if "the notebook's" in path.read_text()]
    assert not copies, f"settings copied from the notebook in {copies}"
    seeds = [path.name for path in files if re.search(r"^\s*SEED\s*=\s*\d", path.read_text(), re.M)]
    assert seeds == ["config.py"], f"a seed set outside helpers/core/config.py: {seeds}"


def _run(seconds: float) -> SimpleNamespace:
    return SimpleNamespace(model=SimpleNamespace(count_params=lambda: 10), train_seconds=seconds, info={"best_epoch": 1})


def test_a_comparison_ranks_readers_and_tells_differences_from_noise() -> None:
    right = {"a": np.array([1] * 90 + [0] * 10, bool), "b": np.array([1] * 88 + [0] * 12, bool),
             "c": np.array([1] * 60 + [0] * 40, bool)}
    scores = {name: {"sequence_accuracy": r.mean(), "per_digit_accuracy": r.mean()} for name, r in right.items()}
    compared = comparison.Comparison({name: _run(60) for name in right}, {}, scores, right)
    assert compared.best() == "a" and compared.best(("b", "c")) == "b"
    lead, margin = compared.margin_over_runner_up("a")
    assert lead == pytest.approx(0.02) and lead < margin          # a and b: within the noise
    assert compared.behind("a") == ["c"]                          # c: behind beyond the noise
    bullets = compared.bullets(against="a").splitlines()
    assert bullets[0].startswith("* a: 90.00%") and "-30.0 ± " in bullets[2]
    assert compared.record(against="a")["c"]["difference_to_chosen"] == pytest.approx(-0.3)


def test_the_showcase_picks_best_boxes_worst_found_boxes_and_misreads_in_good_boxes() -> None:
    iou = np.array([0.9, 0.1, 0.0, 0.8, 0.5, 0.7])
    found = np.array([True, True, False, True, True, True])
    right = np.array([True, True, False, False, True, True])
    assert step4.showcase(iou, right, found, count=2) == [0, 3, 1, 4, 3]
