"""Step 4: find the house number in a whole photo, as a box regression with a "no number" score.

The localizer sees the whole photo letterboxed to a square (aspect ratio kept, padded), and
predicts the box around all the digits as (top, left, bottom, right) in 0-1 letterbox
coordinates, plus the probability that the photo shows a number at all. Photos without a number
(bare walls, empty plaques rendered by `street_numbers`) teach it to say "none".
"""
from __future__ import annotations

import keras
import tensorflow as tf
import numpy as np
from keras import layers, ops

from helpers.core.cropping import LETTERBOX, letterbox, to_letterbox
from helpers.datasets import crops
from helpers.modeling import models

NO_BOX = -1.0            # box target of a photo with no number (the box loss skips it)
TIGHT_MARGIN = 0.1       # most a tight training crop keeps around the number, in number heights


def _random_window(shape, box, random_pair, tight: float = 0.0):
    """A random crop window (top, left, bottom, right) that keeps `box` whole (any window if no box),
    and whether it is a tight one (see `localization_dataset`'s `tight`)."""

    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    u = tf.random.stateless_uniform([4], seed=random_pair)
    has_box = box[0] >= 0
    # With a number: keep 0-90% of each margin around it. Without: a window of 50-100% per side.
    top = tf.where(has_box, box[0] * u[0] * 0.9, height * u[0] * 0.5)
    left = tf.where(has_box, box[1] * u[1] * 0.9, width * u[1] * 0.5)
    bottom = tf.where(has_box, box[2] + (height - box[2]) * (1 - u[2] * 0.9), top + (height - top) * (0.5 + u[2] / 2))
    right = tf.where(has_box, box[3] + (width - box[3]) * (1 - u[3] * 0.9), left + (width - left) * (0.5 + u[3] / 2))
    # Tight: a photo cropped to the number itself, as a user crops one, with at most TIGHT_MARGIN of the
    # number's height left on each side (the number's box then spans almost the whole photo).
    v = tf.random.stateless_uniform([5], seed=random_pair + 11)
    is_tight = has_box & (v[4] < tight)
    margin = (box[2] - box[0]) * TIGHT_MARGIN
    top = tf.where(is_tight, tf.maximum(0.0, box[0] - margin * v[0]), top)
    left = tf.where(is_tight, tf.maximum(0.0, box[1] - margin * v[1]), left)
    bottom = tf.where(is_tight, tf.minimum(height, box[2] + margin * v[2]), bottom)
    right = tf.where(is_tight, tf.minimum(width, box[3] + margin * v[3]), right)
    return (tf.cast(tf.floor(tf.stack([top, left])), tf.int32), tf.cast(tf.math.ceil(tf.stack([bottom, right])), tf.int32),
            is_tight)


def _zoom_out(image, box, background, random_pair, max_zoom: float):
    """Paste the photo at a random place on a `background` photo 1-`max_zoom` times its size.

    SVHN-style photos are framed around their number; real photos often show it small in a wide
    scene. Pasting onto a bigger scene without a number teaches the localizer small boxes too.
    """

    u = tf.random.stateless_uniform([3], seed=random_pair + 7)
    shape = tf.shape(image)[:2]
    canvas = tf.cast(tf.cast(shape, tf.float32) * (1 + u[0] * (max_zoom - 1)), tf.int32)
    scene = tf.image.resize(tf.cast(background, tf.float32), canvas)
    offset = tf.cast(tf.cast(canvas - shape, tf.float32) * u[1:], tf.int32)
    placed = tf.image.pad_to_bounding_box(tf.cast(image, tf.float32), offset[0], offset[1], canvas[0], canvas[1])
    inside = tf.image.pad_to_bounding_box(tf.ones_like(image[..., :1], tf.float32), offset[0], offset[1],
                                          canvas[0], canvas[1])
    moved = tf.where(box[0] >= 0, box + tf.cast(tf.concat([offset, offset], 0), tf.float32), box)
    return tf.cast(tf.round(scene * (1 - inside) + placed * inside), tf.uint8), moved


def localization_dataset(paths: np.ndarray, boxes: np.ndarray, *, training: bool, batch_size: int,
                         seed: int = 0, size: int = LETTERBOX, backgrounds: list | None = None,
                         zoom_out: float = 0.0, max_zoom: float = 3.0, tight: float = 0.0):
    """Stream (letterboxed photo uint8, {"box", "has_number"}) batches from image files.

    `boxes` holds each photo's number box (top, left, bottom, right, pixels) or NO_BOX rows for
    photos without a number. Training shuffles, repeats and crops randomly around the number;
    a `tight` share of the photos with a number is cropped to the number itself (as a user crops
    a photo; the stand-in always frames it with a margin); with `backgrounds` (photos without a
    number), a `zoom_out` share of the others is also pasted into a wider scene (see `_zoom_out`).
    """

    if zoom_out and not backgrounds:
        raise ValueError("zoom_out needs background photos (photos without a number) to paste onto.")
    if not 0 <= tight <= 1 or not 0 <= zoom_out <= 1:
        raise ValueError(f"tight and zoom_out are shares of the photos (0-1), got {tight} and {zoom_out}.")
    rows = tf.data.Dataset.from_tensor_slices((np.asarray(paths), np.asarray(boxes, np.float32)))
    rows = crops.with_random_pairs(rows, len(paths), training=training, seed=seed)
    scenes = np.asarray([str(p) for p in backgrounds or [""]])

    def load(row, random_pair):
        path, box = row
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        has_box = box[0] >= 0
        if training:
            start, stop, is_tight = _random_window(tf.shape(image), box, random_pair, tight)
            image = image[start[0]:stop[0], start[1]:stop[1]]
            box = box - tf.cast(tf.concat([start, start], 0), tf.float32)
            if zoom_out:
                u = tf.random.stateless_uniform([2], seed=random_pair + 3)
                scene_path = tf.gather(scenes, tf.cast(u[1] * len(scenes), tf.int32) % len(scenes))
                image, box = tf.cond(
                    (u[0] < zoom_out) & ~is_tight,
                    lambda: _zoom_out(image, box, tf.io.decode_image(tf.io.read_file(scene_path), channels=3,
                                                                     expand_animations=False), random_pair, max_zoom),
                    lambda: (image, box))
        boxed, scale, padding = letterbox(image, size)
        target = tf.where(has_box, to_letterbox(box, scale, padding, size), tf.fill([4], NO_BOX))
        pixels = tf.cast(tf.round(tf.clip_by_value(boxed, 0, 255)), tf.uint8)
        return pixels, {"box": target, "has_number": tf.cast(has_box, tf.float32)[None]}

    return rows.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size) \
        .prefetch(tf.data.AUTOTUNE)


def with_blank_scenes(table, blanks) -> tuple[np.ndarray, np.ndarray]:
    """A number table's photo paths and union boxes, followed by scenes without a number (box NO_BOX)."""
    paths = np.concatenate([np.asarray(table.paths, dtype=str), np.array([str(p) for p in blanks], dtype=str)])
    boxes = np.concatenate([np.asarray(table.union, np.float32).reshape(-1, 4),
                            np.full((len(blanks), 4), NO_BOX, np.float32)])
    return paths, boxes


def letterbox_arrays(paths: np.ndarray, boxes: np.ndarray, size: int = LETTERBOX) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation photos letterboxed as one uint8 array (12 KB each at 64^2) + boxes in 0-1 letterbox units."""
    pixels, targets = [], []
    for batch, target in localization_dataset(paths, boxes, training=False, batch_size=256, size=size):
        pixels.append(batch.numpy())
        targets.append(target["box"].numpy())
    return np.concatenate(pixels), np.concatenate(targets)


@keras.saving.register_keras_serializable(package="helpers")
class BoxLoss(keras.losses.Loss):
    """Smooth L1 on the normalised corners plus (1 - IoU), only for photos that have a number."""

    def __init__(self, delta: float = 0.05, name: str = "box_loss", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.delta = delta

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
        present = ops.cast(y_true[:, 0] >= 0, "float32")
        # Keras's Huber averages over the four corners; summed and divided by delta it is a smooth L1 of slope 1.
        huber = keras.losses.huber(y_true, y_pred, delta=self.delta) * ops.cast(ops.shape(y_true)[-1], "float32") / self.delta
        top = ops.maximum(y_true[:, 0], y_pred[:, 0])
        left = ops.maximum(y_true[:, 1], y_pred[:, 1])
        bottom = ops.minimum(y_true[:, 2], y_pred[:, 2])
        right = ops.minimum(y_true[:, 3], y_pred[:, 3])
        inter = ops.relu(bottom - top) * ops.relu(right - left)
        area = lambda b: ops.relu(b[:, 2] - b[:, 0]) * ops.relu(b[:, 3] - b[:, 1])
        iou = inter / (area(y_true) + area(y_pred) - inter + 1e-6)
        return present * (huber * 5.0 + 1.0 - iou)

    def get_config(self) -> dict:
        return {**super().get_config(), "delta": self.delta}


def build_localizer(size: int = LETTERBOX, *, filters: tuple[int, ...] = (32, 64, 96, 128),
                    dense_units: int = 256, dropout: float = 0.2, pool_first: bool = False,
                    name: str = "number_localizer") -> keras.Model:
    """Conv trunk on the letterboxed photo -> "box" (4 sigmoids: top, left, bottom, right in 0-1)
    and "has_number" (the probability that there is a number at all). Input: raw pixels 0-255.

    `pool_first`: pool before batch norm and ReLU in each block (faster on a CPU; see models._conv_trunk).
    """
    if size < 2 ** len(filters):
        raise ValueError(f"input size {size} is too small for {len(filters)} pooling blocks.")
    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = models._conv_trunk(inputs, filters, 1, dropout, top_convs=1, pool_first=pool_first)
    x = layers.Flatten(name="flatten")(x)     # keeps where each feature is: the box is a position
    x = layers.Dropout(dropout, name="flatten_dropout")(x)
    x = layers.Dense(dense_units, activation="relu", name="box_features")(x)
    box = layers.Dense(4, activation="sigmoid", name="box")(x)
    has_number = layers.Dense(1, activation="sigmoid", name="has_number")(x)
    return keras.Model(inputs, {"box": box, "has_number": has_number}, name=name)


def compile_localizer(model: keras.Model, learning_rate) -> keras.Model:
    """Adam on the box loss plus the binary cross-entropy of "has a number"."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss={"box": BoxLoss(), "has_number": keras.losses.BinaryCrossentropy()})
    return model
