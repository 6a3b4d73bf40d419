"""The real-photo yardstick: photographed digits and house numbers that no model here was trained on.

    from helpers.app import reader
    from helpers.datasets import real_photos
    figures = real_photos.evaluate(reader.NumberReader.load())

Two sets from the data folder, used for measuring only (never for training or thresholds):
`chars74k-digits/` (593 digits cut from street-scene photos, one folder per digit) and the nine
photos of the real SVHN sample (`svhn-sample/`). Tesseract, the OCR a user would try first, is
scored beside the reader on both, with the settings in `TESSERACT_ARGS`.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.core import cropping, images, paths
from helpers.core.boxes import around
from helpers.datasets import crops
from helpers.modeling import metrics

CHARS74K = "chars74k-digits"
SVHN_SAMPLE = "svhn-sample"
SVHN_REAL = "svhn-real"
# Real SVHN train photos 201-256 are kept for choices, checkpoints and thresholds; 1-200 may be trained on.
# test/ (1-128) is read once by each reader, after its last choice, for the report's real figures.
SVHN_REAL_VALIDATION_FROM = 201
SVHN_REAL_PARTS = ("train", "validation", "test")
# One line of text, digits only; photos upscaled 4x first (Tesseract wants glyphs 20+ px tall).
TESSERACT_ARGS = ("--psm", "7", "-c", "tessedit_char_whitelist=0123456789")
TESSERACT_UPSCALE = 4


@dataclass(frozen=True)
class LabelledPhotos:
    """Real photos with their true numbers (and true number boxes where known)."""

    name: str
    paths: list[Path]
    photos: list[np.ndarray]
    numbers: list[str]
    boxes: np.ndarray | None = None     # (n, 4) top, left, bottom, right of the number, pixels

    def __len__(self) -> int:
        return len(self.paths)


def _chars74k_files(data_dir: Path | None) -> list[tuple[Path, str]] | None:
    """Chars74K's image files with their digits, or None when the folder is not there."""
    root = Path(data_dir or paths.data_dir()) / CHARS74K
    if not root.is_dir():
        return None
    found = [(path, str(digit)) for digit in range(10) for path in sorted((root / str(digit)).glob("*"))
             if path.suffix.lower() in images.IMAGE_SUFFIXES]
    if not found:
        raise FileNotFoundError(f"{root} has no images in its digit folders 0/ ... 9/.")
    return found


def chars74k_count(data_dir: Path | None = None) -> int | None:
    """How many Chars74K digits the data folder holds (None: not there), without loading them."""
    found = _chars74k_files(data_dir)
    return None if found is None else len(found)


def chars74k_digits(data_dir: Path | None = None) -> LabelledPhotos | None:
    """Chars74K's photographed digits (folders 0-9), or None when the folder is not there."""
    found = _chars74k_files(data_dir)
    if found is None:
        return None
    return LabelledPhotos("chars74k", [p for p, _ in found], [images.load_image(p) for p, _ in found],
                          [digit for _, digit in found])


def svhn_sample(data_dir: Path | None = None) -> LabelledPhotos | None:
    """The photos of the real SVHN sample that are on disk, with their labels and number boxes."""
    root = Path(data_dir or paths.data_dir()) / SVHN_SAMPLE
    folders = [root / split for split in ("train", "test", "extra") if (root / split / "digitStruct.mat").exists()]
    if not folders:
        return None
    return _labelled("svhn_sample", crops.photos_on_disk(folders))


def svhn_real_table(part: str, data_dir: Path | None = None) -> crops.NumberTable | None:
    """The rows of one part of `svhn-real/`, in photo order: "train" (train 1-200, may be trained on),
    "validation" (train 201-256, for choices) or "test" (test 1-128, the final figure only); None
    when the folder is not there."""
    if part not in SVHN_REAL_PARTS:
        raise ValueError(f"part must be one of {', '.join(SVHN_REAL_PARTS)}, got {part!r}.")
    folder = Path(data_dir or paths.data_dir()) / SVHN_REAL / ("test" if part == "test" else "train")
    if not (folder / "digitStruct.mat").exists():
        return None
    table = crops.photos_on_disk([folder])
    numbers = np.array([int(Path(p).stem) for p in table.paths])
    keep = np.ones(len(numbers), bool) if part == "test" else \
        (numbers >= SVHN_REAL_VALIDATION_FROM) if part == "validation" else (numbers < SVHN_REAL_VALIDATION_FROM)
    rows = np.flatnonzero(keep)[np.argsort(numbers[keep], kind="stable")]     # 1.png, 2.png, ... in order
    return crops.NumberTable(table.paths[rows], table.boxes[rows], table.labels[rows], table.union[rows], 0)


def svhn_real(part: str, data_dir: Path | None = None) -> LabelledPhotos | None:
    """The photos of one part of `svhn-real/` (see `svhn_real_table`) with numbers and true boxes."""
    table = svhn_real_table(part, data_dir)
    return None if table is None else _labelled(f"svhn_{part}", table)


def _labelled(name: str, table: crops.NumberTable) -> LabelledPhotos:
    """A number table's photos, loaded, with their numbers and union boxes."""
    return LabelledPhotos(name, [Path(p) for p in table.paths], [images.load_image(p) for p in table.paths],
                          [metrics.number_string(row) for row in table.labels], table.union.astype(np.float64))


def svhn_scores(number_reader, photos: LabelledPhotos) -> tuple[dict, list, list]:
    """Whole-number figures on real SVHN photos: end to end (the app's path) and inside the true box,
    sure answers' share and precision end to end, mean IoU of the box found, and accuracy by length.
    Returns (figures, end-to-end readings, true-box readings)."""
    end_to_end = number_reader.read(photos.photos)
    true_box = read_in_boxes(number_reader, photos.photos, photos.boxes)
    path_scores = metrics.score_readings(end_to_end, photos.numbers, photos.boxes)
    box_scores = metrics.score_readings(true_box, photos.numbers)
    lengths = np.array([len(number) for number in photos.numbers])
    right, right_in_box = path_scores["_right"], box_scores["_right"]
    figures = {
        "count": len(photos), "end_to_end_accuracy": path_scores["accuracy"],
        "true_box_accuracy": box_scores["accuracy"],
        **{key: path_scores[key] for key in ("confident_share", "confident_precision", "confident_precision_lower_95",
                                             "mean_iou", "iou_at_least_0.5",
                                             "lost_no_box", "lost_loose_box", "lost_good_box")},
        "by_length": {str(n): {"count": int((lengths == n).sum()), "end_to_end_accuracy": float(right[lengths == n].mean()),
                               "true_box_accuracy": float(right_in_box[lengths == n].mean())}
                      for n in sorted(set(lengths.tolist()))}}
    return figures, end_to_end, true_box


def framed(photo: np.ndarray, margin: float = cropping.CROP.grow) -> tuple[np.ndarray, np.ndarray]:
    """A tight crop padded by `margin` of its size (edge pixels repeated), and its box in the result.

    The reader's training crops take the number's box grown by 30%; a crop that is already tight
    has no pixels for that margin, so they are continued from its edges rather than cut off.
    """
    height, width = photo.shape[:2]
    pad_y, pad_x = int(np.ceil(height * margin / 2)), int(np.ceil(width * margin / 2))
    padded = np.pad(photo, ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="edge")
    return padded, np.array([pad_y, pad_x, pad_y + height, pad_x + width], np.float64)


FRAMING_MARGINS = (0.0, 0.1, 0.3, 0.6, 1.0)   # room left around the number, in number heights


def cut_around(photo: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    """The photo cut to the number's box grown by `margin` of its height on every side (within the photo):
    0 leaves the digits touching the edges, 1.0 a number a third of the cut's height."""
    top, left, bottom, right = around(box, margin, photo.shape)
    return photo[top:bottom, left:right]


def framing_scores(number_reader, photos: "LabelledPhotos", margins=FRAMING_MARGINS) -> dict[str, float]:
    """Whole-number accuracy end to end on the photos cut around their number at each margin."""
    scores = {}
    for margin in margins:
        cut = [cut_around(photo, box, margin) for photo, box in zip(photos.photos, photos.boxes)]
        scores[f"{margin:g}"] = metrics.score_readings(number_reader.read(cut), photos.numbers)["accuracy"]
    return scores


def read_in_boxes(number_reader, photos: list[np.ndarray], boxes: np.ndarray | None = None) -> list:
    """Readings inside known boxes; with `boxes=None` each photo is a tight crop (see `framed`)."""
    if boxes is None:
        photos, boxes = zip(*(framed(photo) for photo in photos))
    return number_reader.read(list(photos), boxes=np.stack(boxes))


def reader_figures(svhn_test: dict, real: dict) -> dict[str, dict[str, float]]:
    """This reader's accuracies in the true box and on the whole photo, per real set, as the peers table lists
    them: the real SVHN test photos' (`svhn_scores` figures) and, when read, Chars74K's (`evaluate`)."""
    figures = {"svhn_test": {"true_box": svhn_test["true_box_accuracy"], "whole_photo": svhn_test["end_to_end_accuracy"]}}
    if "chars74k" in real:
        figures["chars74k"] = {"true_box": real["chars74k"]["accuracy"],
                               "whole_photo": real["chars74k"]["end_to_end_accuracy"]}
    return figures


def answers_right(readings: list, numbers: list[str]) -> np.ndarray:
    """Per photo, whether the reading's number is the true one."""
    return np.array([r.number == truth for r, truth in zip(readings, numbers)])


def true_box_right(number_reader, photos: "LabelledPhotos") -> np.ndarray:
    """Per labelled photo, whether `number_reader` reads its whole number inside the true box."""
    return answers_right(read_in_boxes(number_reader, photos.photos, photos.boxes), photos.numbers)


def true_box_accuracy(number_reader, photos: "LabelledPhotos") -> float:
    """Share of labelled photos whose whole number `number_reader` reads inside the true box."""
    return float(true_box_right(number_reader, photos).mean())


def single_digit_answers(readings: list, truth: list[str]) -> np.ndarray:
    """(10, 12) counts of single-digit photos: true digit by answer (0-9, 10 = another answer, 11 = no number)."""
    matrix = np.zeros((10, 12), np.int64)
    for reading, digit in zip(readings, truth):
        answer = 11 if not reading.number else int(reading.number) if len(reading.number) == 1 else 10
        matrix[int(digit), answer] += 1
    return matrix


def tesseract_available() -> bool:
    """Whether the `tesseract` command is installed (Debian's tesseract-ocr)."""
    return shutil.which("tesseract") is not None


def tesseract_read(photo: np.ndarray, upscale: int = TESSERACT_UPSCALE, timeout: float = 30.0) -> str:
    """The digits Tesseract reads in one photo (one text line, digits only, upscaled first)."""
    image = Image.fromarray(photo).convert("L")
    image = image.resize((image.width * upscale, image.height * upscale), Image.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    # One thread per call: the calls themselves run two at a time.
    result = subprocess.run(["tesseract", "stdin", "stdout", *TESSERACT_ARGS], input=buffer.getvalue(),
                            capture_output=True, timeout=timeout, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"tesseract failed: {result.stderr.decode(errors='replace').strip()}")
    return "".join(ch for ch in result.stdout.decode(errors="replace") if ch.isdigit())


def tesseract_accuracy(photos: list[np.ndarray], truth: list[str], workers: int = 2) -> float | None:
    """Share of photos Tesseract reads exactly right, or None without Tesseract."""
    if not tesseract_available():
        return None
    with ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(tesseract_read, photos))
    return float(np.mean([a == t for a, t in zip(answers, truth)]))


def evaluate(number_reader, data_dir: Path | None = None, *, tesseract: bool = True, sample: bool = True) -> dict:
    """Every yardstick figure for one end-to-end reader (missing sets are left out of the result).

    chars74k: inside each crop (framed as in training) and through the localizer, the app's path;
    svhn_sample: end to end and inside the annotated boxes. Readings are returned under "_readings"
    for figures; `results.update` callers should drop that key. `sample=False` leaves the SVHN sample
    out (its photos are svhn-real's train 1-3 and test 1-3: trained on, or part of the final test).
    """
    figures: dict = {"_readings": {}}
    digits = chars74k_digits(data_dir)
    if digits is not None:
        in_crop = read_in_boxes(number_reader, digits.photos)
        end_to_end = number_reader.read(digits.photos)
        crop_scores = metrics.score_readings(in_crop, digits.numbers)
        path_scores = metrics.score_readings(end_to_end, digits.numbers)
        figures["chars74k"] = {
            "count": len(digits), "accuracy": crop_scores["accuracy"],
            "in_crop_confident_precision": crop_scores["confident_precision"],
            "in_crop_by_status": crop_scores["by_status"],
            "end_to_end_accuracy": path_scores["accuracy"],
            "confident_precision": path_scores["confident_precision"],
            "confident_share": path_scores["confident_share"], "by_status": path_scores["by_status"],
            "tesseract_accuracy": tesseract_accuracy(digits.photos, digits.numbers) if tesseract else None}
        figures["_readings"]["chars74k"] = (digits, in_crop, end_to_end)
    sample = svhn_sample(data_dir) if sample else None
    if sample is not None:
        end_to_end = number_reader.read(sample.photos)
        true_box = read_in_boxes(number_reader, sample.photos, sample.boxes)
        tesseract_right = tesseract_accuracy(sample.photos, sample.numbers) if tesseract else None
        figures["svhn_sample"] = {
            "count": len(sample), "end_to_end_correct": sum(r.number == t for r, t in zip(end_to_end, sample.numbers)),
            "true_box_correct": sum(r.number == t for r, t in zip(true_box, sample.numbers)),
            "confident_wrong": sum(r.status == "read" and r.number != t for r, t in zip(end_to_end, sample.numbers)),
            "tesseract_correct": None if tesseract_right is None else round(tesseract_right * len(sample))}
        figures["_readings"]["svhn_sample"] = (sample, true_box, end_to_end)
    return figures
