"""Goodfellow-style preprocessing of format-1 splits: boxes, labels, and the tf.data crop stream."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import svhn
from helpers.sequences import BLANK
from helpers.svhn import Annotation


def test_union_and_expanded_boxes() -> None:
    boxes = np.array([[10, 20, 5, 10], [16, 18, 6, 14]])            # left, top, width, height
    np.testing.assert_allclose(svhn.union_box(boxes), [18, 10, 32, 22])
    np.testing.assert_allclose(svhn.expand_box([18, 10, 32, 22], 0.3), [15.9, 8.2, 34.1, 23.8])


def _split(folder: Path, entries: list[tuple[tuple[int, ...], tuple[int, int, int, int]]]) -> Path:
    """A format-1 split whose images are dark with a bright rectangle where the number is."""
    folder.mkdir(parents=True)
    annotations = []
    for index, (digits, (left, top, width, height)) in enumerate(entries, start=1):
        image = np.zeros((60, 100, 3), np.uint8)
        image[top:top + height, left:left + width] = 255
        Image.fromarray(image).save(folder / f"{index}.png")
        step = width / len(digits)
        boxes = np.array([[left + i * step, top, step, height] for i in range(len(digits))])
        annotations.append(Annotation(f"{index}.png", digits, boxes))
    svhn.write_digit_struct(folder / "digitStruct.mat", annotations)
    return folder


def test_number_table_pads_with_blank_and_drops_long_numbers(tmp_path: Path) -> None:
    folder = _split(tmp_path / "train", [((1, 9), (20, 10, 40, 30)), ((0,), (5, 5, 10, 20)),
                                        ((1, 2, 3, 4, 5, 6), (0, 0, 90, 30))])
    table = svhn.number_table(folder, svhn.parse_digit_struct(folder / "digitStruct.mat"))
    assert len(table) == 2 and table.dropped == 1
    np.testing.assert_array_equal(table.labels, [[2, 1, 9, BLANK, BLANK, BLANK], [1, 0] + [BLANK] * 4])
    np.testing.assert_allclose(table.union[0], [10, 20, 40, 60])


def test_crop_stream_shapes_content_and_randomness(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    folder = _split(tmp_path / "test", [((1, 9), (20, 10, 40, 30)), ((7, 7, 7), (50, 20, 45, 35))])
    table = svhn.number_table(folder, svhn.parse_digit_struct(folder / "digitStruct.mat"))
    images, labels = next(iter(svhn.crop_dataset(table, training=False, batch_size=8)))
    assert images.shape == (2, 54, 54, 3) and images.dtype.name == "uint8"
    np.testing.assert_array_equal(labels.numpy(), table.labels)
    # The crop is the number's box grown by 30%: bright in the middle, dark at the edges.
    centre, edge = images[:, 20:34, 20:34].numpy().mean(), images[:, :, :2].numpy().mean()
    assert centre > 250 and edge < 100
    again, _ = next(iter(svhn.crop_dataset(table, training=False, batch_size=8)))
    np.testing.assert_array_equal(images.numpy(), again.numpy())   # evaluation is deterministic
    stream = iter(svhn.crop_dataset(table, training=True, batch_size=2, seed=0))
    crops = [next(stream)[0].numpy() for _ in range(4)]            # endless, random windows
    assert len({c.tobytes() for c in crops}) > 1


def test_missing_images_are_reported(tmp_path: Path) -> None:
    folder = _split(tmp_path / "train", [((1,), (20, 10, 40, 30))])
    (folder / "1.png").unlink()
    with pytest.raises(FileNotFoundError, match="1.png"):
        svhn.number_table(folder, svhn.parse_digit_struct(folder / "digitStruct.mat"))
