"""One box convention, (top, left, bottom, right), and its converters."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.core import boxes


def test_converters_round_trip_between_the_three_orders() -> None:
    ltwh = np.array([[10, 20, 5, 8], [18, 22, 4, 10]])          # digitStruct: left, top, width, height
    tlbr = boxes.from_ltwh(ltwh)
    np.testing.assert_allclose(tlbr, [[20, 10, 28, 15], [22, 18, 32, 22]])
    np.testing.assert_allclose(boxes.to_pil(tlbr[0]), [10, 20, 15, 28])   # PIL: left, top, right, bottom
    np.testing.assert_allclose(boxes.union(tlbr), [20, 10, 32, 22])


def test_scaling_keeps_the_centre_and_growing_adds_a_share() -> None:
    box = np.array([10.0, 20.0, 30.0, 60.0])
    np.testing.assert_allclose(boxes.scaled(box, 2.0), [0, 0, 40, 80])
    np.testing.assert_allclose(boxes.grown(box, 0.3), [7, 14, 33, 66])
    rows = np.stack([box, box + 5])
    np.testing.assert_allclose(boxes.scaled(rows, 0.5)[1], [20, 35, 30, 55])
    assert np.allclose(boxes.scaled(rows, 1.0), rows)


def test_iou_of_same_disjoint_half_and_empty_boxes() -> None:
    box = np.array([0.0, 0.0, 10.0, 10.0])
    assert boxes.iou(box, box) == 1.0
    assert boxes.iou(box, [20, 20, 30, 30]) == 0.0
    assert boxes.iou(box, [0, 5, 10, 15]) == pytest.approx(50 / 150)
    assert boxes.iou([0, 0, 0, 0], [0, 0, 0, 0]) == 0.0
    with pytest.raises(ValueError, match="at least one box"):
        boxes.union(np.zeros((0, 4)))


def test_around_grows_a_box_by_its_height_on_every_side_inside_the_photo() -> None:
    assert boxes.around(np.array([40.0, 80.0, 50.0, 120.0]), 1.0, (100, 200)).tolist() == [30, 70, 60, 130]
    assert boxes.around(np.array([2.0, 3.0, 12.0, 20.0]), 0.5, (14, 22)).tolist() == [0, 0, 14, 22]   # clipped
