"""Step 4's digit detector: a map of digit centres with a box at each, on the photo at its own scale.

The 64x64 whole-photo box regressor (`localization`) sees a number that fills a third of a photo a few
pixels tall, and learns from one box per photo. This detector is fully convolutional, after CenterNet
(Zhou et al. 2019) and FCOS (Tian et al. 2019): at every 4th pixel it predicts how likely a digit's
centre is there ("heat") and the distances from there to that digit's four edges ("box", a regression
loss on box coordinates, per digit and location). It runs on the photo letterboxed to a few sizes (a
small pyramid), so every digit is 6-100 pixels tall at one of them; digits found are then grouped into
numbers (one line, similar heights, plausible gaps), and the reader reads each number in its box.
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from helpers.core import boxes as box_tools

STRIDE = 4                 # pixels of input per cell of the output maps
MULTIPLE = 16              # input sides must be multiples of the deepest stride


@dataclass(frozen=True)
class DetectorSpec:
    """How photos are fed to the detector and how its maps become numbers (saved with the models)."""

    sizes: tuple[int, ...] = (64, 160, 400, 800)   # letterbox sides of the pyramid (multiples of 16)
    max_upscale: float = 2.0   # a size is used only if it enlarges the photo at most this much (the first always)
    heights: tuple[float, float] = (6.0, 100.0)    # digit heights trusted at a size (pixels): the training range
    min_score: float = 0.45    # a digit's centre score needed to count as a digit
    overlap: float = 0.4       # digits overlapping more than this (IoU) are one digit, across pyramid sizes
    max_height_ratio: float = 1.7    # digits of one number: heights within this ratio
    max_gap: float = 1.2       # most horizontal space between neighbouring digits, in digit heights
    max_offset: float = 0.45   # most vertical offset of neighbouring digits' centres, in digit heights
    min_share: float = 0.5     # a digit joins a number only with at least this share of its best digit's score
    max_digits: int = 64       # most digit centres taken from one map (the highest)

    def __post_init__(self) -> None:
        if not self.sizes or any(size % MULTIPLE or size <= 0 for size in self.sizes):
            raise ValueError(f"detector sizes must be positive multiples of {MULTIPLE}, got {self.sizes}.")
        if not 0 < self.min_score < 1:
            raise ValueError(f"min_score is a probability between 0 and 1, got {self.min_score}.")

    def sizes_for(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The pyramid's sizes for a photo of this (height, width): none that would blow it up more than
        `max_upscale` times (an enlarged small photo shows no digit the smaller sizes miss)."""
        sizes = sorted(self.sizes)
        return tuple(sizes[:1] + [size for size in sizes[1:] if size <= self.max_upscale * max(shape[:2])])


@dataclass(frozen=True)
class Found:
    """One number the detector found: its box, its digits' boxes and how sure the detector is."""

    box: np.ndarray            # (top, left, bottom, right) union of its digits, photo pixels
    digits: np.ndarray         # (k, 4) digit boxes, left to right
    score: float               # mean centre score of its digits

    @property
    def count(self) -> int:
        return len(self.digits)


@keras.saving.register_keras_serializable(package="helpers")
class Distances(layers.Layer):
    """Log distances -> distances in input pixels (exp, clipped so that one bad cell cannot overflow)."""

    def call(self, inputs):
        return ops.exp(ops.clip(inputs, -4.0, 6.0)) * float(STRIDE)


def _block(x, filters: int, name: str, stride: int = 1, dtype=None):
    """Conv (no bias) -> batch norm -> ReLU."""
    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv", dtype=dtype)(x)
    x = layers.BatchNormalization(name=f"{name}_bn", dtype=dtype)(x)
    return layers.ReLU(name=f"{name}_relu", dtype=dtype)(x)


def build_detector(*, filters: tuple[int, int, int, int] = (16, 32, 64, 96), head: int = 48,
                   dtype: str | None = None, name: str = "digit_detector") -> keras.Model:
    """Fully convolutional digit detector: any (H, W) multiple of 16, raw 0-255 pixels in;
    "heat" (H/4, W/4, 1: probability of a digit centre) and "box" (H/4, W/4, 4: distances in pixels
    from each cell's centre to the digit's top, left, bottom and right) out.

    A trunk down to 1/16 of the pixels (a receptive field of about 120 px: a whole digit of up to 100 px),
    brought back to 1/4 with the finer features added (a small feature pyramid).
    `dtype` "mixed_bfloat16" trains the trunk in bfloat16 (about twice as fast on CPUs with AVX-512 BF16
    or AMX); the two heads stay float32, and `float32_copy` gives the same weights for reading anywhere.
    """
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = layers.Rescaling(1.0 / 255.0, name="rescale_0_255_to_0_1", dtype=dtype)(inputs)
    x = _block(x, filters[0], "stem", stride=2, dtype=dtype)                     # 1/2
    x = _block(x, filters[1], "down4", stride=2, dtype=dtype)
    quarter = _block(x, filters[1], "quarter", dtype=dtype)                      # 1/4
    x = _block(quarter, filters[2], "down8", stride=2, dtype=dtype)
    eighth = _block(x, filters[2], "eighth", dtype=dtype)                        # 1/8
    x = _block(eighth, filters[3], "down16", stride=2, dtype=dtype)
    x = _block(x, filters[3], "sixteenth_a", dtype=dtype)
    x = _block(x, filters[3], "sixteenth_b", dtype=dtype)                        # 1/16
    # Learned 2x upsampling (a transposed convolution): TensorFlow Lite keeps its channel count known at any
    # input size, which its nearest-neighbour resizing does not.
    x = layers.Conv2DTranspose(filters[3], 2, strides=2, name="up8", dtype=dtype)(x)
    x = layers.Concatenate(name="join8", dtype=dtype)([x, eighth])
    x = _block(x, filters[2], "merge8", dtype=dtype)
    x = layers.Conv2DTranspose(filters[2], 2, strides=2, name="up4", dtype=dtype)(x)
    x = layers.Concatenate(name="join4", dtype=dtype)([x, quarter])
    x = _block(x, head, "merge4", dtype=dtype)
    # Focal-loss practice: start every centre at a probability of about 0.1, not 0.5.
    heat = layers.Conv2D(1, 1, activation="sigmoid", bias_initializer=keras.initializers.Constant(-2.2),
                         name="heat", dtype="float32")(x)
    raw = layers.Conv2D(4, 1, name="box_log_distance", dtype="float32")(x)
    box = Distances(name="box", dtype="float32")(raw)
    return keras.Model(inputs, {"heat": heat, "box": box}, name=name)


def float32_copy(model: keras.Model) -> keras.Model:
    """The same detector built in float32 with the same weights (for reading and export)."""
    copy = build_detector(filters=tuple(model.get_layer(n).filters for n in ("stem_conv", "down4_conv", "down8_conv",
                                                                             "down16_conv")),
                          head=model.get_layer("merge4_conv").filters, name=model.name)
    copy.set_weights(model.get_weights())
    return copy


@keras.saving.register_keras_serializable(package="helpers")
class CentreFocalLoss(keras.losses.Loss):
    """CenterNet's focal loss on the centre map: Gaussian bumps around each digit centre, 1 at the centre."""

    def __init__(self, name: str = "centre_focal_loss", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.cast(y_true, "float32"), ops.clip(ops.cast(y_pred, "float32"), 1e-4, 1 - 1e-4)
        centre = ops.cast(y_true >= 0.999, "float32")
        positive = centre * (1 - y_pred) ** 2 * ops.log(y_pred)
        negative = (1 - centre) * (1 - y_true) ** 4 * y_pred ** 2 * ops.log(1 - y_pred)
        count = ops.maximum(ops.sum(centre), 1.0)
        batch = ops.cast(ops.shape(y_true)[0], "float32")
        # Keras averages the per-example values; scaled so that the mean is the sum over centres.
        per_example = -ops.sum(positive + negative, axis=(1, 2, 3)) / count * batch
        return per_example


@keras.saving.register_keras_serializable(package="helpers")
class DigitBoxLoss(keras.losses.Loss):
    """1 - IoU of the box predicted at each cell near a digit's centre with that digit's box, plus a small
    L1 term on the edges (in digit heights), weighted by the cell's closeness to the centre.

    y_true: (N, h, w, 5) = the digit's (top, left, bottom, right) in input pixels and the cell's weight.
    """

    def __init__(self, name: str = "digit_box_loss", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")
        predicted = distances_to_boxes(y_pred)
        target, weight = y_true[..., :4], y_true[..., 4]
        top = ops.maximum(target[..., 0], predicted[..., 0])
        left = ops.maximum(target[..., 1], predicted[..., 1])
        bottom = ops.minimum(target[..., 2], predicted[..., 2])
        right = ops.minimum(target[..., 3], predicted[..., 3])
        inter = ops.relu(bottom - top) * ops.relu(right - left)
        area = lambda b: ops.relu(b[..., 2] - b[..., 0]) * ops.relu(b[..., 3] - b[..., 1])
        iou = inter / (area(target) + area(predicted) - inter + 1e-6)
        height = ops.maximum(target[..., 2] - target[..., 0], 1.0)
        l1 = ops.sum(ops.abs(predicted - target), axis=-1) / height
        per_cell = weight * (1 - iou + 0.25 * l1)
        batch = ops.cast(ops.shape(y_true)[0], "float32")
        return ops.sum(per_cell, axis=(1, 2)) / ops.maximum(ops.sum(weight), 1.0) * batch


def cell_centres(rows: int, columns: int):
    """(rows, columns, 2) input-pixel (y, x) of each output cell's centre."""
    ys = (ops.arange(rows, dtype="float32") + 0.5) * STRIDE - 0.5
    xs = (ops.arange(columns, dtype="float32") + 0.5) * STRIDE - 0.5
    return ops.stack(ops.meshgrid(ys, xs, indexing="ij"), axis=-1)


def distances_to_boxes(distances):
    """(N, h, w, 4) distances to (top, left, bottom, right) -> boxes in input pixels."""
    shape = ops.shape(distances)
    centres = cell_centres(shape[1], shape[2])[None]
    return ops.concatenate([centres - distances[..., :2], centres + distances[..., 2:]], axis=-1)


def compile_detector(model: keras.Model, learning_rate) -> keras.Model:
    """Adam on the centre focal loss plus the box loss."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss={"heat": CentreFocalLoss(), "box": DigitBoxLoss()}, loss_weights={"heat": 1.0, "box": 1.0})
    return model


def letterbox_numpy(photo: np.ndarray, size: int) -> tuple[np.ndarray, float, np.ndarray]:
    """uint8 photo -> (size x size x 3 float32 letterbox, (row, column) scales, (top, left) padding), as
    `cropping.letterbox` does it but with PIL (antialiased), for the reading path."""
    from PIL import Image

    height, width = photo.shape[:2]
    scale = size / max(height, width)
    new = (max(round(height * scale), 1), max(round(width * scale), 1))
    resized = np.asarray(Image.fromarray(photo).resize((new[1], new[0]), Image.BILINEAR), np.float32)
    padding = np.array([(size - new[0]) // 2, (size - new[1]) // 2])
    canvas = np.zeros((size, size, 3), np.float32)
    canvas[padding[0]:padding[0] + new[0], padding[1]:padding[1] + new[1]] = resized
    scales = np.array([new[0] / height, new[1] / width])
    return canvas, scales, padding


def peaks(heat: np.ndarray, distances: np.ndarray, min_score: float, limit: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima of one centre map above `min_score`, the `limit` highest: (boxes (k, 4) in input
    pixels, scores (k,))."""
    from scipy.ndimage import maximum_filter

    heat = heat[..., 0]
    keep = (heat >= min_score) & (heat == maximum_filter(heat, size=3, mode="constant"))
    rows, columns = np.nonzero(keep)
    highest = np.argsort(-heat[rows, columns], kind="stable")[:limit]
    rows, columns = rows[highest], columns[highest]
    centres = np.stack([(rows + 0.5) * STRIDE - 0.5, (columns + 0.5) * STRIDE - 0.5], -1)
    d = distances[rows, columns]
    found = np.concatenate([centres - d[:, :2], centres + d[:, 2:]], -1) if len(rows) else np.zeros((0, 4))
    return found.astype(np.float64), heat[rows, columns].astype(np.float64)


def suppress(found: np.ndarray, scores: np.ndarray, overlap: float) -> np.ndarray:
    """Indices kept by non-maximum suppression (highest score first; IoU above `overlap` is the same digit)."""
    order, kept = np.argsort(-scores, kind="stable"), []
    while len(order):
        best, order = order[0], order[1:]
        kept.append(best)
        order = order[box_tools.iou(found[best], found[order]) <= overlap]
    return np.array(kept, int)


def group_digits(found: np.ndarray, scores: np.ndarray, spec: DetectorSpec = DetectorSpec()) -> list[Found]:
    """Digits -> numbers: neighbours on one line with similar heights and a plausible gap are joined
    (union-find); the numbers come back most confident first."""
    count = len(found)
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    heights = found[:, 2] - found[:, 0]
    centres = (found[:, :2] + found[:, 2:]) / 2
    for i in range(count):
        for j in range(i + 1, count):
            low, high = sorted((heights[i], heights[j]))
            if low <= 0 or high / low > spec.max_height_ratio:
                continue
            mean = (heights[i] + heights[j]) / 2
            if abs(centres[i, 0] - centres[j, 0]) > spec.max_offset * mean:
                continue
            gap = max(found[i, 1], found[j, 1]) - min(found[i, 3], found[j, 3])
            if gap > spec.max_gap * mean:
                continue
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    numbers = []
    for members in groups.values():
        # Weak digits beside strong ones are usually texture (bricks, leaves) next to the number.
        best = max(scores[i] for i in members)
        members = sorted((i for i in members if scores[i] >= spec.min_share * best), key=lambda i: centres[i, 1])
        digits = found[members]
        numbers.append(Found(box_tools.union(digits), digits, float(np.mean(scores[members]))))
    return sorted(numbers, key=lambda n: -n.score)


def detect(model, photos: list[np.ndarray], spec: DetectorSpec = DetectorSpec(), predict=None,
           batch_size: int = 16) -> list[list[Found]]:
    """The numbers found in each photo (photo pixels), most confident first; [] where none.

    `predict(model, inputs, batch_size)` -> {"heat", "box"} runs the model (the reader's compiled
    graph, or a TensorFlow Lite interpreter); default: the model called directly.
    """
    predict = predict or (lambda m, x, b: {k: np.asarray(v) for k, v in m(x, training=False).items()})
    digits: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in photos]
    for size in sorted(set(spec.sizes)):
        chosen = [i for i, photo in enumerate(photos) if size in spec.sizes_for(photo.shape)]
        for start in range(0, len(chosen), batch_size):
            part = chosen[start:start + batch_size]
            boxed = [letterbox_numpy(photos[i], size) for i in part]
            outputs = predict(model, np.round(np.stack([b[0] for b in boxed])), batch_size)
            for k, (i, (_, scales, padding)) in enumerate(zip(part, boxed)):
                found, scores = peaks(outputs["heat"][k], outputs["box"][k], spec.min_score, spec.max_digits)
                offset = np.concatenate([padding, padding]).astype(np.float64)
                limits = np.array([*photos[i].shape[:2]] * 2, np.float64)
                found = np.clip((found - offset) / np.concatenate([scales, scales]), 0, limits)
                tall = (found[:, 2] - found[:, 0]) * scales[0]          # in this size's pixels, within the photo
                trusted = (tall >= spec.heights[0]) & (tall <= spec.heights[1])   # the heights it was trained on
                digits[i].append((found[trusted], scores[trusted]))
    results = []
    for per_size in digits:
        found = np.concatenate([f for f, _ in per_size]) if per_size else np.zeros((0, 4))
        scores = np.concatenate([s for _, s in per_size]) if per_size else np.zeros(0)
        sized = (found[:, 2] - found[:, 0] >= 2) & (found[:, 3] - found[:, 1] >= 1)
        found, scores = found[sized], scores[sized]
        kept = suppress(found, scores, spec.overlap)
        results.append(group_digits(found[kept], scores[kept], spec) if len(kept) else [])
    return results
