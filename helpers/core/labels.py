"""The label vocabulary every step shares: a number as [length, d1, ..., d5] with a blank class."""
from __future__ import annotations

import numpy as np

BLANK = 10          # class of an unused digit position ("no digit here")
NUM_CLASSES = 11    # digits 0-9 plus BLANK
MAX_DIGITS = 5      # positions per number; longer numbers are left out (SVHN has a handful)


def encode_labels(digits: list[int], max_digits: int = MAX_DIGITS) -> np.ndarray:
    """Label row [length, d1, ..., d_max] with BLANK in unused positions."""
    if not 0 <= len(digits) <= max_digits:
        raise ValueError(f"a number may have at most {max_digits} digits, got {len(digits)}.")
    row = np.full(max_digits + 1, BLANK, np.int64)
    row[0] = len(digits)
    row[1:1 + len(digits)] = digits
    return row


def split_targets(labels, max_digits: int = MAX_DIGITS) -> dict:
    """Label rows -> the model's targets {"length": ..., "digit_1": ..., ...}."""
    targets = {"length": labels[:, 0]}
    for position in range(1, max_digits + 1):
        targets[f"digit_{position}"] = labels[:, position]
    return targets


def confidence_text(confidence: float) -> str:
    """A confidence with two decimals, or three (four) where two would round an unsure 0.996 up to "1.00"."""
    for decimals in (2, 3, 4):
        if round(confidence, decimals) < 1 or confidence >= 1:
            return f"{confidence:.{decimals}f}"
    return f"{confidence:.4f}"
