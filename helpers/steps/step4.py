"""Step 4 as functions of the run configuration: scenes without a number, the localizer and its real
fine-tuning, the digit detector, the reader's adaptation to found boxes (`train` does all four), then the
released reader, its thresholds and its stand-in test figures (`test`)."""
from __future__ import annotations

import time
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
    """The baseline: the adapted reader behind the 64x64 whole-photo localizer, read as configured, its crops cut at the
    photo's edge (as released before the digit detector)."""
    settings = run.reader
    return reader.NumberReader(reader_model, localizer_model, refine=settings.refine, refine_growth=settings.refine_growth,
                               scales=settings.scales, whole_photo=settings.whole_photo, pad_edges=False)


def released_reader(run: config.RunConfig, reader_model, localizer_model, detector_model) -> reader.NumberReader:
    """The reader as released: the adapted reader on every number the digit detector finds, the localizer's
    box first where the number fills the photo; edges padded."""
    settings = run.reader
    return reader.NumberReader(reader_model, localizer_model, detector=detector_model, refine=settings.refine,
                               refine_growth=settings.refine_growth, scales=settings.scales, whole_photo=settings.whole_photo, route=settings.route,
                               pad_edges=settings.pad_edges)


def calibrated(run: config.RunConfig, number_reader: reader.NumberReader, real_validation,
               standin_validation: crops.NumberTable, blank_validation: list[Path]) -> reader.NumberReader:
    """The released reader with its thresholds set on validation data. First the detector score a number needs
    (`min_found_chosen`: real validation photos and scenes without a number, read end to end); then the
    "sure" threshold: the stand-in's validation images give how correctness grows with confidence, the
    real validation photos its level (both read end to end)."""
    number_reader = number_reader.min_found_chosen([*real_validation.photos, *blank_validation],
                                                   [*real_validation.numbers, *[""] * len(blank_validation)],
                                                   run.reader.found_scores)
    return number_reader.calibrated(real_validation.photos, real_validation.numbers, list(standin_validation.paths),
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


@dataclass
class Step4Models:
    """Step 4's trained models and what the notebook prints about them."""

    blanks: BlankScenes
    letterboxed: str                            # the localizer's validation images: shape and type
    localizer: training.TrainedModel
    localizer_real: training.TrainedModel       # fine-tuned with the real train photos mixed in
    real_iou_before: float                      # the localizer's real validation mean IoU before that
    detector_rows: detection_data.DigitTable
    detector: training.TrainedModel
    tuned: training.TrainedModel                # the Step 2 reader adapted to found boxes
    tuned_confidence: float                     # its unsure threshold in the real validation photos' true boxes
    real_validation: real_photos.LabelledPhotos  # train 201-256: the best epochs, the route and "sure"

    def summary(self) -> str:
        """One line per model: trained or loaded, how long, how good on validation."""
        def done(run: training.TrainedModel, verb: str) -> str:
            return "reused from an earlier run" if run.from_cache else verb

        blanks, rows = self.blanks, self.detector_rows
        return "\n".join([
            f"scenes without a number: train {len(blanks.train)} | validation {len(blanks.validation)} | test {len(blanks.test)}",
            f"localizer: validation images letterboxed {self.letterboxed}; {done(self.localizer, 'trained')} in "
            f"{self.localizer.train_seconds / 60:.1f} min, {self.localizer.model.count_params():,} parameters, best epoch "
            f"{self.localizer.info['best_epoch']}",
            f"localizer with real photos: {done(self.localizer_real, 'fine-tuned')} in "
            f"{self.localizer_real.train_seconds / 60:.1f} min; real validation mean IoU {self.real_iou_before:.3f} before, "
            f"{max(self.localizer_real.history['val_mean_iou']):.3f} after",
            f"digit detector: {done(self.detector, 'trained')} on {len(rows):,} rows ({int(rows.counts.sum()):,} digit "
            f"boxes) in {self.detector.train_seconds / 60:.1f} min, {self.detector.model.count_params():,} parameters; "
            f"real validation mean IoU of the first number found {max(self.detector.history['val_mean_iou']):.3f} "
            f"(epoch {self.detector.info['best_epoch']})",
            f"adapted reader: {done(self.tuned, 'fine-tuned')} in {self.tuned.train_seconds / 60:.1f} min; real validation "
            f"{100 * max(self.tuned.history['val_sequence_accuracy']):.1f}% in true boxes; unsure below "
            f"{self.tuned_confidence:.3f} there"])

    def runs(self) -> list[training.TrainedModel]:
        """The four trainings, for the run's record."""
        return [self.localizer, self.localizer_real, self.detector, self.tuned]


def train(run: config.RunConfig, sets: step2.Step2Sets, step2_reader: training.TrainedModel,
          setting: config.ReaderSetting) -> Step4Models:
    """Train (or load) Step 4's models in order: the localizer on the stand-in and empty scenes, its fine-tuning
    with real photos, the digit detector, and the Step 2 reader adapted to found boxes."""
    blanks = blank_scenes(run)
    loc_val = localization.letterbox_arrays(*localization.with_blank_scenes(sets.val_rows, blanks.validation))
    localizer = train_localizer(run, sets.train_rows, blanks, loc_val)
    real_loc_val = localization.letterbox_arrays(sets.real_rows["validation"].paths, sets.real_rows["validation"].union)
    localizer_real = fine_tune_localizer(run, sets.mixed_rows, blanks, real_loc_val, start_from=localizer)
    before_iou = training.box_score(*real_loc_val)(localizer.model)
    rows = detector_rows(run, sets.data.root / "train", sets.train_rows, blanks)
    real_validation = real_photos.svhn_real("validation")
    detector = train_detector(run, rows, real_validation)
    tuned = adapt_reader(run, setting, sets.mixed_rows, sets.real_val_crops, start_from=step2_reader)
    tuned_confidence = step2.unsure_threshold(tuned.model, sets.real_val_crops)
    return Step4Models(blanks, f"{loc_val[0].shape} {loc_val[0].dtype}", localizer, localizer_real, before_iou, rows, detector, tuned,
                       tuned_confidence, real_validation)


@dataclass
class Step4Test:
    """The released reader with its thresholds, and the stand-in test images read once with it."""

    number_reader: reader.NumberReader
    baseline_reader: reader.NumberReader        # the adapted reader behind the localizer alone, as released before
    end_to_end_confidence: float                # the "sure" threshold, end to end
    table: crops.NumberTable                    # the stand-in test split
    readings: list[reader.Reading]
    blank_readings: list[reader.Reading]        # the empty test scenes
    read_seconds: float
    iou: np.ndarray
    right: np.ndarray
    figures: dict

    def summary(self, run: config.RunConfig, tuned_confidence: float) -> str:
        """The thresholds, the reading time and the headline test figures."""
        return (f"where the localizer sees none, a detector's number needs a digit score of {self.number_reader.min_found:.2f}; "
                f"read {len(self.readings) + len(self.blank_readings):,} stand-in images in {self.read_seconds:.0f} s; sure "
                f"answers (right {run.reader.sure_precision:.0%} of the time at {run.reader.sure_level:.0%} confidence) need "
                f"a confidence of {self.end_to_end_confidence:.4f} end to end ({tuned_confidence:.3f} in true boxes)\n"
                f"mean IoU {self.figures['mean_iou']:.3f}, end to end {100 * self.figures['end_to_end_accuracy']:.2f}% "
                "(Q10 has the rest)")

    def record(self, models: Step4Models) -> dict:
        """The figures with the models' sizes, training times and thresholds, for results/metrics.json."""
        return {**self.figures, "train_seconds": models.localizer.train_seconds,
                "real_tune_seconds": models.localizer_real.train_seconds, "adapt_seconds": models.tuned.train_seconds,
                "min_confidence": self.end_to_end_confidence, "min_confidence_true_boxes": models.tuned_confidence,
                "parameters": models.localizer_real.model.count_params(), "detector_seconds": models.detector.train_seconds,
                "detector_parameters": models.detector.model.count_params()}


def test(run: config.RunConfig, models: Step4Models, sets: step2.Step2Sets, standin_true_box: float) -> Step4Test:
    """Build the released reader and the localizer-only baseline, set the thresholds on validation data, then
    read the stand-in test images and the empty test scenes once. `standin_true_box`: the Step 2 reader's test
    accuracy in the true boxes."""
    number_reader = released_reader(run, models.tuned.model, models.localizer_real.model, models.detector.model)
    baseline = localizer_reader(run, models.tuned.model, models.localizer_real.model)
    number_reader = calibrated(run, number_reader, models.real_validation, sets.val_rows, models.blanks.validation)
    confidence = number_reader.min_confidence
    table = sets.data.tables["test"]
    start = time.perf_counter()
    readings = number_reader.read(list(table.paths))
    blank_readings = number_reader.read([str(p) for p in models.blanks.test])
    seconds = time.perf_counter() - start
    iou, right, figures = test_figures(table, readings, blank_readings,
                                       step2.whole_number_accuracy(models.tuned.model, sets.test_crops))
    figures["ground_truth_crop_accuracy"] = standin_true_box
    return Step4Test(number_reader, baseline, confidence, table, readings, blank_readings, seconds, iou, right, figures)
