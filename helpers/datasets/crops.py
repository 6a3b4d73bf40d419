"""Number tables of format-1 folders and Goodfellow et al.'s number crops, streamed with tf.data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from helpers.core import boxes
from helpers.core.cropping import CROP, crop_number
from helpers.core.labels import BLANK

if TYPE_CHECKING:   # reading code imports this module: the h5py parser loads only where a table is built
    from helpers.datasets.digitstruct import Annotation




@dataclass(frozen=True)
class NumberTable:
    """A split ready for tf.data: image paths, expanded number boxes and label rows."""

    paths: np.ndarray        # (n,) str
    boxes: np.ndarray        # (n, 4) float32: top, left, bottom, right in pixels (expanded union box)
    labels: np.ndarray       # (n, 1 + max_digits) int64: length, then digits with BLANK padding
    union: np.ndarray        # (n, 4) float32: the tight union of the digit boxes (top, left, bottom, right)
    dropped: int             # numbers longer than max_digits, left out

    def __len__(self) -> int:
        return len(self.paths)


def number_table(folder: Path, annotations: list[Annotation] | None = None, *, max_digits: int = 5,
                 expand: float = CROP.grow) -> NumberTable:
    """Index a format-1 split: paths, 30%-expanded union boxes and labels; drops numbers > max_digits.

    Goodfellow et al. also leave out the few numbers longer than five digits (a handful in SVHN).
    """
    from helpers.datasets.digitstruct import load_digit_struct   # here, not at the top: see the imports

    folder = Path(folder)
    annotations = annotations if annotations is not None else load_digit_struct(folder / "digitStruct.mat")
    kept = [a for a in annotations if len(a.digits) <= max_digits]
    labels = np.full((len(kept), 1 + max_digits), BLANK, np.int64)
    for row, annotation in enumerate(kept):
        labels[row, 0] = len(annotation.digits)
        labels[row, 1:1 + len(annotation.digits)] = annotation.digits
    union = np.array([boxes.union(boxes.from_ltwh(a.boxes)) for a in kept], np.float32).reshape(-1, 4)
    grown = boxes.grown(union.astype(np.float64), expand).astype(np.float32).reshape(-1, 4)
    paths = np.array([str(folder / a.name) for a in kept])
    missing = [p for p in paths[:1] if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{missing[0]} is listed in {folder / 'digitStruct.mat'} but missing; "
                                "is the split fully extracted?")
    return NumberTable(paths, grown, labels, union, len(annotations) - len(kept))


def concat_tables(tables: list[NumberTable]) -> NumberTable:
    """One table holding the rows of several splits (e.g. SVHN train + extra)."""
    if not tables:
        raise ValueError("need at least one split to train on.")
    return NumberTable(*(np.concatenate([getattr(t, field) for t in tables])
                         for field in ("paths", "boxes", "labels", "union")), sum(t.dropped for t in tables))


def mix_tables(bulk: NumberTable, extra: NumberTable, share: float) -> NumberTable:
    """`bulk`'s rows plus `extra`'s repeated so that they make about `share` of the rows (0-1): a few
    real photos mixed into many rendered ones; share 1 gives `extra` alone, repeated to `bulk`'s size."""
    if not 0 <= share <= 1:
        raise ValueError(f"share is a share of the rows (0-1), got {share}.")
    if share == 0 or not len(extra):
        return bulk
    if share == 1:
        return concat_tables([extra] * max(1, round(len(bulk) / len(extra))))
    times = max(1, round(share * len(bulk) / ((1 - share) * len(extra))))
    return concat_tables([bulk, *[extra] * times])


def photos_on_disk(folders: list[Path], *, max_digits: int = 5) -> NumberTable:
    """The annotated photos of several format-1 folders that are actually present (e.g. the tiny real sample).

    The sample's digitStruct.mat files list 40 photos each but ship only the first few; the
    rest are skipped rather than reported missing.
    """
    from helpers.datasets.digitstruct import load_digit_struct

    tables = []
    for folder in map(Path, folders):
        annotations = [a for a in load_digit_struct(folder / "digitStruct.mat") if (folder / a.name).exists()]
        if annotations:
            tables.append(number_table(folder, annotations, max_digits=max_digits))
    if not tables:
        raise FileNotFoundError(f"no annotated photo found in {', '.join(map(str, folders))}.")
    return concat_tables(tables)


def split_table(table: NumberTable, validation_size: int, seed: int) -> tuple[NumberTable, NumberTable]:
    """(train, validation): a random `validation_size` rows split off a training table."""
    if not 0 < validation_size < len(table):
        raise ValueError(f"validation_size must be between 1 and {len(table) - 1}, got {validation_size}.")
    order = np.random.default_rng(seed).permutation(len(table))

    def take(rows: np.ndarray) -> NumberTable:
        return NumberTable(table.paths[rows], table.boxes[rows], table.labels[rows], table.union[rows], 0)

    return take(order[validation_size:]), take(order[:validation_size])


def crop_arrays(table: NumberTable, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Every evaluation crop of a table as one uint8 array (54x54x3 = 8.7 KB per number) + labels."""
    images, labels = [], []
    for batch_images, batch_labels in crop_dataset(table, training=False, batch_size=512, **kwargs):
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(images), np.concatenate(labels)


def photometric_jitter(crop, random_pair):
    """A uint8 crop with its brightness (+-20%), contrast (0.6-1.4), saturation (0.4-1.6) and hue (+-0.05)
    changed at random (stateless, reproducible under the seed pair); a fifth become grey."""
    import tensorflow as tf

    image = tf.cast(crop, tf.float32) / 255.0
    seeds = [random_pair + 10 + k for k in range(5)]   # apart from the box jitter's pair + 5
    image = tf.image.stateless_random_brightness(image, 0.2, seed=seeds[0])
    image = tf.image.stateless_random_contrast(image, 0.6, 1.4, seed=seeds[1])
    image = tf.image.stateless_random_saturation(image, 0.4, 1.6, seed=seeds[2])
    image = tf.image.stateless_random_hue(image, 0.05, seed=seeds[3])
    grey = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image))
    image = tf.where(tf.random.stateless_uniform([], seed=seeds[4]) < 0.2, grey, image)
    return tf.cast(tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0), tf.uint8)


def with_random_pairs(rows, count: int, *, training: bool, seed: int):
    """(row, stateless seed pair) elements: shuffled and endless for training, in order once otherwise.

    Each training row gets its own seed pair, so its random crop is reproducible under `seed`.
    """
    import tensorflow as tf

    if training:
        # tf.data's shuffle and random draw on TensorFlow's global seed as well as their own: set it to `seed`,
        # so that the stream depends on `seed` alone, not on the seed an earlier training left behind.
        tf.random.set_seed(seed)
        rows = rows.shuffle(count, seed=seed, reshuffle_each_iteration=True).repeat()
        return tf.data.Dataset.zip(rows, tf.data.Dataset.random(seed=seed).batch(2))
    return rows.map(lambda *row: (row, tf.zeros(2, tf.int64)))


def crop_dataset(table: NumberTable, *, training: bool, batch_size: int, seed: int = 0,
                 resize: int = CROP.resize, crop: int = CROP.window, target_fn=None, random_crop: bool = True,
                 box_jitter: float = 0.0, photometric: bool = False):
    """Stream (uint8 crop, targets) batches from the PNGs, as Goodfellow et al. preprocess SVHN.

    Each image is cropped to its expanded number box and resized to `resize`^2; training takes a
    random `crop`^2 window of that (shuffled, endless), evaluation the centre one (one pass, in order).
    `random_crop=False` trains on centre crops too (the "no augmentation" baseline). `box_jitter`
    (training only) rescales each box by up to that fraction per axis and shifts it by up to half
    of it, as a localizer's boxes are off, so that a reader trained on it tolerates them.
    `photometric` (training only) varies each crop's brightness, contrast, saturation and hue
    (`photometric_jitter`), for few real photos seen many times.
    """
    import tensorflow as tf

    target_fn = target_fn or (lambda labels, max_digits: labels)
    max_digits = table.labels.shape[1] - 1
    rows = with_random_pairs(tf.data.Dataset.from_tensor_slices((table.paths, table.boxes, table.labels)),
                             len(table), training=training, seed=seed)

    def load(row, random_pair):
        path, box, label = row
        image = tf.io.decode_png(tf.io.read_file(path), channels=3)
        if training and box_jitter:
            u = tf.random.stateless_uniform([4], seed=random_pair + 5, minval=-1.0, maxval=1.0)
            centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2
            centre = centre + u[2:] * box_jitter * half
            half = half * (1 + u[:2] * box_jitter)
            box = tf.concat([centre - half, centre + half], 0)
        out = crop_number(image, box, resize=resize, crop=crop,
                          random_pair=random_pair if training and random_crop else None)
        return (photometric_jitter(out, random_pair) if training and photometric else out), label

    batches = rows.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    return batches.map(lambda x, y: (x, target_fn(y, max_digits)),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
