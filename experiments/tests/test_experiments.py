"""experiments/: the stand-in ablation's variants and table, the yardstick script's clear exit without models."""
from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

import real_photos as yardstick_script  # noqa: E402
import standin_ablation  # noqa: E402


def test_each_variant_is_the_first_stand_in_with_one_change_or_all_of_them() -> None:
    first = standin_ablation.variant_config("first")
    assert (first.font_set, first.geometry, first.look, first.clutter) == ("few", "hand", False, False)
    fonts = standin_ablation.variant_config("fonts")
    assert (fonts.font_set, fonts.geometry, fonts.look, fonts.clutter) == ("many", "hand", False, False)
    every = standin_ablation.variant_config("all")
    assert (every.font_set, every.geometry, every.look, every.clutter) == ("many", "svhn", True, True)
    with pytest.raises(ValueError, match="unknown variant"):
        standin_ablation.variant_config("colour")


def test_the_readme_table_is_rewritten_between_its_markers(tmp_path: Path, monkeypatch) -> None:
    readme, folder = tmp_path / "README.md", tmp_path / "results"
    folder.mkdir()
    readme.write_text("intro\n<!-- ablation:start -->\nthe previous table\n<!-- ablation:end -->\nafter\n")
    (folder / "first.json").write_text(json.dumps({
        "name": "first", "description": "the first stand-in", "chars74k_accuracy": 0.5, "chars74k_confident_share": 0.2,
        "chars74k_confident_precision": 0.75, "standin_test_accuracy": 0.9, "train_seconds": 60}))
    monkeypatch.setattr(standin_ablation, "README", readme)
    monkeypatch.setattr(standin_ablation, "RESULTS", folder)
    standin_ablation.write_table()
    text = readme.read_text()
    assert text.startswith("intro\n<!-- ablation:start -->\n| stand-in") and text.endswith("<!-- ablation:end -->\nafter\n")
    assert "| the first stand-in | 1,400 | 50.0% | 20.0% / 75.0% | 90.0% |" in text and "previous" not in text


def test_the_yardstick_script_says_how_to_make_models(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="scripts/report.sh"):
        yardstick_script.main(["--models", str(tmp_path), "--no-tesseract"])


def test_the_yardstick_reads_the_real_test_photos_only_when_told_it_is_the_final_read(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        yardstick_script.main(["--models", str(tmp_path), "--svhn", "test", "--svhn-only"])
    assert "--final" in capsys.readouterr().err


def test_the_fine_tuning_mix_has_the_asked_share_of_real_rows() -> None:
    import real_svhn_finetune
    from helpers.core import paths
    from helpers.datasets import real_photos

    if not (paths.data_dir() / real_photos.SVHN_REAL).exists():
        pytest.skip("no svhn-real/ in the data folder")
    real = real_svhn_finetune.real_table("train")
    validation = real_svhn_finetune.real_table("validation")
    assert len(real) == 200 and len(validation) == 56 and not set(real.paths) & set(validation.paths)
    alone, name = real_svhn_finetune.mixed_table(1.0)
    assert set(alone.paths) == set(real.paths) and "1-200" in name


def test_the_real_svhn_rerank_table_lists_only_runs_scored_on_real_svhn() -> None:
    run = {"chars74k_accuracy": 0.8, "standin_test_accuracy": 0.9, "svhn_real_train_true_box_accuracy": 0.7}
    table = standin_ablation.svhn_table([{**run, "name": "svhn_base"}, {**run, "name": "svhn_look"},
                                         {"name": "older", "chars74k_accuracy": 0.5, "standin_test_accuracy": 0.9}])
    assert table.count("| 70.0% | 80.0% | 90.0% |") == 2 and "older" not in table
    assert "the report's stand-in" in table and "raised and muted look" in table


def test_the_mixed_precision_run_trains_under_the_policy_and_always_restores_float32(monkeypatch) -> None:
    import keras
    import mixed_precision

    seen = []

    def fail(*args, **kwargs):
        seen.append(keras.mixed_precision.global_policy().name)
        raise RuntimeError("stop")

    monkeypatch.setattr(mixed_precision.training, "fit_design", fail)
    with pytest.raises(RuntimeError):
        sets = types.SimpleNamespace(train_digits=None, val_set=(None, None))
        mixed_precision.train("mixed_bfloat16", mixed_precision.config.RunConfig(), sets, 1, 1)
    assert seen == ["mixed_bfloat16"] and keras.mixed_precision.global_policy().name == "float32"
