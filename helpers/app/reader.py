"""Read the house numbers in any photo: find them (Step 4's digit detector and localizer), crop, read (Step 2's reader).

    from helpers.app import reader
    number_reader = reader.NumberReader.load()          # the released models in models/
    for reading in number_reader.read(["photo.jpg", "door.png"]):      # the likeliest number of each photo
        print(reading.number, reading.confidence, reading.box, reading.status)
    every_number = number_reader.read_all("street.jpg")[0]             # all the numbers found, likeliest first

Every photo goes through `images.open_photo` (any size or mode, EXIF orientation applied; photos
over 2048 pixels a side are read shrunk), and the box comes back in the pixels of the photo itself,
upright, as a viewer shows it.
"""
from __future__ import annotations

import copy
import functools
import json
from dataclasses import asdict, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers.app import lite
from helpers.app.readings import Reading
from helpers.app.model_files import (DETECTOR_FILE, LOCALIZER_FILE, READER_FILE, RUNTIMES,  # noqa: F401
                                     SETTINGS_FILE, check_models, lite_file, model_files, save_for_inference)
from helpers.core import boxes as box_tools, cropping, images, paths
from helpers.core.config import ReaderConfig
from helpers.modeling import detection, metrics


class NumberReader:
    """The end-to-end reader: a localizer and/or a digit detector + crop + multi-digit reader + thresholds.

    How it reads defaults to the configuration's `ReaderConfig`; its thresholds are set on validation data by
    `min_found_chosen` and `calibrated`, which return a new reader (sharing the models) rather than change this one.
    """

    def __init__(self, reader: keras.Model | lite.LiteModel, localizer: keras.Model | lite.LiteModel | None = None, *,
                 detector: keras.Model | lite.LiteModel | None = None, spec: detection.DetectorSpec | None = None,
                 min_confidence: float = 0.5, min_presence: float = 0.5, min_found: float = 0.5,
                 refine: int = ReaderConfig.refine, refine_growth: float = ReaderConfig.refine_growth,
                 scales: tuple[float, ...] = ReaderConfig.scales, whole_photo: bool = ReaderConfig.whole_photo,
                 route: float = ReaderConfig.route, pad_edges: bool = ReaderConfig.pad_edges,
                 crop: cropping.CropSpec | None = None) -> None:
        if not all(0 <= value <= 1 for value in (min_confidence, min_presence, min_found)):
            raise ValueError("min_confidence, min_presence and min_found are probabilities between 0 and 1.")
        if refine < 0:
            raise ValueError(f"refine is a number of extra localizer passes (0 or more), got {refine}.")
        if not 0 <= route <= 1:
            raise ValueError(f"route is a share of the photo's height (0-1), got {route}.")
        self.reader, self.localizer, self.detector = reader, localizer, detector
        self.spec = spec or detection.DetectorSpec()
        self.min_confidence, self.min_presence = float(min_confidence), float(min_presence)
        self.min_found = float(min_found)     # a detector's number's score where the localizer sees none
        self.found_sweep: dict = {}           # how `min_found` was chosen, saved with it
        self.refine, self.refine_growth = int(refine), float(refine_growth)
        if any(scale <= 0 for scale in scales):
            raise ValueError(f"box scales must be positive, got {scales}.")
        self.scales = tuple(float(scale) for scale in scales)
        self.whole_photo = bool(whole_photo)
        self.route, self.pad_edges = float(route), bool(pad_edges)
        self.calibration: dict = {}           # how `min_confidence` was set (`calibrated`), saved with it
        self._graphs: dict[tuple, object] = {}    # (model, input size): one compiled graph each
        self.crop_size = int(reader.input_shape[1])
        # The crop the reader was trained on; without one, the training crop scaled to the reader's input.
        self.crop = crop or replace(cropping.CROP, window=self.crop_size,
                                                resize=cropping.CROP.resize * self.crop_size // cropping.CROP.window)
        if self.crop.window != self.crop_size:
            raise ValueError(f"the crop's window ({self.crop.window} px) is not the reader's input ({self.crop_size} px).")
        self.box_size = int(localizer.input_shape[1]) if localizer is not None else cropping.LETTERBOX

    @classmethod
    def load(cls, folder: Path | None = None, *, runtime: str = "keras") -> "NumberReader":
        """Load the saved models and thresholds (default: `paths.models_dir()`, the released models).

        `runtime="tflite-float32"` or `"tflite-float16"` runs the same pipeline on the TensorFlow
        Lite exports that `python -m helpers.steps.export` writes beside them.
        """
        folder = Path(folder or paths.models_dir())
        files = model_files(runtime)
        check_models(folder, runtime)
        settings = json.loads((folder / SETTINGS_FILE).read_text())
        if runtime == "keras":
            models = [keras.models.load_model(folder / name, compile=False) for name in files]
        else:
            models = [lite.LiteModel.load(folder / name) for name in files]
        spec = {key: tuple(value) if isinstance(value, list) else value for key, value in settings["detector"].items()}
        loaded = cls(*models[:2], detector=models[2], spec=detection.DetectorSpec(**spec),
                     min_confidence=settings["min_confidence"], min_presence=settings["min_presence"],
                     min_found=settings.get("min_found", settings["min_presence"]),   # older folders: one threshold
                     refine=settings["refine"], refine_growth=settings.get("refine_growth", 0.6),   # older folders: saved before it was a setting
                     scales=tuple(settings["scales"]), whole_photo=settings["whole_photo"],
                     route=settings["route"], pad_edges=settings["pad_edges"], crop=cropping.CropSpec(**settings["crop"]))
        loaded.calibration, loaded.found_sweep = settings["calibration"], settings.get("min_found_sweep", {})
        return loaded

    @classmethod
    def in_boxes(cls, reader: keras.Model | lite.LiteModel, *, min_confidence: float = 0.5) -> "NumberReader":
        """A reader alone, for numbers whose boxes are given (`read(..., boxes=...)`): the crop is cut at the photo's
        edge, as Step 2 validated its readers, not padded with edge pixels as the released reader's is."""
        return cls(reader, min_confidence=min_confidence, pad_edges=False)

    def with_thresholds(self, **changes) -> "NumberReader":
        """A copy sharing the models, with some of `min_confidence`, `min_presence`, `min_found` and the records of how
        they were set (`calibration`, `found_sweep`) replaced."""
        if unknown := set(changes) - {"min_confidence", "min_presence", "min_found", "calibration", "found_sweep"}:
            raise ValueError(f"not thresholds of a NumberReader: {sorted(unknown)}.")
        if not all(0 <= float(value) <= 1 for name, value in changes.items() if name.startswith("min_")):
            raise ValueError("min_confidence, min_presence and min_found are probabilities between 0 and 1.")
        changed = copy.copy(self)
        changed.calibration, changed.found_sweep = dict(self.calibration), dict(self.found_sweep)   # records: not shared
        changed.__dict__.update({name: float(value) if name.startswith("min_") else value for name, value in changes.items()})
        return changed

    def save(self, folder: Path | None = None) -> Path:
        """Save the three models (without optimizer state) and the settings, loadable with `NumberReader.load`."""
        if self.detector is None or self.localizer is None or isinstance(self.reader, lite.LiteModel):
            raise ValueError("only a Keras reader with a localizer and a digit detector can be saved for the application.")
        folder = Path(folder or paths.models_dir())
        for model, name in ((self.reader, READER_FILE), (self.localizer, LOCALIZER_FILE), (self.detector, DETECTOR_FILE)):
            save_for_inference(model, folder / name)
        (folder / SETTINGS_FILE).write_text(json.dumps(
            {"min_confidence": self.min_confidence, "min_presence": self.min_presence, "min_found": self.min_found,
             "min_found_sweep": self.found_sweep, "refine": self.refine, "refine_growth": self.refine_growth,
             "scales": list(self.scales), "whole_photo": self.whole_photo, "route": self.route,
             "pad_edges": self.pad_edges, "crop": asdict(self.crop), "detector": asdict(self.spec),
             "calibration": self.calibration},
            indent=1))
        return folder

    def locate(self, photos: list[np.ndarray], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(boxes (n, 4) in each photo's pixels, probability of a number (n,)): the last pass's boxes."""
        passes, presence = self.locate_passes(photos, batch_size)
        return passes[-1], presence

    def locate_passes(self, photos: list[np.ndarray], batch_size: int = 64) -> tuple[list[np.ndarray], np.ndarray]:
        """The boxes of every localizer pass (1 + `refine` arrays of (n, 4)) and the probability of a number.

        After the pass on the whole photo, each refining pass looks again at a window around the
        box found (grown by 60%): the number then fills more of the localizer's small input, so its
        edges are placed more precisely. "Is there a number" comes from the whole-photo pass.
        """
        if self.localizer is None:
            raise ValueError("this reader has no localizer; pass boxes to read() instead.")
        boxes, presence = self._locate_once(photos, batch_size)
        passes = [boxes]
        for _ in range(self.refine):
            windows = np.stack([box_tools.window(box_tools.grown(box, self.refine_growth), photo.shape) for box, photo in zip(boxes, photos)])
            views = [photo[top:bottom, left:right] for photo, (top, left, bottom, right) in zip(photos, windows)]
            inner, _ = self._locate_once(views, batch_size)
            boxes = inner + np.concatenate([windows[:, :2], windows[:, :2]], 1)
            passes.append(boxes)
        return passes, presence

    def _locate_once(self, photos: list[np.ndarray], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """One localizer pass: boxes in each photo's pixels and the probability of a number."""
        letterbox = _graph_letterbox(self.box_size)
        boxed, scales, paddings = zip(*(letterbox(photo) for photo in photos))
        # Rounded to whole pixel values, as the training stream feeds the localizer uint8 photos.
        outputs = self._predict(self.localizer, np.round(np.stack([b.numpy() for b in boxed])), batch_size)
        boxes = np.stack([cropping.from_letterbox(box, float(scale), padding.numpy(), photo.shape, self.box_size)
                          for box, scale, padding, photo in zip(outputs["box"], scales, paddings, photos)])
        return boxes, outputs["has_number"][:, 0]

    def _predict(self, model: keras.Model, inputs: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
        """Model calls in inference mode through one compiled graph per model (any batch size):
        no per-call `predict` set-up, no eager layer-by-layer execution for one photo."""

        if isinstance(model, lite.LiteModel):   # a TensorFlow Lite export: its interpreter takes any batch
            run = model
        else:
            # One graph per model and input size (the detector takes any size; one per pyramid level).
            key = (id(model), *inputs.shape[1:])
            if key not in self._graphs:
                spec = tf.TensorSpec([None, *inputs.shape[1:]], tf.float32)
                graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
                self._graphs[key] = lambda x: graph(tf.constant(x, tf.float32))
            run = self._graphs[key]
        chunks = [run(inputs[start:start + batch_size]) for start in range(0, len(inputs), batch_size)]
        return {name: np.concatenate([np.asarray(chunk[name]) for chunk in chunks]) for name in chunks[0]}

    def read_crops(self, photos: list[np.ndarray], boxes: np.ndarray, batch_size: int = 64
                   ) -> tuple[metrics.Decoded, list[tuple[float, ...]]]:
        """Read the number inside each tight `box`, cropped as the reader was trained (`self.crop`)."""
        crop = _graph_crop(self.crop.resize, self.crop.window)
        framed = [cropping.padded(photo, grown) if self.pad_edges else (photo, grown.astype(np.float32))
                  for photo, grown in zip(photos, box_tools.grown(np.asarray(boxes, np.float64), self.crop.grow))]
        inputs = np.stack([crop(photo, box).numpy() for photo, box in framed])
        outputs = self._predict(self.reader, inputs, batch_size)
        decoded = metrics.decode_multihead(outputs)
        return decoded, metrics.digit_confidences(outputs, decoded.rows)

    def calibrated(self, sources, numbers: list[str], shape_sources, shape_numbers: list[str], *,
                   precision: float = ReaderConfig.sure_precision, level: float = ReaderConfig.sure_level,
                   batch_size: int = 64) -> "NumberReader":
        """This reader with `min_confidence` set from photos read end to end, as the application reads them: the
        lowest confidence whose answers are right `precision` of the time with probability `level`
        (`metrics.sure_threshold`: the shape of confidence against correctness from the many
        `shape_sources`, its level on real photos from `sources`); the fit is kept in its `calibration`."""
        pairs = []
        for photos, truth in ((shape_sources, shape_numbers), (sources, numbers)):
            readings = self.read(photos, batch_size=batch_size)
            if len(readings) != len(truth):
                raise ValueError(f"calibrated needs one true number per photo, got {len(truth)} for {len(readings)} photos.")
            answered = [(r.confidence, r.number == t) for r, t in zip(readings, truth) if r.number]   # never sure: ""
            pairs.append((np.array([c for c, _ in answered]), np.array([right for _, right in answered])))
        threshold, calibration = metrics.sure_threshold(*pairs, precision, level)
        return self.with_thresholds(min_confidence=threshold, calibration=calibration)

    def read(self, sources, *, boxes: np.ndarray | None = None, batch_size: int = 64) -> list[Reading]:
        """Read every photo (paths, bytes, arrays or PIL images): its likeliest number. `boxes` skips finding it.

        With a detector, the first reading of `read_all`. With the localizer alone, the number is read inside the box of
        every localizer pass, and of the last one rescaled by each of `scales`, and the most
        confident reading wins (a box that cuts a digit or takes in a neighbour reads with less
        confidence). With `whole_photo`, the whole photo is one more candidate box (for photos cropped
        to the number itself). Photos where the localizer sees no number come
        back with number "" (never a made-up "1"). Each photo's answer is the same alone or in a batch.
        """
        if boxes is None and self.detector is not None:
            return [found[0] for found in self.read_all(sources, batch_size=batch_size)]
        return self._read_located([images.open_photo(source) for source in _as_list(sources)], boxes, batch_size)

    def _read_located(self, opened: list[images.Photo], boxes: np.ndarray | None, batch_size: int) -> list[Reading]:
        """`read` on opened photos with the localizer's boxes (or the `boxes` given)."""
        photos = [photo.pixels for photo in opened]
        if not photos:
            return []
        if boxes is None:
            candidates, presence = self.locate_passes(photos, batch_size)
            candidates += [np.stack([np.clip(box, 0, [*photo.shape[:2]] * 2) for box, photo in
                                     zip(box_tools.scaled(candidates[-1], scale), photos)]) for scale in self.scales]
            if self.whole_photo:
                candidates.append(whole_photo_boxes(photos, self.crop.grow))
        else:
            candidates, presence = [np.asarray(boxes, np.float64).reshape(len(photos), 4)], np.ones(len(photos))
        readings_per_box = [self.read_crops(photos, found, batch_size) for found in candidates]
        best = np.argmax([decoded.confidence for decoded, _ in readings_per_box], axis=0)
        found = np.stack([candidates[k][i] for i, k in enumerate(best)])
        decoded = metrics.Decoded(np.stack([readings_per_box[k][0].rows[i] for i, k in enumerate(best)]),
                                  np.array([readings_per_box[k][0].confidence[i] for i, k in enumerate(best)]))
        confidences = [readings_per_box[k][1][i] for i, k in enumerate(best)]
        # How many of the boxes read the winning number: a reading that changes from box to box is shaky
        # even when one box's reading is confident (experiments/real_photos.py --agreement scores a rule on it).
        agreement = np.mean([(read.rows == decoded.rows).all(1) for read, _ in readings_per_box], axis=0)
        readings = []
        for index in range(len(photos)):
            seen = presence[index] >= self.min_presence and decoded.rows[index, 0] > 0
            number = metrics.number_string(decoded.rows[index]) if seen else ""
            readings.append(Reading(
                number=number, digit_confidences=confidences[index] if seen else (),
                confidence=float(decoded.confidence[index]) if seen else 0.0,
                has_number=float(presence[index]),
                # Photos over images.MAX_SIDE were read shrunk: the box goes back to the photo's own pixels.
                box=opened[index].to_photo_pixels(found[index]) if seen else None,
                image_size=opened[index].size,
                confident=bool(seen and decoded.confidence[index] >= self.min_confidence),
                agreement=float(agreement[index])))
        return readings

    def read_all(self, sources, *, batch_size: int = 64) -> list[list[Reading]]:
        """Every number the digit detector finds in each photo, read in its box: per photo a list, the
        most likely number first (detector score times reading confidence); one "no number" reading
        where none is found. The box of each number is read at scale 1 and each of `scales`; the most
        confident reading of a number wins. With a localizer, its reading (whole photo among its candidates)
        comes first where the number fills the photo (`_first_located`); without one, `whole_photo` reads a
        photo in which the detector finds nothing whole (a photo that is all number)."""
        if self.detector is None:
            raise ValueError("read_all needs a digit detector; this reader has a localizer (use read()).")
        opened = [images.open_photo(source) for source in _as_list(sources)]
        if not opened:
            return []
        found = self._read_detected(opened, batch_size)
        if self.localizer is None:
            return found
        located = self._read_located(opened, None, batch_size)
        return [self._first_located(listed, seen, self.min_found) for listed, seen in zip(found, located)]

    def _first_located(self, found: list[Reading], located: Reading, min_found: float) -> list[Reading]:
        """One photo's numbers from the detector's list (`found`) and the localizer's reading (`located`).

        Where the number fills the photo, the whole-photo localizer's box reads better (real validation):
        its reading comes first, and the detector's numbers elsewhere in the photo follow. Where the
        localizer sees no number, a detector's number needs a mean digit score of `min_found` (the
        detector alone takes wall texture for digits in scenes without a number), and the photo is never
        read whole (it would always read as something).
        """
        need = self.min_presence if located.number else min_found
        kept = [r for r in found if r.number and r.has_number >= need and r.box is not None and r.has_number > 0]
        first = kept[0] if kept else None
        small = first is not None and first.box[2] - first.box[0] <= self.route * first.image_size[0]
        if located.number and not small:
            return [located, *[r for r in kept if box_tools.iou(np.array(r.box), np.array(located.box)) < 0.3]]
        return kept or [replace(located, number="", digit_confidences=(), confidence=0.0, box=None, confident=False,
                                has_number=max([located.has_number, *(r.has_number for r in found)]))]

    def min_found_chosen(self, sources, numbers: list[str], grid: tuple[float, ...] = ReaderConfig.found_scores, *,
                         batch_size: int = 64) -> "NumberReader":
        """This reader with `min_found` set to the detector score, of `grid`, whose first readings are right most
        often on these photos (validation photos with numbers and scenes without, number ""; the mean of the two
        groups' accuracies, so neither outweighs the other by its count); ties go to the lowest. Every score's
        accuracy is kept in its `found_sweep`."""
        if self.detector is None or self.localizer is None or not grid:
            raise ValueError("min_found_chosen needs a reader with a detector and a localizer, and a grid of scores.")
        opened = [images.open_photo(source) for source in _as_list(sources)]
        if len(opened) != len(numbers):
            raise ValueError(f"min_found_chosen needs one true number per photo, got {len(numbers)} for {len(opened)}.")
        found = self._read_detected(opened, batch_size, least=min(self.min_presence, *grid))   # all `_first_located` may keep
        located = self._read_located(opened, None, batch_size)
        groups = [np.array([bool(truth) == has for truth in numbers]) for has in (True, False)]   # numbers, empty scenes

        def accuracy(score: float) -> float:    # each group weighs the same, however many photos it has
            right = np.array([self._first_located(f, l, score)[0].number == truth
                              for f, l, truth in zip(found, located, numbers)])
            return float(np.mean([right[group].mean() for group in groups if group.any()]))

        sweep = {str(score): accuracy(score) for score in grid}
        return self.with_thresholds(min_found=max(grid, key=lambda score: (sweep[str(score)], -score)), found_sweep=sweep)

    def _read_detected(self, opened: list[images.Photo], batch_size: int, least: float | None = None
                       ) -> list[list[Reading]]:
        """`read_all` with the detector alone: the numbers scoring `least` or more (default: the lower of
        `min_presence` and `min_found`, since `_first_located` may ask for more)."""
        photos = [photo.pixels for photo in opened]
        found = detection.detect(self.detector, photos, self.spec, predict=self._predict)
        least = min(self.min_presence, self.min_found) if least is None else least
        numbers = [[n for n in numbers if n.score >= least] for numbers in found]
        owners, candidates = [], []           # (photo, number) of each candidate box
        for index, (photo, listed) in enumerate(zip(photos, numbers)):
            limits = [*photo.shape[:2]] * 2
            # With a localizer, its own reading covers the whole photo (`_first_located`): not read twice.
            boxes_here = [n.box for n in listed] or ([whole_photo_boxes([photo], self.crop.grow)[0]]
                                                     if self.whole_photo and self.localizer is None else [])
            for k, box in enumerate(boxes_here):
                for scale in (1.0, *self.scales):
                    owners.append((index, k))
                    candidates.append(np.clip(box_tools.scaled(box, scale), 0, limits))
        results: list[list[Reading]] = [[] for _ in photos]
        if candidates:
            decoded, confidences = self.read_crops([photos[i] for i, _ in owners], np.stack(candidates), batch_size)
            best: dict[tuple[int, int], int] = {}
            for row, owner in enumerate(owners):
                if owner not in best or decoded.confidence[row] > decoded.confidence[best[owner]]:
                    best[owner] = row
            for (index, k), row in best.items():
                score = numbers[index][k].score if numbers[index] else 0.0
                length = int(decoded.rows[row, 0])
                if length <= 0:
                    continue
                results[index].append(Reading(
                    number=metrics.number_string(decoded.rows[row]), digit_confidences=confidences[row],
                    confidence=float(decoded.confidence[row]), has_number=float(score),
                    box=opened[index].to_photo_pixels(candidates[row]), image_size=opened[index].size,
                    confident=bool(decoded.confidence[row] >= self.min_confidence)))
        for index, listed in enumerate(results):
            listed.sort(key=lambda r: -r.confidence * max(r.has_number, 1e-3))
            if not listed:
                listed.append(Reading(number="", digit_confidences=(), confidence=0.0,
                                      has_number=max((n.score for n in found[index]), default=0.0), box=None,
                                      image_size=opened[index].size, confident=False))
        return results


def whole_photo_boxes(photos: list[np.ndarray], margin: float = cropping.CROP.grow) -> np.ndarray:
    """Tight boxes that, grown by the reader's 30%, span each whole photo (Step 3 without a localizer)."""
    whole = np.array([[0, 0, *photo.shape[:2]] for photo in photos], np.float64)
    return box_tools.scaled(whole, 1 / (1 + margin))


@functools.lru_cache(maxsize=None)
def _graph_letterbox(size: int):
    """`cropping.letterbox` as one compiled TensorFlow graph: one call per photo, not ~20 eager ops."""

    return tf.function(lambda photo: cropping.letterbox(photo, size),
                       input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])


@functools.lru_cache(maxsize=None)
def _graph_crop(resize: int, crop: int):
    """`cropping.crop_number` (the training crop) as one compiled graph."""

    return tf.function(lambda photo, box: cropping.crop_number(photo, box, resize=resize, crop=crop),
                       input_signature=[tf.TensorSpec([None, None, 3], tf.uint8), tf.TensorSpec([4], tf.float32)])


def _as_list(sources) -> list:
    """One source or a list/tuple of them -> a list (a lone array or path is one photo)."""
    return list(sources) if isinstance(sources, (list, tuple)) else [sources]
