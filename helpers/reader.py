"""Read the house number in any photo: find it (Step 4's localizer), crop it, read it (Step 2's reader).

    from helpers import reader
    number_reader = reader.NumberReader.load()          # the released models in models/
    for reading in number_reader.read(["photo.jpg", "door.png"]):
        print(reading.number, reading.confidence, reading.box, reading.status)

Every photo goes through `images.open_photo` (any size or mode, EXIF orientation applied; photos
over 2048 pixels a side are read shrunk), and the box comes back in the pixels of the photo itself,
upright, as a viewer shows it.
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

import helpers

helpers.import_tensorflow_quietly()   # before Keras: TensorFlow's start-up lines would reach the user's terminal
import keras  # noqa: E402

from helpers import boxes as box_tools, crops, images, lite, localization, metrics, paths  # noqa: E402
from helpers.model_files import (LOCALIZER_FILE, READER_FILE, RUNTIMES, SETTINGS_FILE,  # noqa: E402,F401
                                 check_models, lite_file, model_files)


@dataclass(frozen=True)
class Reading:
    """What the reader says about one photo."""

    number: str                              # the digits read, "" when it sees no number
    digit_confidences: tuple[float, ...]     # probability of each digit read, left to right
    confidence: float                        # probability of the whole answer (length and all digits)
    has_number: float                        # the localizer's probability that a number is there at all
    box: tuple[float, float, float, float] | None   # (top, left, bottom, right) in the photo's own pixels
    image_size: tuple[int, int]              # (height, width) of the photo itself (upright), whatever its size
    confident: bool                          # False: the answer should be checked by a person
    agreement: float = 1.0                   # share of the candidate boxes whose reading is this same number

    @property
    def status(self) -> str:
        """"read", "unsure" (a number, but a doubtful reading) or "no number"."""
        return "no number" if not self.number else "read" if self.confident else "unsure"

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (for the app's --json output and the web page)."""
        return {**asdict(self), "status": self.status}


def digit_confidences(outputs: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple[float, ...]]:
    """Probability the digit heads gave each digit of the decoded rows."""
    result = []
    for index, row in enumerate(rows):
        length = max(int(row[0]), 0)
        result.append(tuple(float(outputs[f"digit_{p + 1}"][index, row[p + 1]]) for p in range(length)))
    return result


class NumberReader:
    """The end-to-end reader: localizer (optional) + crop + multi-digit reader + thresholds."""

    def __init__(self, reader: keras.Model | lite.LiteModel, localizer: keras.Model | lite.LiteModel | None = None, *,
                 min_confidence: float = 0.5, min_presence: float = 0.5, refine: int = 1,
                 scales: tuple[float, ...] = (), whole_photo: bool = False,
                 crop: crops.CropSpec | None = None) -> None:
        if not 0 <= min_confidence <= 1 or not 0 <= min_presence <= 1:
            raise ValueError("min_confidence and min_presence are probabilities between 0 and 1.")
        if refine < 0:
            raise ValueError(f"refine is a number of extra localizer passes (0 or more), got {refine}.")
        self.reader, self.localizer = reader, localizer
        self.min_confidence, self.min_presence = float(min_confidence), float(min_presence)
        self.refine = int(refine)
        if any(scale <= 0 for scale in scales):
            raise ValueError(f"box scales must be positive, got {scales}.")
        self.scales = tuple(float(scale) for scale in scales)
        self.whole_photo = bool(whole_photo)
        self._graphs: dict[int, object] = {}
        self.crop_size = int(reader.input_shape[1])
        # The crop the reader was trained on; without one, the training crop scaled to the reader's input.
        self.crop = crop or replace(crops.CROP, window=self.crop_size,
                                                resize=crops.CROP.resize * self.crop_size // crops.CROP.window)
        if self.crop.window != self.crop_size:
            raise ValueError(f"the crop's window ({self.crop.window} px) is not the reader's input ({self.crop_size} px).")
        self.box_size = int(localizer.input_shape[1]) if localizer is not None else localization.INPUT_SIZE

    @classmethod
    def load(cls, folder: Path | None = None, *, runtime: str = "keras") -> "NumberReader":
        """Load the saved models and thresholds (default: `paths.models_dir()`, the released models).

        `runtime="tflite-float32"` or `"tflite-float16"` runs the same pipeline on the TensorFlow
        Lite exports that `python -m helpers.export` writes beside them.
        """
        folder = Path(folder or paths.models_dir())
        files = model_files(runtime)
        check_models(folder, runtime)
        settings = json.loads((folder / SETTINGS_FILE).read_text())
        if runtime == "keras":
            models = [keras.models.load_model(folder / name, compile=False) for name in files]
        else:
            models = [lite.LiteModel.load(folder / name) for name in files]
        return cls(*models, min_confidence=settings["min_confidence"], min_presence=settings["min_presence"],
                   refine=settings.get("refine", 1), scales=tuple(settings.get("scales", ())),
                   whole_photo=settings.get("whole_photo", False),
                   crop=crops.CropSpec(**settings["crop"]) if "crop" in settings else None)

    def save(self, folder: Path | None = None) -> Path:
        """Save both models (without optimizer state) and the thresholds, loadable with `NumberReader.load`."""
        if self.localizer is None or isinstance(self.reader, lite.LiteModel):
            raise ValueError("only a Keras reader with a localizer can be saved for the application.")
        folder = Path(folder or paths.models_dir())
        for model, name in ((self.reader, READER_FILE), (self.localizer, LOCALIZER_FILE)):
            save_for_inference(model, folder / name)
        (folder / SETTINGS_FILE).write_text(json.dumps(
            {"min_confidence": self.min_confidence, "min_presence": self.min_presence, "refine": self.refine,
             "scales": list(self.scales), "whole_photo": self.whole_photo,
             "crop": asdict(self.crop)},
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
            windows = np.stack([_window(box_tools.grown(box, 0.6), photo.shape) for box, photo in zip(boxes, photos)])
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
        boxes = np.stack([localization.from_letterbox(box, float(scale), padding.numpy(), photo.shape, self.box_size)
                          for box, scale, padding, photo in zip(outputs["box"], scales, paddings, photos)])
        return boxes, outputs["has_number"][:, 0]

    def _predict(self, model: keras.Model, inputs: np.ndarray, batch_size: int) -> dict[str, np.ndarray]:
        """Model calls in inference mode through one compiled graph per model (any batch size):
        no per-call `predict` set-up, no eager layer-by-layer execution for one photo."""
        import tensorflow as tf

        if isinstance(model, lite.LiteModel):   # a TensorFlow Lite export: its interpreter takes any batch
            run = model
        else:
            if id(model) not in self._graphs:
                spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
                graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
                self._graphs[id(model)] = lambda x: graph(tf.constant(x, tf.float32))
            run = self._graphs[id(model)]
        chunks = [run(inputs[start:start + batch_size]) for start in range(0, len(inputs), batch_size)]
        return {name: np.concatenate([np.asarray(chunk[name]) for chunk in chunks]) for name in chunks[0]}

    def read_crops(self, photos: list[np.ndarray], boxes: np.ndarray, batch_size: int = 64
                   ) -> tuple[metrics.Decoded, list[tuple[float, ...]]]:
        """Read the number inside each tight `box`, cropped as the reader was trained (`self.crop`)."""
        crop = _graph_crop(self.crop.resize, self.crop.window)
        inputs = np.stack([crop(photo, box_tools.grown(box, self.crop.grow).astype(np.float32)).numpy()
                           for photo, box in zip(photos, boxes)])
        outputs = self._predict(self.reader, inputs, batch_size)
        decoded = metrics.decode_multihead(outputs)
        return decoded, digit_confidences(outputs, decoded.rows)

    def calibrate(self, sources, numbers: list[str], target: float = 0.98, batch_size: int = 64) -> float:
        """Set `min_confidence` so that `target` of the sure answers on these photos are right; returns it.

        Meant for validation photos read end to end, as the application reads them: a threshold
        set on true boxes is too lenient there (readings in a found box are confident more often
        than they are right).
        """
        readings = self.read(sources, batch_size=batch_size)
        if len(readings) != len(numbers):
            raise ValueError(f"calibrate needs one true number per photo, got {len(numbers)} for {len(readings)} photos.")
        right = np.array([r.number == number for r, number in zip(readings, numbers)])
        self.min_confidence = confidence_threshold(right, np.array([r.confidence for r in readings]), target)
        return self.min_confidence

    def read(self, sources, *, boxes: np.ndarray | None = None, batch_size: int = 64) -> list[Reading]:
        """Read every photo (paths, bytes, arrays or PIL images). `boxes` skips the localizer.

        With `boxes=None` the localizer finds each number; the number is read inside the box of
        every localizer pass, and of the last one rescaled by each of `scales`, and the most
        confident reading wins (a box that cuts a digit or takes in a neighbour reads with less
        confidence). With `whole_photo`, the whole photo is one more candidate box (for photos cropped
        to the number itself). Photos where the localizer sees no number come
        back with number "" (never a made-up "1"). Each photo's answer is the same alone or in a batch.
        """
        opened = [images.open_photo(source) for source in _as_list(sources)]
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


def save_for_inference(model: keras.Model, path: Path) -> Path:
    """Save `model` without its optimizer state (the released models' form); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _inference_copy(model).save(path)
    return path


def _inference_copy(model: keras.Model) -> keras.Model:
    """The model without its optimizer (a third of the file size with Adam's slots), same weights."""
    if getattr(model, "optimizer", None) is None:
        return model
    copy = type(model).from_config(model.get_config())    # uncompiled (keras.models.clone_model keeps the optimizer)
    copy.set_weights(model.get_weights())
    return copy


def _window(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Integer (top, left, bottom, right) inside the photo, at least 1 pixel each way."""
    top, left = (int(np.clip(np.floor(v), 0, limit - 1)) for v, limit in zip(box[:2], shape[:2]))
    bottom, right = (int(np.clip(np.ceil(v), start + 1, limit)) for v, start, limit in zip(box[2:], (top, left), shape[:2]))
    return np.array([top, left, bottom, right])


def whole_photo_boxes(photos: list[np.ndarray], margin: float = crops.CROP.grow) -> np.ndarray:
    """Tight boxes that, grown by the reader's 30%, span each whole photo (Step 3 without a localizer)."""
    whole = np.array([[0, 0, *photo.shape[:2]] for photo in photos], np.float64)
    return box_tools.scaled(whole, 1 / (1 + margin))


def confidence_threshold(correct: np.ndarray, confidence: np.ndarray, target: float = 0.98) -> float:
    """Lowest confidence that still keeps the answers above it `target` accurate (validation data)."""
    correct, confidence = np.asarray(correct, bool), np.asarray(confidence, np.float64)
    coverage = metrics.coverage_at_accuracy(correct, confidence, target)
    if coverage == 0:
        return 1.0
    kept = int(round(coverage * correct.size))
    return float(np.sort(confidence)[::-1][kept - 1])


@functools.lru_cache(maxsize=None)
def _graph_letterbox(size: int):
    """`localization.letterbox` as one compiled TensorFlow graph: one call per photo, not ~20 eager ops."""
    import tensorflow as tf

    return tf.function(lambda photo: localization.letterbox(photo, size),
                       input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])


@functools.lru_cache(maxsize=None)
def _graph_crop(resize: int, crop: int):
    """`crops.crop_number` (the training crop) as one compiled graph."""
    import tensorflow as tf

    return tf.function(lambda photo, box: crops.crop_number(photo, box, resize=resize, crop=crop),
                       input_signature=[tf.TensorSpec([None, None, 3], tf.uint8), tf.TensorSpec([4], tf.float32)])


def _as_list(sources) -> list:
    """One source or a list/tuple of them -> a list (a lone array or path is one photo)."""
    return list(sources) if isinstance(sources, (list, tuple)) else [sources]
