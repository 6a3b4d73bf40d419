"""The readers a user would try instead of this one, scored on the same real photos.

    from helpers.datasets import real_photos
    from helpers.report import peers
    figures = peers.score("rapidocr", real_photos.svhn_real("validation"), in_box=True)

- Tesseract 5 (Debian's `tesseract-ocr`): one text line, digits only, 4x upscale (`real_photos`).
- RapidOCR (`rapidocr-onnxruntime`, PP-OCRv4's ONNX models inside the wheel, offline): its
  recognizer alone inside a box, and its own detector + recognizer on the whole photo, where the
  most confident text line with digits is its answer.
Both run offline; `available()` says which are installed. Digits are kept, other characters dropped.
"""
from __future__ import annotations

import functools
import os
import time

import numpy as np

from helpers.core import boxes, cropping
from helpers.datasets import real_photos
from helpers.modeling import metrics

PEERS = ("tesseract", "rapidocr")
BOX_MARGIN = cropping.CROP.grow   # inside a true box, peers see the same crop as the reader: the box grown by 30%


def available(name: str) -> bool:
    """Whether a peer is installed here."""
    if name == "tesseract":
        return real_photos.tesseract_available()
    if name == "rapidocr":
        try:
            import rapidocr_onnxruntime  # noqa: F401
        except ImportError:
            return False
        return True
    raise ValueError(f"unknown peer {name!r}; choose one of {', '.join(PEERS)}.")


@functools.lru_cache(maxsize=1)
def _rapidocr():
    """One RapidOCR engine (its ONNX sessions take a second or two to open)."""
    # onnxruntime otherwise tries to send usage data; this machine is offline, and a user may not want it.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def digits_of(text: str) -> str:
    """The digits of a text, in order ("No. 12a" -> "12")."""
    return "".join(ch for ch in text if ch.isdigit())


def rapidocr_read(photo: np.ndarray, *, detect: bool) -> str:
    """RapidOCR's digits: recognizer alone on the photo (`detect=False`, a crop of one text line), or
    detector + recognizer, answering with the most confident line that holds digits."""
    bgr = np.ascontiguousarray(photo[..., ::-1])      # OpenCV's channel order
    if not detect:
        found, _ = _rapidocr()(bgr, use_det=False, use_cls=False, use_rec=True)
        return digits_of(found[0][0]) if found else ""
    found, _ = _rapidocr()(bgr)
    lines = [(digits_of(text), float(score)) for _, text, score in (found or []) if digits_of(text)]
    return max(lines, key=lambda line: line[1])[0] if lines else ""


def in_box(photo: np.ndarray, box: np.ndarray, margin: float = BOX_MARGIN) -> np.ndarray:
    """The photo cropped to a (top, left, bottom, right) box grown by `margin`, within the photo."""
    top, left, bottom, right = boxes.grown(box, margin)
    rows = slice(max(int(top), 0), max(int(np.ceil(bottom)), int(top) + 1))
    columns = slice(max(int(left), 0), max(int(np.ceil(right)), int(left) + 1))
    return photo[rows, columns]


def read(name: str, photo: np.ndarray, *, whole_photo: bool) -> str:
    """One peer's digits for one photo (a crop around the number, or the whole photo)."""
    if name == "tesseract":
        return real_photos.tesseract_read(photo)
    if name == "rapidocr":
        return rapidocr_read(photo, detect=whole_photo)
    raise ValueError(f"unknown peer {name!r}; choose one of {', '.join(PEERS)}.")


def score(name: str, photos: real_photos.LabelledPhotos, *, in_true_box: bool) -> dict | None:
    """Whole-number accuracy and seconds per photo of one peer (None where it is not installed).

    `in_true_box` reads inside each photo's true box grown by 30% (as the reader's true-box figure
    does; photos without boxes, such as Chars74K's crops, are their box); else the peer gets the
    whole photo, as a user would give it, and finds the number itself."""
    if not available(name):
        return None
    start, answers = time.perf_counter(), []
    for index, photo in enumerate(photos.photos):
        view = in_box(photo, photos.boxes[index]) if in_true_box and photos.boxes is not None else photo
        answers.append(read(name, view, whole_photo=not in_true_box))
    right = [a == t for a, t in zip(answers, photos.numbers)]
    return {"accuracy": float(np.mean(right)), "seconds_per_photo": (time.perf_counter() - start) / max(len(photos), 1),
            "count": len(photos), "_right": right}   # "_right": per photo, to pair with this reader; not recorded


def paired_score(score: dict, mine: np.ndarray | None) -> dict:
    """`score` without its per-photo rights, plus its difference from this reader's rights `mine` on the same photos
    ("against_reader": difference and 95% margin, paired) where `mine` is given."""
    paired = {key: value for key, value in score.items() if key != "_right"}
    if mine is not None:
        difference = metrics.paired_difference(np.asarray(score["_right"], bool), mine)
        paired["against_reader"] = dict(zip(("difference", "margin"), difference))
    return paired


def evaluate(sets: list[real_photos.LabelledPhotos], names: tuple[str, ...] = PEERS) -> dict:
    """{set name: {peer: {"true_box": score, "whole_photo": score}}} for metrics.json's `real.peers`
    (scores are None for a peer that is not installed)."""
    return {photos.name: {name: {"true_box": score(name, photos, in_true_box=True),
                                 "whole_photo": score(name, photos, in_true_box=False)} for name in names}
            for photos in sets if photos is not None}
