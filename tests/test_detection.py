"""Step 4's digit detector: its targets, loss, decoding, grouping into numbers and training stream."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers.datasets.digitstruct import Annotation, write_digit_struct
from helpers.modeling import detection, detection_data


def test_targets_put_a_peak_at_each_digit_centre_and_its_box_around_it() -> None:
    digit_boxes = np.full((detection_data.MAX_DIGITS, 4), -1.0, np.float32)
    digit_boxes[:2] = [[20, 10, 60, 30], [22, 36, 62, 58]]            # two digits side by side
    heat, box = detection_data.targets(tf.constant(digit_boxes), tf.constant(2), 32, 32)
    heat, box = heat.numpy()[..., 0], box.numpy()
    peaks = np.argwhere(heat >= 0.999)
    assert sorted(map(tuple, peaks)) == [(10, 5), (10, 11)]         # centres (40, 20) and (42, 47) / 4
    np.testing.assert_allclose(box[10, 5, :4], digit_boxes[0])
    np.testing.assert_allclose(box[10, 11, :4], digit_boxes[1])
    assert box[10, 5, 4] == pytest.approx(1.0) and box[0, 0, 4] == 0  # weight 1 at a centre, 0 far away
    empty, _ = detection_data.targets(tf.constant(digit_boxes), tf.constant(0), 32, 32)
    assert float(tf.reduce_max(empty)) == 0                          # a photo without a number: no bump


def test_box_loss_is_zero_for_exact_boxes_and_grows_with_error() -> None:
    target = np.zeros((1, 4, 4, 5), np.float32)
    centres = np.asarray(detection.cell_centres(4, 4))
    target[0, 1, 1, :4] = [centres[1, 1, 0] - 3, centres[1, 1, 1] - 2, centres[1, 1, 0] + 5, centres[1, 1, 1] + 2]
    target[0, 1, 1, 4] = 1.0
    exact = np.zeros((1, 4, 4, 4), np.float32) + 1.0
    exact[0, 1, 1] = [3, 2, 5, 2]
    loss = detection.DigitBoxLoss()
    assert float(loss.call(target, exact)[0]) == pytest.approx(0.0, abs=1e-5)
    wrong = exact.copy()
    wrong[0, 1, 1] = [6, 4, 10, 4]
    assert float(loss.call(target, wrong)[0]) > 0.5


def test_peaks_become_boxes_in_input_pixels() -> None:
    heat = np.zeros((8, 8, 1), np.float32)
    heat[2, 3, 0], heat[2, 4, 0], heat[6, 6, 0] = 0.9, 0.5, 0.2        # a peak, its shoulder, a weak spot
    distances = np.full((8, 8, 4), 4.0, np.float32)
    found, scores = detection.peaks(heat, distances, min_score=0.3)
    assert scores.tolist() == pytest.approx([0.9])
    cy, cx = 2.5 * detection.STRIDE - 0.5, 3.5 * detection.STRIDE - 0.5
    np.testing.assert_allclose(found[0], [cy - 4, cx - 4, cy + 4, cx + 4])


def test_digits_on_one_line_make_one_number_and_a_distant_digit_another() -> None:
    digits = np.array([[10, 10, 40, 28], [11, 30, 41, 48], [12, 50, 42, 68],   # "123" on one line
                       [100, 200, 115, 210],                                   # small, far away
                       [10, 72, 70, 100]])                                     # twice as tall: not the same number
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.6])
    numbers = detection.group_digits(digits, scores)
    counts = sorted(n.count for n in numbers)
    assert counts == [1, 1, 3]
    three = next(n for n in numbers if n.count == 3)
    np.testing.assert_allclose(three.box, [10, 10, 42, 68])
    assert three.score == pytest.approx(0.8)
    assert [n.score for n in numbers] == sorted((n.score for n in numbers), reverse=True)


def test_suppress_keeps_the_best_of_overlapping_digits() -> None:
    found = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 20, 10, 30]], np.float64)
    kept = detection.suppress(found, np.array([0.5, 0.9, 0.7]), overlap=0.4)
    assert kept.tolist() == [1, 2]


def test_spec_refuses_sizes_the_trunk_cannot_take_and_picks_the_pyramid() -> None:
    with pytest.raises(ValueError, match="multiples of 16"):
        detection.DetectorSpec(sizes=(100,))
    spec = detection.DetectorSpec(sizes=(96, 256, 640), max_upscale=2.0)
    assert spec.sizes_for((120, 300)) == (96, 256) and spec.sizes_for((1200, 3000)) == (96, 256, 640)
    assert spec.sizes_for((20, 30)) == (96,)                      # the smallest size always


def _format1_folder(folder: Path) -> Path:
    """Two photos with a two-digit number each, in format 1."""
    folder.mkdir()
    annotations = []
    for index in (1, 2):
        image = np.full((60, 90, 3), 200, np.uint8)
        image[15:45, 20:35] = 20
        image[15:45, 45:60] = 20
        Image.fromarray(image).save(folder / f"{index}.png")
        annotations.append(Annotation(f"{index}.png", (1, 2), np.array([[20, 15, 15, 30], [45, 15, 15, 30]], float)))
    write_digit_struct(folder / "digitStruct.mat", annotations)
    return folder


def test_stream_windows_keep_the_digits_and_the_detector_learns_from_it(tmp_path: Path) -> None:
    table = detection_data.digit_table(_format1_folder(tmp_path / "train"), keep=lambda name: name != "2.png")
    assert len(table) == 1 and table.counts.tolist() == [2]
    np.testing.assert_allclose(table.boxes[0, :2], [[15, 20, 45, 35], [15, 45, 45, 60]])
    both = detection_data.concat([table, detection_data.blank_table([table.paths[0]])], [3, 1])
    assert len(both) == 4 and both.counts.tolist() == [2, 2, 2, 0]
    stream = detection_data.detection_dataset(both, batch_size=4, seed=0, close=0.5)
    windows, targets = next(iter(stream))
    assert windows.shape == (4, 128, 128, 3) and windows.dtype == tf.uint8
    assert targets["heat"].shape == (4, 32, 32, 1) and targets["box"].shape == (4, 32, 32, 5)
    peaks_per_window = (targets["heat"].numpy() >= 0.999).sum(axis=(1, 2, 3))
    assert peaks_per_window.max() <= 2 and peaks_per_window.sum() >= 2
    model = detection.compile_detector(detection.build_detector(filters=(8, 8, 8, 8), head=8), 1e-3)
    history = model.fit(stream, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_detect_returns_numbers_in_the_photos_own_pixels() -> None:
    model = detection.build_detector(filters=(8, 8, 8, 8), head=8)
    photos = [np.zeros((50, 120, 3), np.uint8), np.zeros((900, 500, 3), np.uint8)]

    def fake(_model, inputs, _batch):   # a digit centre at cell (8, 10) of every input
        heat = np.zeros((len(inputs), inputs.shape[1] // 4, inputs.shape[2] // 4, 1), np.float32)
        heat[:, 8, 10] = 0.9
        return {"heat": heat, "box": np.full((*heat.shape[:3], 4), 6.0, np.float32)}

    spec = detection.DetectorSpec(sizes=(96, 256, 640))
    found = detection.detect(model, photos, spec, predict=fake)
    assert len(found) == 2 and all(numbers for numbers in found)
    for photo, numbers in zip(photos, found):
        for number in numbers:
            assert (number.box >= 0).all() and number.box[2] <= photo.shape[0] and number.box[3] <= photo.shape[1]
    outputs = model(np.zeros((1, 96, 160, 3), np.float32))
    assert outputs["heat"].shape == (1, 24, 40, 1) and outputs["box"].shape == (1, 24, 40, 4)
    assert float(keras.ops.min(outputs["box"])) > 0
