"""Step 2 as functions of the run configuration: the data, the exploration of reader settings at one
budget, and the fine-tuning with real SVHN photos mixed in."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.core import config, paths
from helpers.datasets import crops, digitstruct, real_photos
from helpers.modeling import metrics, models, training
from helpers.modeling.comparison import Comparison
from helpers.synth import street_numbers

DESIGN = models.DESIGNS["attention"]   # Step 1's chosen design family, on 54x54 colour crops


@dataclass
class Step2Data:
    """Where Step 2's photos come from and their tables (paths, boxes, label rows)."""

    root: Path
    name: str            # what the report calls the data
    real_svhn: bool      # the full SVHN was found in the data folder
    annotations: dict[str, list[digitstruct.Annotation]]
    tables: dict[str, crops.NumberTable]


def load_data(run: config.RunConfig) -> Step2Data:
    """The full SVHN if the data folder has it, else the rendered stand-in (made once, then cached)."""
    svhn = paths.data_dir() / "svhn"
    real_svhn = all((svhn / split / "digitStruct.mat").exists() for split in ("train", "test"))
    if real_svhn:
        root, name = svhn, "SVHN format 1 (real)"
    else:
        root = street_numbers.standin_dataset(run.step2.counts, seed=run.seed, config=street_numbers.standin_config(run.step2),
                                              progress=False)
        name = "the stand-in (rendered, not SVHN)"
    annotations = {split: digitstruct.load_digit_struct(root / split / "digitStruct.mat") for split in ("train", "test")}
    tables = {split: crops.number_table(root / split, annotations[split]) for split in ("train", "test")}
    return Step2Data(root, name, real_svhn, annotations, tables)


def training_args(run: config.RunConfig, setting: config.ReaderSetting, **changes) -> dict:
    """`training.fit_crops`'s arguments for one reader setting at the step's budget, with `changes`."""
    step = run.step2
    return {"batch_size": step.batch_size, "epochs": step.epochs, "steps_per_epoch": step.steps_per_epoch,
            "learning_rate": setting.learning_rate or step.learning_rate, "seed": run.seed,
            "box_jitter": step.box_jitter, "model_args": setting.model_args, "random_crop": setting.random_crop,
            **changes}


def explore(run: config.RunConfig, train_rows: crops.NumberTable,
            val_crops: tuple[np.ndarray, np.ndarray]) -> Comparison:
    """Train (or load) every setting from scratch at the same budget; score them on the validation crops."""
    runs = {setting.name: training.fit_crops(DESIGN, train_rows, val_crops, **training_args(run, setting))
            for setting in run.step2.settings}
    return Comparison.score(runs, val_crops, lambda _: metrics.decode_multihead)


def real_rows() -> dict[str, crops.NumberTable]:
    """svhn-real's train 1-200 (trained on) and 201-256 (validation); test 1-128 is read at the end only."""
    rows = {part: real_photos.svhn_real_table(part) for part in ("train", "validation")}
    if any(table is None for table in rows.values()):
        raise FileNotFoundError(f"{paths.data_dir() / real_photos.SVHN_REAL} is missing: "
                                "the README says where the data comes from.")
    return rows


def fine_tuning_args(run: config.RunConfig, setting: config.ReaderSetting, epochs: int, steps: int) -> dict:
    """Arguments of a fine-tuning with real photos mixed in: a share (`real_rate_scale`) of the step's learning rate."""
    return training_args(run, setting, epochs=epochs, steps_per_epoch=steps, learning_rate=run.step2.learning_rate * run.step2.real_rate_scale)


def fine_tune_real(run: config.RunConfig, setting: config.ReaderSetting, mixed_rows: crops.NumberTable,
                   real_val_crops: tuple[np.ndarray, np.ndarray],
                   start_from: training.TrainedModel) -> training.TrainedModel:
    """Continue the chosen reader on stand-in rows with the real train photos mixed in; every epoch runs,
    the one that reads the most real validation photos is kept."""
    step = run.step2
    return training.fit_crops(DESIGN, mixed_rows, real_val_crops, start_from=start_from, patience=step.real_epochs,
                              **fine_tuning_args(run, setting, step.real_epochs, step.real_steps))


def whole_number_accuracy(model, crop_set: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of the crops whose whole number the reader gets right."""
    return float(metrics.whole_number_right(training.predict(model, crop_set[0], metrics.decode_multihead),
                                            crop_set[1]).mean())


def by_length(decoded_metrics: dict, labels: np.ndarray, train_labels: np.ndarray | None = None) -> dict[str, dict]:
    """Per number length present: how many test numbers, the share read whole and, with `train_labels`,
    how many training numbers had that length."""
    lengths = labels[:, 0]
    train = {} if train_labels is None else {n: int((train_labels[:, 0] == n).sum()) for n in range(1, 6)}
    return {str(n): {"count": int((lengths == n).sum()), "accuracy": decoded_metrics[f"sequence_accuracy_length_{n}"],
                     **({"training_numbers": train[n]} if train else {})}
            for n in range(1, 6) if (lengths == n).any()}


def validation_figures(readers: dict[str, training.TrainedModel], real_val_crops: tuple[np.ndarray, np.ndarray],
                       val_crops: tuple[np.ndarray, np.ndarray]) -> dict[str, dict[str, float]]:
    """Each reader's whole-number accuracy on the real and the stand-in validation crops (true boxes)."""
    return {name: {"real_validation": whole_number_accuracy(run.model, real_val_crops),
                   "standin_validation": whole_number_accuracy(run.model, val_crops)} for name, run in readers.items()}
