"""How a photo becomes a model's input, the same in training and in reading: a number box grown and cropped for
the readers (Goodfellow et al.'s preprocessing), and a whole photo letterboxed to a square for the localizer.

Here, in `core`, so that the reading path (helpers.app) needs neither the training data streams nor the models.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LETTERBOX = 64   # 64x64 trains twice as fast as 96x96 and, given twice the epochs, boxes better


@dataclass(frozen=True)
class CropSpec:
    """How a tight number box becomes the reader's input (Goodfellow et al.'s preprocessing).

    The box grows by `grow` of its size about its centre, is resized to `resize` x `resize` and the
    reader sees a `window` x `window` part of that (random in training, the centre otherwise). It is
    saved with the released reader (`models/number_reader.json`) and read back with it.
    """

    grow: float = 0.3
    resize: int = 64
    window: int = 54

    def __post_init__(self) -> None:
        if self.grow < 0 or not 0 < self.window <= self.resize:
            raise ValueError(f"a crop grows by >= 0 and takes a window no larger than its resize, got {self}.")


CROP = CropSpec()   # the crop every Step 2 and Step 4 reader trains on


def crop_number(image, box, *, resize: int = CROP.resize, crop: int = CROP.window, random_pair=None):
    """Crop an image tensor (H, W, 3) to `box` (top, left, bottom, right, pixels; clipped to the
    image), resize to `resize`^2 and take the centre `crop`^2 window, or a random one given a
    stateless seed pair. Returns uint8. Training, evaluation and inference all crop through here."""
    import tensorflow as tf

    box = tf.cast(box, tf.float32)
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    window = tf.concat([tf.maximum(box[:2], 0.0) / size, tf.minimum(box[2:], size) / size], 0)[None]
    resized = tf.image.crop_and_resize(tf.cast(image, tf.float32)[None], window, [0], [resize, resize])[0]
    if random_pair is not None:
        out = tf.image.stateless_random_crop(resized, [crop, crop, 3], seed=random_pair)
    else:
        offset = (resize - crop) // 2
        out = resized[offset:offset + crop, offset:offset + crop]
    return tf.cast(tf.round(tf.clip_by_value(out, 0, 255)), tf.uint8)


def padded(photo: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo with its edge pixels repeated as far as `box` reaches past it, and the box moved with it:
    a number at the photo's edge keeps the room around it that the reader's crops give a number inside a
    photo, instead of filling the crop (`crop_number` alone stops at the edge)."""
    height, width = photo.shape[:2]
    before = np.maximum(np.ceil(-box[:2]), 0).astype(int)
    after = np.maximum(np.ceil(box[2:] - [height, width]), 0).astype(int)
    if not before.any() and not after.any():
        return photo, box.astype(np.float32)
    padded = np.pad(photo, ((before[0], after[0]), (before[1], after[1]), (0, 0)), mode="edge")
    return padded, (box + np.concatenate([before, before])).astype(np.float32)


def letterbox(image, size: int = LETTERBOX):
    """uint8 (H, W, 3) tensor -> (float32 size x size x 3 photo, centred and padded; scale; (top, left) padding)."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = size / tf.reduce_max(shape)
    new = tf.maximum(tf.round(shape * scale), 1.0)
    resized = tf.image.resize(tf.cast(image, tf.float32), tf.cast(new, tf.int32), antialias=True)
    padding = tf.floor((size - new) / 2)
    boxed = tf.image.pad_to_bounding_box(resized, tf.cast(padding[0], tf.int32), tf.cast(padding[1], tf.int32),
                                         size, size)
    return boxed, scale, padding


def to_letterbox(box, scale, padding, size: int = LETTERBOX):
    """A (top, left, bottom, right) box in photo pixels -> 0-1 letterbox coordinates."""
    import tensorflow as tf

    offset = tf.concat([padding, padding], 0)
    return (tf.cast(box, tf.float32) * scale + offset) / size


def from_letterbox(box: np.ndarray, scale: float, padding: np.ndarray, image_shape: tuple[int, ...],
                   size: int = LETTERBOX) -> np.ndarray:
    """0-1 letterbox (top, left, bottom, right) -> the photo's own pixels, ordered and clipped."""
    box = np.asarray(box, np.float64) * size
    box = np.concatenate([np.minimum(box[..., :2], box[..., 2:]), np.maximum(box[..., :2], box[..., 2:])], -1)
    offset = np.concatenate([padding, padding]).astype(np.float64)
    limits = np.array([image_shape[0], image_shape[1]] * 2, np.float64)
    return np.clip((box - offset) / scale, 0, limits)
