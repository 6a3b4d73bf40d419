"""Synthetic multi-digit numbers made of MNIST digits, and the tf.data pipelines that stream them."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from helpers.core.labels import encode_labels, split_targets


@dataclass(frozen=True)
class SequenceConfig:
    """How synthetic numbers look: canvas size, lengths, glyph sizes, spacing and jitter."""

    height: int = 32
    width: int = 128
    max_digits: int = 5
    min_length: int = 1
    digit_height: tuple[int, int] = (18, 28)   # glyph height range in pixels (MNIST ink is ~20)
    spacing: tuple[int, int] = (0, 6)           # gap between glyph boxes in pixels (0: touching)
    jitter: int = 2                             # per-digit vertical wobble in pixels
    shift: int = 8                              # random horizontal offset from centred, pixels
    augment: bool = False                       # distort each glyph (training stream only)
    rotation: float = 12.0                      # max rotation of a glyph in degrees, when augmenting
    shear: float = 0.3                          # max horizontal shear of a glyph, when augmenting
    elastic: float = 0.0                        # max displacement (px) of a smooth random warp, when augmenting
    augment_share: float = 1.0                  # share of glyphs distorted, when augmenting (the rest stay clean)
    # Distort only the first this many batches of a training stream (None: all), so that training ends
    # on clean glyphs like the ones it is scored on ("switch augmentation off for the last epochs").
    augment_steps: int | None = None
    # Chance of each length min_length..max_digits; None: uniform. Training can favour long numbers,
    # which carry more digits to learn from for the same cost of one image.
    length_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.min_length <= self.max_digits:
            raise ValueError(f"min_length must be in 1..max_digits, got {self.min_length}.")
        if not 4 <= self.digit_height[0] <= self.digit_height[1] <= self.height:
            raise ValueError(f"digit_height {self.digit_height} must fit in height {self.height}.")
        if self.elastic < 0 or not 0 <= self.augment_share <= 1:
            raise ValueError(f"elastic must be >= 0 and augment_share in [0, 1], got {self.elastic}, "
                             f"{self.augment_share}.")
        if self.augment_steps is not None and self.augment_steps < 0:
            raise ValueError(f"augment_steps must be >= 0 (or None: every batch), got {self.augment_steps}.")
        if self.spacing[0] > self.spacing[1]:
            raise ValueError(f"spacing range {self.spacing} is empty.")
        lengths = self.max_digits - self.min_length + 1
        if self.length_weights is not None and (len(self.length_weights) != lengths or min(self.length_weights) < 0
                                                or sum(self.length_weights) <= 0):
            raise ValueError(f"length_weights needs {lengths} non-negative weights (lengths {self.min_length}-"
                             f"{self.max_digits}) that do not sum to 0, got {self.length_weights}.")


class DigitSource:
    """A pool of single digits (one MNIST split) with the tight box of each digit's ink."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, name: str = "digits") -> None:
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be a uint8 array (n, h, w), got {images.dtype} {images.shape}.")
        if len(images) != len(labels) or len(images) == 0:
            raise ValueError(f"need as many labels as images (and at least one): {len(images)} vs {len(labels)}.")
        self.images, self.labels, self.name = images, labels.astype(np.int64), name
        self.boxes = ink_boxes(images)

    def __len__(self) -> int:
        return len(self.images)

    def glyph(self, index: int) -> np.ndarray:
        """The digit's ink, cropped to its tight box."""
        top, bottom, left, right = self.boxes[index]
        return self.images[index, top:bottom, left:right]


def ink_boxes(images: np.ndarray) -> np.ndarray:
    """Tight (top, bottom, left, right) box of the non-zero pixels of every image, vectorised."""
    rows, cols = images.any(axis=2), images.any(axis=1)
    height, width = images.shape[1:]
    top = np.where(rows.any(1), rows.argmax(1), 0)
    bottom = np.where(rows.any(1), height - rows[:, ::-1].argmax(1), height)
    left = np.where(cols.any(1), cols.argmax(1), 0)
    right = np.where(cols.any(1), width - cols[:, ::-1].argmax(1), width)
    return np.stack([top, bottom, left, right], axis=1)


def split_indices(count: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle 0..count-1 and split off `validation_size` indices (disjoint from training)."""
    if not 0 < validation_size < count:
        raise ValueError(f"validation_size must be between 1 and {count - 1}, got {validation_size}.")
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[validation_size:]), np.sort(order[:validation_size])


def split_training_digits(images: np.ndarray, labels: np.ndarray, validation_size: int,
                          seed: int) -> tuple[DigitSource, DigitSource]:
    """MNIST's training digits as two disjoint pools, "mnist-train" and "mnist-val" (`validation_size` digits)."""
    train_index, val_index = split_indices(len(images), validation_size, seed)
    return (DigitSource(images[train_index], labels[train_index], "mnist-train"),
            DigitSource(images[val_index], labels[val_index], "mnist-val"))


def distort_glyph(glyph: np.ndarray, rng: np.random.Generator, config: SequenceConfig) -> np.ndarray:
    """Randomly rotate and shear one glyph, then crop it back to its ink.

    The numbers are always new, but the 55,000 training digits repeat; with a long enough budget a
    model starts to memorise individual glyphs, which distortion counters. (The report's budget
    stays short of that point, and there distortion only slowed learning, so it is off.)
    """
    image = Image.fromarray(glyph)
    shear = rng.uniform(-config.shear, config.shear)
    pad = int(abs(shear) * glyph.shape[0]) + 2
    image = image.transform((glyph.shape[1] + 2 * pad, glyph.shape[0]), Image.AFFINE,
                            (1, shear, -pad - shear * glyph.shape[0] / 2, 0, 1, 0), Image.BILINEAR)
    image = image.rotate(rng.uniform(-config.rotation, config.rotation), Image.BILINEAR, expand=True)
    distorted = np.asarray(image)
    if config.elastic:
        distorted = elastic_warp(distorted, rng, config.elastic)
    top, bottom, left, right = ink_boxes(distorted[None])[0]
    return distorted[top:bottom, left:right]


def elastic_warp(glyph: np.ndarray, rng: np.random.Generator, amplitude: float, grid: int = 3) -> np.ndarray:
    """Bend a glyph by a smooth random displacement field (up to `amplitude` px), as in Simard et al. 2003.

    The field is a `grid` x `grid` lattice of random offsets, upsampled bilinearly, so strokes bend
    rather than break; the glyph is padded first so that no ink is pushed off the edge.
    """
    pad = int(np.ceil(amplitude)) + 1
    image = np.pad(glyph, pad).astype(np.float32)
    height, width = image.shape
    offsets = rng.uniform(-amplitude, amplitude, size=(2, grid, grid)).astype(np.float32)
    field = [np.asarray(Image.fromarray(offset, mode="F").resize((width, height), Image.BILINEAR)) for offset in offsets]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    y = np.clip(rows + field[0], 0, height - 1)
    x = np.clip(cols + field[1], 0, width - 1)
    y0, x0 = np.minimum(y.astype(int), height - 2), np.minimum(x.astype(int), width - 2)
    dy, dx = y - y0, x - x0
    warped = (image[y0, x0] * (1 - dy) * (1 - dx) + image[y0 + 1, x0] * dy * (1 - dx)
              + image[y0, x0 + 1] * (1 - dy) * dx + image[y0 + 1, x0 + 1] * dy * dx)
    return np.clip(np.round(warped), 0, 255).astype(np.uint8)


def render_sequence(glyphs: list[np.ndarray], rng: np.random.Generator,
                    config: SequenceConfig) -> np.ndarray:
    """Place glyphs left to right with random size, spacing, shift and jitter on a black canvas."""
    canvas = np.zeros((config.height, config.width), np.uint8)
    if config.augment:
        # A share below 1 draws one extra number per glyph; at 1 the random stream is as it always was.
        glyphs = [distort_glyph(glyph, rng, config) if config.augment_share >= 1 or rng.random() < config.augment_share
                  else glyph for glyph in glyphs]
    count = len(glyphs)
    base = rng.integers(config.digit_height[0], config.digit_height[1] + 1)
    heights = np.clip(np.round(base * rng.uniform(0.9, 1.1, count)), 4, config.height).astype(int)
    aspect = np.array([g.shape[1] / g.shape[0] for g in glyphs])
    widths = np.maximum(1, np.round(heights * aspect)).astype(int)
    gaps = rng.integers(config.spacing[0], config.spacing[1] + 1, size=count - 1)
    total = widths.sum() + gaps.sum()
    if total > config.width:   # too long for the canvas: shrink glyphs and gaps together
        shrink = config.width / total
        heights = np.maximum(4, np.floor(heights * shrink)).astype(int)
        widths = np.maximum(1, np.floor(widths * shrink)).astype(int)
        gaps = np.floor(gaps * shrink).astype(int)
        total = widths.sum() + gaps.sum()
    # Centred like a crop around the number (as in Goodfellow et al.), then shifted a little.
    slack = config.width - total
    x = int(np.clip(slack // 2 + rng.integers(-config.shift, config.shift + 1), 0, slack))
    top = int(rng.integers(0, config.height - heights.max() + 1))
    for glyph, height, width, gap in zip(glyphs, heights, widths, np.append(gaps, 0)):
        resized = np.asarray(Image.fromarray(glyph).resize((int(width), int(height)), Image.BILINEAR))
        y = int(np.clip(top + rng.integers(-config.jitter, config.jitter + 1), 0, config.height - height))
        region = canvas[y:y + height, x:x + width]
        np.maximum(region, resized[:, :region.shape[1]], out=region)
        x += int(width + gap)
    return canvas


def generate_sequences(source: DigitSource, count: int, seed: int | tuple[int, ...],
                       config: SequenceConfig = SequenceConfig(), return_glyphs: bool = False) -> tuple[np.ndarray, ...]:
    """`count` numbers as uint8 images (count, H, W, 1) and labels (count, 1 + max_digits).

    With `return_glyphs`, also the index in `source` of every digit, (count, max_digits), -1 where
    blank: which glyphs a reader gets wrong, since each glyph recurs in many numbers.
    """
    rng = np.random.default_rng(seed)
    images = np.zeros((count, config.height, config.width, 1), np.uint8)
    labels = np.zeros((count, config.max_digits + 1), np.int64)
    glyphs = np.full((count, config.max_digits), -1, np.int64)
    if config.length_weights is None:
        lengths = rng.integers(config.min_length, config.max_digits + 1, size=count)
    else:
        chances = np.asarray(config.length_weights, float) / sum(config.length_weights)
        lengths = rng.choice(np.arange(config.min_length, config.max_digits + 1), size=count, p=chances)
    for row, length in enumerate(lengths):
        picks = rng.integers(0, len(source), size=length)
        images[row, :, :, 0] = render_sequence([source.glyph(i) for i in picks], rng, config)
        labels[row] = encode_labels(source.labels[picks].tolist(), config.max_digits)
        glyphs[row, :length] = picks
    return (images, labels, glyphs) if return_glyphs else (images, labels)


def sequence_batches(source: DigitSource, batch_size: int, seed: int,
                     config: SequenceConfig = SequenceConfig()) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless fresh batches, deterministic under `seed`: every step sees new numbers.

    With `config.augment_steps`, glyph distortion stops after that many batches.
    """
    clean = dataclasses.replace(config, augment=False)
    for step in range(2**62):
        distorting = config.augment_steps is None or step < config.augment_steps
        yield generate_sequences(source, batch_size, seed=(seed, step), config=config if distorting else clean)


def train_dataset(source: DigitSource, batch_size: int, seed: int,
                  config: SequenceConfig = SequenceConfig(), target_fn=split_targets):
    """Stream endless training batches with tf.data (generated on the fly in uint8)."""
    import tensorflow as tf

    signature = (tf.TensorSpec((None, config.height, config.width, 1), tf.uint8),
                 tf.TensorSpec((None, config.max_digits + 1), tf.int64))
    dataset = tf.data.Dataset.from_generator(
        lambda: sequence_batches(source, batch_size, seed, config), output_signature=signature)
    return dataset.map(lambda x, y: (tf.cast(x, tf.float32), target_fn(y, config.max_digits)),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
