"""Boxes: one convention for the whole project, (top, left, bottom, right) in pixels, as floats.

Two sources keep another order and convert at the edge: digitStruct.mat and the stand-in's
renderer store SVHN's (left, top, width, height) (`from_ltwh`), and PIL draws and crops with
(left, top, right, bottom) (`to_pil`). Every function takes one box (4,) or rows of them (n, 4).
"""
from __future__ import annotations

import numpy as np


def from_ltwh(boxes) -> np.ndarray:
    """(left, top, width, height) -> (top, left, bottom, right)."""
    left, top, width, height = np.moveaxis(np.asarray(boxes, np.float64), -1, 0)
    return np.stack([top, left, top + height, left + width], -1)


def to_pil(boxes) -> np.ndarray:
    """(top, left, bottom, right) -> PIL's (left, top, right, bottom)."""
    return np.asarray(boxes, np.float64)[..., [1, 0, 3, 2]]


def union(boxes) -> np.ndarray:
    """The box around all the rows (e.g. a number's box around its digits' boxes)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        raise ValueError("the union of no boxes is undefined: give at least one box.")
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])


def scaled(boxes, scale: float) -> np.ndarray:
    """Boxes scaled by `scale` about their centres (2.0: twice as tall and wide)."""
    boxes = np.asarray(boxes, np.float64)
    centre, half = (boxes[..., :2] + boxes[..., 2:]) / 2, (boxes[..., 2:] - boxes[..., :2]) / 2 * scale
    return np.concatenate([centre - half, centre + half], -1)


def grown(boxes, factor: float) -> np.ndarray:
    """Boxes grown by `factor` of their size in each direction, about their centres (0.3: 30% larger)."""
    return scaled(boxes, 1 + factor)


def iou(first, second) -> np.ndarray:
    """Intersection over union, row by row (broadcasts); 0 where both are empty."""
    first, second = np.asarray(first, np.float64), np.asarray(second, np.float64)
    top_left = np.maximum(first[..., :2], second[..., :2])
    bottom_right = np.minimum(first[..., 2:], second[..., 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), -1)
    area = lambda box: np.prod(np.clip(box[..., 2:] - box[..., :2], 0, None), -1)
    union_area = area(first) + area(second) - inter
    return np.where(union_area > 0, inter / np.where(union_area > 0, union_area, 1), 0.0)


def window(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Integer (top, left, bottom, right) inside the photo, at least 1 pixel each way."""
    top, left = (int(np.clip(np.floor(v), 0, limit - 1)) for v, limit in zip(box[:2], shape[:2]))
    bottom, right = (int(np.clip(np.ceil(v), start + 1, limit)) for v, start, limit in zip(box[2:], (top, left), shape[:2]))
    return np.array([top, left, bottom, right])


def around(box: np.ndarray, margin: float, shape: tuple[int, ...]) -> np.ndarray:
    """The integer window (`window`) of `box` grown by `margin` of its height on every side, inside the photo."""
    room = (box[2] - box[0]) * margin
    return window(np.asarray(box, np.float64) + np.array([-room, -room, room, room]), shape)
