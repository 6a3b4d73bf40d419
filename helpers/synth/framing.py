"""How real SVHN photos frame their numbers, read from SVHN's published boxes (no images needed).

`<data folder>/svhn-annotations/svhn_{train,test}_annotations.csv` list every digit box of real
SVHN with its image's size. `frames(split)` turns them into one row per photo: how many digits,
the photo's size, where the number's box sits and how much of the photo it fills, and the digits'
width and spacing. The stand-in renderer samples a row per photo instead of hand-set ranges.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from helpers.core import paths

ANNOTATIONS = "svhn-annotations"
COLUMNS = ("name", "image_width", "image_height", "label", "top", "left", "height", "width")


@dataclass(frozen=True)
class Frame:
    """The framing of one real SVHN photo, in units of that photo."""

    length: int             # number of digits
    width: int              # photo size, pixels
    height: int
    fill: float             # height of the number's box / photo height
    centre_y: float         # centre of the number's box, 0-1 of the photo
    centre_x: float
    aspect: float           # number's box width / its height (pixels)
    gap: float              # mean space between neighbouring digit boxes / digit height (< 0: overlap)


def annotation_file(split: str, data_dir: Path | None = None) -> Path:
    """Where the real SVHN boxes of `split` ("train" or "test") live in the data folder."""
    return Path(data_dir or paths.data_dir()) / ANNOTATIONS / f"svhn_{split}_annotations.csv"


def parse_frames(path: Path, max_digits: int = 5) -> np.ndarray:
    """One row per photo of an annotation CSV (the `Frame` fields in order), numbers longer than `max_digits` left out."""
    photos: dict[str, list] = {}
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise ValueError(f"{path} does not look like an SVHN annotation file: expected the columns "
                             f"{','.join(COLUMNS)}, found {header}.")
        for line, row in enumerate(reader, start=2):
            try:
                values = [float(v) for v in row[1:]]
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from error
            if len(values) != 7 or values[0] <= 0 or values[1] <= 0 or values[5] <= 0 or values[6] <= 0:
                raise ValueError(f"{path}, line {line}: expected positive sizes, got {row}.")
            photos.setdefault(row[0], []).append(values)
    rows = []
    for values in photos.values():
        boxes = np.array(values)
        width, height = boxes[0, 0], boxes[0, 1]
        top, left, box_h, box_w = boxes[:, 3], boxes[:, 4], boxes[:, 5], boxes[:, 6]
        if len(boxes) > max_digits:
            continue
        union_top, union_bottom = top.min(), (top + box_h).max()
        union_left, union_right = left.min(), (left + box_w).max()
        gaps = (left[1:] - (left[:-1] + box_w[:-1])) / box_h.mean() if len(boxes) > 1 else np.zeros(1)
        rows.append([len(boxes), width, height, (union_bottom - union_top) / height,
                     (union_top + union_bottom) / 2 / height, (union_left + union_right) / 2 / width,
                     (union_right - union_left) / (union_bottom - union_top), gaps.mean()])
    return np.array(rows, np.float64).reshape(-1, 8)


@lru_cache(maxsize=4)
def frames(split: str, data_dir: str | None = None) -> np.ndarray | None:
    """All framings of real SVHN's `split` (cached), or None when the annotation files are not there."""
    path = annotation_file(split, Path(data_dir) if data_dir else None)
    return parse_frames(path) if path.exists() else None


def sample(rng: np.random.Generator, table: np.ndarray) -> Frame:
    """One real photo's framing, drawn uniformly from `table`; odd boxes clipped to sane ranges."""
    length, width, height, fill, centre_y, centre_x, aspect, gap = table[rng.integers(len(table))]
    return Frame(int(length), int(width), int(height), float(np.clip(fill, 0.2, 1.0)),
                 float(np.clip(centre_y, 0.2, 0.8)), float(np.clip(centre_x, 0.15, 0.85)),
                 float(np.clip(aspect, 0.2, 6.0)), float(np.clip(gap, -0.3, 0.5)))
