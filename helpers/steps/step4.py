"""Step 4 as functions of the run configuration: scenes without a number, the localizer and its real
fine-tuning, the reader's adaptation to found boxes, the released reader, and its stand-in test figures."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.app import reader
from helpers.core import config, paths
from helpers.datasets import crops, real_photos
from helpers.modeling import detection, detection_data, localization, metrics, training
from helpers.steps import step2
from helpers.synth import street_numbers


@dataclass
class BlankScenes:
    """Rendered scenes without a number (walls, empty plaques): the localizer's negatives."""

    train: list[Path]
    validation: list[Path]
    test: list[Path]


def blank_scenes(run: config.RunConfig) -> BlankScenes:
    """Make (or reuse) the scenes, drawn like the stand-in's; a tenth of the training ones validate."""
    drawn = dict(config=street_numbers.standin_config(run.step2), progress=False)
    train = street_numbers.blank_scenes(run.step4.blank_train, seed=run.seed + 1, **drawn)
    test = street_numbers.blank_scenes(run.step4.blank_test, seed=run.seed + 2, **drawn)
    return BlankScenes(train[len(train) // 10:], train[:len(train) // 10], test)


def _localizer_args(run: config.RunConfig, blanks: BlankScenes) -> dict:
    step = run.step4
    return {"batch_size": step.batch_size, "seed": run.seed, "backgrounds": blanks.train, "zoom_out": step.zoom_out,
            "tight": step.tight, "model_args": {"pool_first": step.pool_first}}


def train_localizer(run: config.RunConfig, train_rows: crops.NumberTable, blanks: BlankScenes,
                    validation: tuple[np.ndarray, np.ndarray]) -> training.TrainedModel:
    """Train (or load) the localizer on stand-in images and empty scenes; every epoch runs, the best IoU is kept."""
    step = run.step4
    return training.fit_localizer(*localization.with_blank_scenes(train_rows, blanks.train), validation,
                                  epochs=step.epochs, steps_per_epoch=step.steps_per_epoch,
                                  learning_rate=step.learning_rate, patience=step.epochs, **_localizer_args(run, blanks))


def fine_tune_localizer(run: config.RunConfig, mixed_rows: crops.NumberTable, blanks: BlankScenes,
                        validation: tuple[np.ndarray, np.ndarray],
                        start_from: training.TrainedModel) -> training.TrainedModel:
    """Continue the localizer with the real train photos mixed in, at a share (`real_rate_scale`) of the learning rate."""
    step = run.step4
    return training.fit_localizer(*localization.with_blank_scenes(mixed_rows, blanks.train), validation,
                                  epochs=step.real_epochs, steps_per_epoch=step.real_steps,
                                  learning_rate=step.learning_rate * step.real_rate_scale, patience=step.real_epochs,
                                  start_from=start_from, **_localizer_args(run, blanks))


def adapt_reader(run: config.RunConfig, setting: config.ReaderSetting, mixed_rows: crops.NumberTable,
                 real_val_crops: tuple[np.ndarray, np.ndarray],
                 start_from: training.TrainedModel) -> training.TrainedModel:
    """A few more epochs of Step 2's real fine-tuning (same rows, box jitter and rate) for the released reader."""
    step = run.step4
    return training.fit_crops(step2.DESIGN, mixed_rows, real_val_crops, start_from=start_from,
                              **step2.fine_tuning_args(run, setting, step.tune_epochs, step.tune_steps))


def detector_rows(run: config.RunConfig, standin_folder: Path, train_rows: crops.NumberTable,
                  blanks: BlankScenes) -> detection_data.DigitTable:
    """Every digit box the detector trains on: the stand-in's training photos (not its validation ones),
    real SVHN train 1-200 repeated, and the empty scenes."""
    names = {Path(p).name for p in train_rows.paths}
    standin = detection_data.digit_table(standin_folder, keep=lambda name: name in names)
    real = detection_data.digit_table(paths.data_dir() / real_photos.SVHN_REAL / "train",
                                      keep=lambda name: int(Path(name).stem) < real_photos.SVHN_REAL_VALIDATION_FROM)
    return detection_data.concat([standin, real, detection_data.blank_table(blanks.train)],
                                 [1, run.detector.real_repeats, 1])


def train_detector(run: config.RunConfig, rows: detection_data.DigitTable,
                   real_validation: real_photos.LabelledPhotos) -> training.TrainedModel:
    """Train (or load) the digit detector; the epoch whose first number found best overlaps the real
    validation photos' true boxes is kept."""
    settings = run.detector
    return training.fit_detector(rows, (real_validation.photos, real_validation.boxes), spec=detection.DetectorSpec(),
                                 batch_size=settings.batch_size, epochs=settings.epochs,
                                 steps_per_epoch=settings.steps_per_epoch, learning_rate=settings.learning_rate,
                                 seed=run.seed, close=settings.close, dtype=settings.dtype,
                                 model_args={"filters": settings.filters, "head": settings.head})


def localizer_reader(run: config.RunConfig, reader_model, localizer_model) -> reader.NumberReader:
    """The baseline: the adapted reader behind the 64x64 whole-photo localizer, read as configured."""
    settings = run.reader
    return reader.NumberReader(reader_model, localizer_model, refine=settings.refine, refine_growth=settings.refine_growth,
                               scales=settings.scales, whole_photo=settings.whole_photo)


def released_reader(run: config.RunConfig, reader_model, localizer_model, detector_model) -> reader.NumberReader:
    """The reader as released: the adapted reader on every number the digit detector finds, the localizer's
    box first where the number fills the photo; edges padded."""
    settings = run.reader
    return reader.NumberReader(reader_model, localizer_model, detector=detector_model, refine=settings.refine,
                               refine_growth=settings.refine_growth, scales=settings.scales, whole_photo=settings.whole_photo, route=settings.route,
                               pad_edges=settings.pad_edges)


def calibrate(run: config.RunConfig, number_reader: reader.NumberReader, real_validation,
              standin_validation: crops.NumberTable, blank_validation: list[Path]) -> float:
    """Set the released reader's thresholds on validation data. First the detector score a number needs
    (`choose_min_found`: real validation photos and scenes without a number, read end to end); then the
    "sure" threshold: the stand-in's validation images give how correctness grows with confidence, the
    real validation photos its level (both read end to end). Returns the "sure" threshold."""
    number_reader.choose_min_found([*real_validation.photos, *blank_validation],
                                   [*real_validation.numbers, *[""] * len(blank_validation)], run.reader.found_scores)
    return number_reader.calibrate(real_validation.photos, real_validation.numbers, list(standin_validation.paths),
                                   [metrics.number_string(row) for row in standin_validation.labels],
                                   precision=run.reader.sure_precision, level=run.reader.sure_level)


def test_figures(test_table: crops.NumberTable, readings: list[reader.Reading], blank_readings: list[reader.Reading],
                 true_box_accuracy: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """The stand-in test images read end to end: each box's IoU, each number right or not, and the figures
    (IoU shares, end-to-end accuracy, and why each misread was lost: no box, a loose box (IoU < 0.5), a
    misread in a good box)."""
    scores = metrics.score_readings(readings, [metrics.number_string(row) for row in test_table.labels], test_table.union)
    figures = {key: scores[key] for key in ("mean_iou", "iou_at_least_0.5", "iou_at_least_0.75", "lost_no_box",
                                            "lost_loose_box", "lost_good_box")}
    figures.update({"end_to_end_accuracy": scores["accuracy"], "adapted_reader_true_box_accuracy": true_box_accuracy,
                    "missed_numbers": float(np.mean([r.number == "" for r in readings])),
                    "blank_scenes_flagged": float(np.mean([r.number == "" for r in blank_readings])),
                    "test_numbers": len(readings), "blank_test_scenes": len(blank_readings)})
    return scores["_iou"], scores["_right"], figures


def showcase(iou: np.ndarray, right: np.ndarray, found: np.ndarray, count: int = 4) -> list[int]:
    """Photos worth looking at: the `count` best boxes, the worst boxes that were found, and misreads in
    the best boxes (indices into the test photos)."""
    best_first = np.argsort(-iou)
    worst_found = np.argsort(np.where(found, iou, np.inf))[:count]
    misread = [i for i in best_first if found[i] and not right[i]][:count]
    return [*best_first[:count], *worst_found, *misread]
