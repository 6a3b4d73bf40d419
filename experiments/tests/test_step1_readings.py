"""experiments/step1_readings.py: the moved and zoomed copies it reads."""
from __future__ import annotations


import numpy as np
import pytest

# The scripts import each other as a script run does: from their own folder.
import step1_readings  # noqa: E402


def _blob() -> np.ndarray:
    """One 32x128 image with a 4x6 white rectangle at rows 14-17, columns 60-65."""
    images = np.zeros((1, 32, 128, 1), np.uint8)
    images[0, 14:18, 60:66] = 255
    return images


def _ink(images: np.ndarray) -> tuple[list[int], list[int]]:
    rows, cols = np.nonzero(images[0, ..., 0])
    return sorted(set(rows.tolist())), sorted(set(cols.tolist()))


@pytest.mark.parametrize("right, down", [(3, 0), (-3, 0), (0, 2), (0, -2), (3, -1)])
def test_moved_moves_ink_by_the_given_pixels(right: int, down: int) -> None:
    rows, cols = _ink(step1_readings.moved(_blob(), right, down))
    assert rows == list(range(14 + down, 18 + down)) and cols == list(range(60 + right, 66 + right))


def test_zoomed_keeps_the_shape_and_grows_or_shrinks_about_the_centre() -> None:
    images = np.zeros((1, 32, 128, 1), np.uint8)
    images[0, 12:20, 56:72] = 255                      # centred 8x16 rectangle
    widths = {}
    for factor in (0.9, 1.0, 1.1):
        out = step1_readings.zoomed(images, factor)
        assert out.shape == images.shape and out.dtype == np.uint8
        rows, cols = _ink(np.where(out > 127, out, 0))
        widths[factor] = len(cols)
        assert abs((cols[0] + cols[-1]) / 2 - 63.5) <= 1 and abs((rows[0] + rows[-1]) / 2 - 15.5) <= 1
    assert widths[0.9] < widths[1.0] == 16 < widths[1.1]


def test_reading_sets_start_with_the_notebooks_reading() -> None:
    sets = step1_readings.reading_sets()
    assert sets["x ±3 (the report's)"] == [(0, 0, 1.0), (-3, 0, 1.0), (3, 0, 1.0)]
    assert all(len(keys) == len(set(keys)) for keys in sets.values())
