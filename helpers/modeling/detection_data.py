"""The digit detector's training data: every digit's box of format-1 folders, streamed as random windows.

Each training example is a 128x128 window of a photo rescaled so that its digits are 6-100 pixels tall
(log-uniform), placed anywhere around the number (partly outside the photo too: padded black, as the
letterbox pads), a share of the photos first cut close around the number (no margin to 30% of its
height: digits touching the photo's edges, as in a tight phone close-up), with the centre map and the
box targets of `detection` at every 4th pixel.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers.core import boxes as box_tools
from helpers.datasets import crops
from helpers.modeling.detection import STRIDE

MAX_DIGITS = 8     # digit boxes kept per photo (SVHN has up to 6 digits)
WINDOW = 128       # training window side (pixels)
MIN_HEIGHT, MAX_HEIGHT = 6.0, 100.0   # digits' heights in the training windows (pixels, log-uniform)


@dataclass(frozen=True)
class DigitTable:
    """Photos and every digit's box: paths (n,), boxes (n, MAX_DIGITS, 4) (top, left, bottom, right; unused
    rows -1) and counts (n,) (0 for a photo without a number)."""

    paths: np.ndarray
    boxes: np.ndarray
    counts: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def digit_table(folder: Path, annotations=None, keep=None) -> DigitTable:
    """Every digit box of a format-1 folder (`keep(name)` picks photos, e.g. a file-number range)."""
    from helpers.datasets.digitstruct import load_digit_struct

    folder = Path(folder)
    annotations = annotations if annotations is not None else load_digit_struct(folder / "digitStruct.mat")
    kept = [a for a in annotations if (keep is None or keep(a.name)) and 0 < len(a.digits) <= MAX_DIGITS]
    table = np.full((len(kept), MAX_DIGITS, 4), -1.0, np.float32)
    for row, annotation in enumerate(kept):
        table[row, :len(annotation.digits)] = box_tools.from_ltwh(annotation.boxes)
    return DigitTable(np.array([str(folder / a.name) for a in kept]), table,
                      np.array([len(a.digits) for a in kept], np.int32))


def blank_table(paths) -> DigitTable:
    """Photos without a number (no digit boxes): the detector's negatives."""
    paths = np.array([str(p) for p in paths])
    return DigitTable(paths, np.full((len(paths), MAX_DIGITS, 4), -1.0, np.float32), np.zeros(len(paths), np.int32))


def concat(tables: list[DigitTable], repeats: list[int] | None = None) -> DigitTable:
    """One table of several, each repeated `repeats[i]` times (a few real photos among many rendered)."""
    repeats = repeats or [1] * len(tables)
    parts = [t for t, r in zip(tables, repeats) for _ in range(r)]
    return DigitTable(*(np.concatenate([getattr(t, f) for t in parts]) for f in ("paths", "boxes", "counts")))


def targets(digit_boxes, count, rows: int, columns: int):
    """(heat (rows, columns, 1), box targets (rows, columns, 5)) for digit boxes in window pixels.

    Each digit puts a Gaussian bump (sigma 0.15 of its height and width) on the centre map, exactly 1 in
    the cell holding its centre; each cell regresses the box of the digit whose bump is highest there,
    weighted by that height (cells below 0.3 are not regressed).
    """
    valid = tf.range(MAX_DIGITS) < count
    centre = (digit_boxes[:, :2] + digit_boxes[:, 2:]) / 2                     # (D, 2)
    size = tf.maximum(digit_boxes[:, 2:] - digit_boxes[:, :2], 1.0)
    inside = valid & (centre[:, 0] >= 0) & (centre[:, 0] < rows * STRIDE) & \
        (centre[:, 1] >= 0) & (centre[:, 1] < columns * STRIDE)
    ys = (tf.range(rows, dtype=tf.float32) + 0.5) * STRIDE - 0.5
    xs = (tf.range(columns, dtype=tf.float32) + 0.5) * STRIDE - 0.5
    sigma = tf.maximum(size * 0.15, 1.5)
    dy = (ys[None, :, None] - centre[:, 0, None, None]) / sigma[:, 0, None, None]   # (D, rows, 1)
    dx = (xs[None, None, :] - centre[:, 1, None, None]) / sigma[:, 1, None, None]   # (D, 1, columns)
    bumps = tf.exp(-(dy ** 2 + dx ** 2) / 2)                                         # (D, rows, columns)
    cell_row = tf.cast(tf.floor((centre[:, 0] + 0.5) / STRIDE), tf.int32)
    cell_column = tf.cast(tf.floor((centre[:, 1] + 0.5) / STRIDE), tf.int32)
    peak = tf.cast(tf.equal(tf.range(rows)[None, :, None], cell_row[:, None, None]) &
                   tf.equal(tf.range(columns)[None, None, :], cell_column[:, None, None]), tf.float32)
    bumps = tf.maximum(bumps, peak) * tf.cast(inside, tf.float32)[:, None, None]
    heat = tf.reduce_max(bumps, axis=0)
    owner = tf.argmax(bumps, axis=0)
    box = tf.gather(digit_boxes, owner)                                              # (rows, columns, 4)
    weight = tf.where(heat >= 0.3, heat, 0.0)
    return heat[..., None], tf.concat([box, weight[..., None]], -1)


def _window(image, digit_boxes, count, u):
    """A random WINDOW x WINDOW view: (uint8 window, digit boxes in its pixels)."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    valid = tf.range(MAX_DIGITS) < count
    has_digits = count > 0
    masked = tf.where(valid[:, None], digit_boxes, tf.constant([[1e9, 1e9, -1e9, -1e9]]))
    union = tf.concat([tf.reduce_min(masked[:, :2], 0), tf.reduce_max(masked[:, 2:], 0)], 0)
    union = tf.where(has_digits, union, tf.concat([tf.zeros(2), shape], 0))
    heights = tf.where(valid, digit_boxes[:, 2] - digit_boxes[:, 0], 0.0)
    mean_height = tf.where(has_digits, tf.reduce_sum(heights) / tf.maximum(tf.cast(count, tf.float32), 1.0),
                           shape[0] / 4)
    # The digits' height in the window: MIN_HEIGHT-MAX_HEIGHT px, log-uniform.
    wanted = tf.exp(tf.math.log(MIN_HEIGHT) + u[0] * (tf.math.log(MAX_HEIGHT) - tf.math.log(MIN_HEIGHT)))
    scale = wanted / tf.maximum(mean_height, 1.0)
    # Shrinking: antialiased first (as the reader's letterbox is), then cropped at scale 1.
    small = tf.cast(tf.maximum(tf.round(shape * scale), 1.0), tf.int32)
    image = tf.cond(scale < 1.0, lambda: tf.image.resize(tf.cast(image, tf.float32), small, antialias=True),
                    lambda: tf.cast(image, tf.float32))
    step = tf.cast(tf.shape(image)[:2], tf.float32) / shape                      # scale already applied
    rest = scale / step                                                           # scale still to apply
    # Where the window sits: the number's centre anywhere in the middle 80% of the window.
    middle = (union[:2] + union[2:]) / 2 * step
    origin = middle * rest - WINDOW * (0.1 + 0.8 * u[1:3])                         # window pixels
    # Window pixel i covers [origin + i, origin + i + 1) at the final scale: its centre is sampled at
    # (origin + i + 0.5) / rest - 0.5 in `image`'s pixel-index coordinates (pixel centres as PIL resizes).
    start = (origin + 0.5) / rest - 0.5
    end = start + (WINDOW - 1) / rest
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    crop_box = tf.concat([start / tf.maximum(size - 1, 1.0), end / tf.maximum(size - 1, 1.0)], 0)[None]
    window = tf.image.crop_and_resize(image[None], crop_box, [0], [WINDOW, WINDOW], extrapolation_value=0.0)[0]
    factor = tf.concat([step * rest, step * rest], 0)
    offset = tf.concat([origin, origin], 0)
    moved = tf.where(valid[:, None], digit_boxes * factor - offset, -1.0)
    return tf.cast(tf.round(tf.clip_by_value(window, 0, 255)), tf.uint8), moved


def _cut_close(image, digit_boxes, count, u):
    """The photo cut around its number with 0-30% of the number's height left on each side."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    valid = tf.range(MAX_DIGITS) < count
    masked = tf.where(valid[:, None], digit_boxes, tf.constant([[1e9, 1e9, -1e9, -1e9]]))
    union = tf.concat([tf.reduce_min(masked[:, :2], 0), tf.reduce_max(masked[:, 2:], 0)], 0)
    margin = (union[2] - union[0]) * 0.3 * u
    start = tf.cast(tf.floor(tf.maximum(union[:2] - margin[:2], 0.0)), tf.int32)
    stop = tf.cast(tf.math.ceil(tf.minimum(union[2:] + margin[2:], shape)), tf.int32)
    stop = tf.maximum(stop, start + 1)
    cut = image[start[0]:stop[0], start[1]:stop[1]]
    shift = tf.cast(tf.concat([start, start], 0), tf.float32)
    return cut, tf.where(valid[:, None], digit_boxes - shift, -1.0)


def detection_dataset(table: DigitTable, *, batch_size: int, seed: int, close: float = 0.3):
    """Endless shuffled (uint8 windows, {"heat", "box"}) batches for `detection.build_detector`."""
    if not 0 <= close <= 1:
        raise ValueError(f"close is a share of the photos (0-1), got {close}.")
    rows = tf.data.Dataset.from_tensor_slices((table.paths, table.boxes, table.counts))
    rows = crops.with_random_pairs(rows, len(table), training=True, seed=seed)
    map_rows = map_columns = WINDOW // STRIDE

    def load(row, pair):
        path, digit_boxes, count = row
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        u = tf.random.stateless_uniform([8], seed=pair)
        image, digit_boxes = tf.cond((count > 0) & (u[0] < close),
                                     lambda: _cut_close(image, digit_boxes, count, u[4:8]),
                                     lambda: (image, digit_boxes))
        window, moved = _window(image, digit_boxes, count, u[1:4])
        heat, box = targets(moved, count, map_rows, map_columns)
        return window, {"heat": heat, "box": box}

    return rows.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size) \
        .prefetch(tf.data.AUTOTUNE)
