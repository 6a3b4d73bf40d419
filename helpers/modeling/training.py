"""Training with best-checkpoint selection on whole-number accuracy, and a trained-weights cache."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from helpers.core import boxes as boxes_, paths
from helpers.modeling import metrics, models
from helpers.synth import sequences


class SequenceAccuracy(keras.callbacks.Callback):
    """Adds `val_sequence_accuracy` (whole number right) to the epoch logs.

    Listed before ModelCheckpoint/EarlyStopping, it lets them pick the epoch that reads the
    most whole numbers correctly rather than the one with the lowest summed loss.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 decode: Callable[[object], metrics.Decoded], batch_size: int = 512) -> None:
        super().__init__()
        self.images, self.labels, self.decode, self.batch_size = images, labels, decode, batch_size

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        correct = (predict(self.model, self.images, self.decode, self.batch_size).rows == self.labels).all(1)
        if logs is not None:
            logs["val_sequence_accuracy"] = float(correct.mean())


class ValidationScore(keras.callbacks.Callback):
    """Adds `logs[name] = score(model)` at each epoch's end, for the checkpoint to follow."""

    def __init__(self, name: str, score: Callable[[keras.Model], float]) -> None:
        super().__init__()
        self.name, self.score = name, score

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs[self.name] = float(self.score(self.model))


@dataclass
class TrainedModel:
    """A trained model with its per-epoch history and how long training took."""

    model: keras.Model
    history: dict[str, list[float]]
    train_seconds: float
    from_cache: bool
    path: Path
    info: dict = field(default_factory=dict)


DEFAULT_PATIENCE = 4   # epochs without a better validation score before training stops


def cache_key(settings: dict) -> str:
    """Short stable hash of the settings that determine a trained model."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def cache_stem(name: str, settings: dict, *, epochs: int, steps_per_epoch: int, patience: int) -> str:
    """The cache's file name (without suffix) of a model trained with these settings and this budget.

    Every argument that changes the trained weights is in it, early stopping's patience too.
    """
    return f"{name}-{cache_key({**settings, 'epochs': epochs, 'steps_per_epoch': steps_per_epoch, 'patience': patience})}"


def data_fingerprint(paths_, *arrays: np.ndarray) -> str:
    """Short hash of what a model trains on: each photo's last three path parts (data set, split, file:
    the same on every machine) and the arrays that go with them (boxes, labels).

    Part of every cache key, so a model is reused only on the same photos and labels, whatever the
    run calls its data.
    """
    digest = hashlib.sha256()
    for path in paths_:
        digest.update("/".join(Path(str(path)).parts[-3:]).encode() + b"\0")
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def train_or_load(name: str, settings: dict, build: Callable[[], keras.Model], train_data,
                  validation: tuple[np.ndarray, np.ndarray], decode: Callable, *, epochs: int,
                  steps_per_epoch: int, patience: int = DEFAULT_PATIENCE, cache: bool = True,
                  score: tuple[str, Callable[[keras.Model], float]] | None = None,
                  strategy=None) -> TrainedModel:
    """Load `name`'s weights from the cache if these exact settings were trained before, else train.

    `score` = (name, function of the model) replaces the whole-number accuracy as the validation
    figure to maximise (Step 4's localizer keeps the epoch with the best mean IoU).
    `strategy` (a `tf.distribute.Strategy`, e.g. MirroredStrategy over several GPUs) builds and
    trains the model in its scope; `train_data` then yields *global* batches, split across replicas.

    Training keeps the epoch with the best validation whole-number accuracy (ModelCheckpoint),
    stops early when it stalls, and only then moves the model into the cache, so an interrupted
    run never leaves a half-trained model that a later run would mistake for a finished one.
    """
    folder = paths.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = cache_stem(name, settings, epochs=epochs, steps_per_epoch=steps_per_epoch, patience=patience)
    model_path, info_path = folder / f"{stem}.keras", folder / f"{stem}.json"
    if cache and model_path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        model = keras.models.load_model(model_path, compile=False)
        return TrainedModel(model, info["history"], info["train_seconds"], True, model_path, info)

    if strategy is None:
        model = build()
    else:
        with strategy.scope():   # variables (weights, optimizer slots) mirrored on every replica
            model = build()
    in_progress = folder / f"{stem}.training.keras"
    monitor = score[0] if score else "val_sequence_accuracy"
    # An optimizer that keeps an average of the weights (EMA) is scored and saved with that average.
    averaged = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if model.optimizer.use_ema else []
    callbacks = averaged + [
        ValidationScore(*score) if score else SequenceAccuracy(*validation, decode=decode),
        keras.callbacks.ModelCheckpoint(in_progress, monitor=monitor, mode="max", save_best_only=True),
        # Only the second half of the epochs may stop early: under warm-up + cosine decay the score often
        # stalls while the learning rate is high and climbs again as it falls, and a stop in that stall
        # throws away the epochs that matter most: on a CPU that rounds differently it cut Step 1's training
        # at epoch 10 of 16, whose reader then read 97.77% of the reading-validation numbers instead of 98.59%.
        keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience, restore_best_weights=True,
                                      start_from_epoch=epochs // 2),
    ]
    start = time.perf_counter()
    history = model.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=callbacks, verbose=0, shuffle=False)   # the notebook draws the curves
    seconds = time.perf_counter() - start
    best = keras.models.load_model(in_progress, compile=False)
    os.replace(in_progress, model_path)
    info = {"settings": {**settings, "patience": patience}, "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
            "train_seconds": seconds, "epochs_run": len(history.epoch),
            "best_epoch": int(np.argmax(history.history[monitor])) + 1,
            "images_seen": len(history.epoch) * steps_per_epoch * int(settings.get("batch_size", 0))}
    info_path.write_text(json.dumps(info, indent=1))
    return TrainedModel(best, info["history"], seconds, False, model_path, info)


def shifted(images: np.ndarray, pixels: int) -> np.ndarray:
    """A copy of (n, height, width, channels) images moved `pixels` right (left if negative), zero-filled."""
    out = np.zeros_like(images)
    if pixels >= 0:
        out[:, :, pixels:] = images[:, :, :images.shape[2] - pixels]
    else:
        out[:, :, :pixels] = images[:, :, -pixels:]
    return out


def predict(model: keras.Model | Sequence[keras.Model], images: np.ndarray, decode: Callable,
            batch_size: int = 512, shifts: tuple[int, ...] = (0,)) -> metrics.Decoded:
    """Decode a model's predictions on uint8 images (Keras casts one batch at a time, no float copy).

    Several `shifts` (pixels, horizontal) average each head's probabilities over shifted copies
    first: test-time augmentation, which evens out a reader's sensitivity to where a digit sits.
    Several models (an ensemble) are averaged the same way, every model over every shift.
    """
    return decode(predict_outputs(model, images, batch_size, shifts))


def predict_outputs(model: keras.Model | Sequence[keras.Model], images: np.ndarray, batch_size: int = 512,
                    shifts: tuple[int, ...] = (0,)):
    """The outputs of a model (or the ensemble of several) on uint8 images, averaged over `shifts` and
    models as `predict` does, not yet decoded."""
    members = [model] if isinstance(model, keras.Model) else list(model)
    if not shifts or not members:
        raise ValueError("need at least one model and one shift (0: the images as they are).")
    return combine_outputs([member.predict(shifted(images, s) if s else images, batch_size=batch_size, verbose=0)
                            for member in members for s in shifts])


def combine_outputs(runs: list):
    """Several passes' raw outputs (models and/or shifts) -> one, as `predict_outputs` combines them."""
    if not runs:
        raise ValueError("need at least one pass's outputs to combine.")
    if len(runs) == 1:
        return runs[0]
    if not isinstance(runs[0], dict):
        raise ValueError("test-time shifts and ensembles need multi-head models: per-column CTC logits cannot "
                         "be averaged (they move with the image, and each model places digits its own way).")
    # The auxiliary CTC columns move with the image, so only the heads' probabilities are averaged;
    # the columns of every shift and model are passed on side by side (metrics.decode_joint scores each).
    averaged = {name: np.mean([run[name] for run in runs], axis=0) for name in runs[0] if name != "column_logits"}
    if "column_logits" in runs[0]:
        averaged["column_logits"] = np.stack([run["column_logits"] for run in runs])
    return averaged


def fit_design(design: models.Design, source: sequences.DigitSource, validation: tuple[np.ndarray, np.ndarray],
               *, batch_size: int, epochs: int, steps_per_epoch: int, learning_rate: float, seed: int,
               config: sequences.SequenceConfig = sequences.SequenceConfig(), model_args: dict | None = None,
               cache: bool = True, patience: int = DEFAULT_PATIENCE, start_from: TrainedModel | None = None,
               strategy=None) -> TrainedModel:
    """Train (or load) one design on freshly generated numbers with warm-up + cosine learning rate.

    `start_from` continues from a trained model's weights (a fresh optimizer and schedule), so a
    short comparison run is not thrown away when its design then gets the full budget.
    """
    model_args = dict(model_args or {})
    total_steps = epochs * steps_per_epoch

    def build() -> "keras.Model":
        keras.utils.set_random_seed(seed)   # same initial weights for the same settings
        model = design.build((config.height, config.width, 1), **model_args)
        if start_from is not None:
            model.set_weights(start_from.model.get_weights())
        return design.compile(model, models.learning_rate_schedule(learning_rate, total_steps,
                                                                  warmup_steps=steps_per_epoch // 2))

    settings = {"design": design.key, "batch_size": batch_size, "learning_rate": learning_rate,
                "seed": seed, "config": dataclasses.asdict(config), "model_args": model_args,
                "source": f"{source.name}:{len(source)}", "start_from": start_from.path.name if start_from else None}
    data = sequences.train_dataset(source, batch_size, seed, config, target_fn=design.targets)
    return train_or_load(design.key, settings, build, data,
                         validation, design.decode, epochs=epochs, steps_per_epoch=steps_per_epoch,
                         patience=patience, cache=cache, strategy=strategy)


def fit_crops(design: models.Design, table, validation: tuple[np.ndarray, np.ndarray], *, batch_size: int,
              epochs: int, steps_per_epoch: int, learning_rate: float, seed: int, model_args: dict | None = None,
              random_crop: bool = True, cache: bool = True, patience: int = DEFAULT_PATIENCE,
              box_jitter: float = 0.0, start_from: TrainedModel | None = None, strategy=None,
              photometric: bool = False) -> TrainedModel:
    """Train (or load) one design on 54x54 crops streamed from a format-1 split (Step 2).

    `start_from` fine-tunes a trained model (its weights, a fresh optimizer) instead of starting anew.
    """
    from helpers.datasets import crops

    model_args = dict(model_args or {})

    def build() -> "keras.Model":
        keras.utils.set_random_seed(seed)
        model = design.build(validation[0].shape[1:], **model_args)
        if start_from is not None:
            model.set_weights(start_from.model.get_weights())
        return design.compile(model, models.learning_rate_schedule(learning_rate, epochs * steps_per_epoch,
                                                                  warmup_steps=steps_per_epoch // 2))

    settings = {"design": design.key, "batch_size": batch_size, "learning_rate": learning_rate, "seed": seed,
                "model_args": model_args, "random_crop": random_crop, "box_jitter": box_jitter,
                "photometric": photometric, "start_from": start_from.path.name if start_from else None,
                "data": data_fingerprint(table.paths, table.boxes, table.labels), "rows": len(table)}
    stream = crops.crop_dataset(table, training=True, batch_size=batch_size, seed=seed, target_fn=design.targets,
                                random_crop=random_crop, box_jitter=box_jitter, photometric=photometric)
    return train_or_load(f"step2-{design.key}", settings, build, stream, validation, design.decode,
                         epochs=epochs, steps_per_epoch=steps_per_epoch, patience=patience, cache=cache,
                         strategy=strategy)


def box_score(images: np.ndarray, boxes: np.ndarray) -> Callable[[keras.Model], float]:
    """Mean IoU of a localizer's boxes on letterboxed validation photos that show a number."""
    present = boxes[:, 0] >= 0

    def score(model: keras.Model) -> float:
        predicted = model.predict(images[present], batch_size=256, verbose=0)["box"]
        return float(boxes_.iou(predicted, boxes[present]).mean())

    return score


def fit_localizer(paths_: np.ndarray, boxes: np.ndarray, validation: tuple[np.ndarray, np.ndarray], *,
                  batch_size: int, epochs: int, steps_per_epoch: int, learning_rate: float, seed: int,
                  model_args: dict | None = None, cache: bool = True,
                  patience: int = DEFAULT_PATIENCE, backgrounds: list | None = None, zoom_out: float = 0.0,
                  tight: float = 0.0, strategy=None, start_from: TrainedModel | None = None) -> TrainedModel:
    """Train (or load) Step 4's localizer on whole photos; keeps the epoch with the best val mean IoU.

    `backgrounds` + `zoom_out`: the share of photos pasted small into wider scenes; `tight`: the
    share cropped to the number itself (see localization.localization_dataset). `start_from`
    fine-tunes a trained localizer (its weights, a fresh optimizer).
    """
    from helpers.modeling import localization

    model_args = dict(model_args or {})
    size = validation[0].shape[1]

    def build() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = localization.build_localizer(size, **model_args)
        if start_from is not None:
            model.set_weights(start_from.model.get_weights())
        return localization.compile_localizer(model, models.learning_rate_schedule(
            learning_rate, epochs * steps_per_epoch, warmup_steps=steps_per_epoch // 2))

    settings = {"batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "size": size,
                "model_args": model_args, "data": data_fingerprint(paths_, boxes), "rows": len(paths_),
                "zoom_out": zoom_out, "tight": tight, "backgrounds": data_fingerprint(backgrounds or []),
                "start_from": start_from.path.name if start_from else None}
    stream = localization.localization_dataset(paths_, boxes, training=True, batch_size=batch_size, seed=seed,
                                               size=size, backgrounds=backgrounds, zoom_out=zoom_out, tight=tight)
    return train_or_load("localizer", settings, build, stream, validation, decode=None, epochs=epochs,
                         steps_per_epoch=steps_per_epoch, patience=patience, cache=cache,
                         score=("val_mean_iou", box_score(*validation)), strategy=strategy)


def detector_score(photos: list[np.ndarray], true_boxes: np.ndarray, spec) -> Callable[[keras.Model], float]:
    """Mean IoU of the first number the detector finds in each validation photo with its true box."""
    from helpers.modeling import detection

    def score(model: keras.Model) -> float:
        found = detection.detect(model, photos, spec)
        first = np.array([numbers[0].box if numbers else (0, 0, 0, 0) for numbers in found], np.float64)
        return float(boxes_.iou(first, true_boxes).mean())

    return score


def fit_detector(table, validation: tuple[list[np.ndarray], np.ndarray], *, spec, batch_size: int, epochs: int,
                 steps_per_epoch: int, learning_rate: float, seed: int, close: float, dtype: str = "float32",
                 model_args: dict | None = None, cache: bool = True) -> TrainedModel:
    """Train (or load) Step 4's digit detector on random windows of photos with every digit's box;
    keeps the epoch whose first number found best overlaps the validation photos' true boxes (mean IoU).
    Returns the model in float32, whatever `dtype` it trained in."""
    from helpers.modeling import detection, detection_data

    model_args = dict(model_args or {})

    def build() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = detection.build_detector(dtype=dtype, **model_args)
        return detection.compile_detector(model, models.learning_rate_schedule(
            learning_rate, epochs * steps_per_epoch, warmup_steps=steps_per_epoch // 2))

    settings = {"batch_size": batch_size, "learning_rate": learning_rate, "seed": seed, "close": close,
                "dtype": dtype, "model_args": model_args, "rows": len(table),
                "data": data_fingerprint(table.paths, table.boxes, table.counts),
                "validation": data_fingerprint([], np.asarray(validation[1], np.float64)),
                "spec": dataclasses.asdict(spec),      # it decides which epoch scores best
                "windows": [detection_data.WINDOW, detection_data.MIN_HEIGHT, detection_data.MAX_HEIGHT]}
    stream = detection_data.detection_dataset(table, batch_size=batch_size, seed=seed, close=close)
    trained = train_or_load("detector", settings, build, stream, None, decode=None, epochs=epochs,
                            steps_per_epoch=steps_per_epoch, patience=epochs, cache=cache,
                            score=("val_mean_iou", detector_score(*validation, spec)))
    if dtype != "float32":
        trained = dataclasses.replace(trained, model=detection.float32_copy(trained.model))
    return trained
