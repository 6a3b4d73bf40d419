"""Step 4's localizer: letterbox coordinates, the box loss, the data stream and the model."""
from __future__ import annotations

import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers.core import cropping
from helpers.core.boxes import iou
from helpers.modeling import localization


def test_letterbox_coordinates_map_back_to_the_photo() -> None:
    photo = tf.zeros((50, 200, 3), tf.uint8)
    boxed, scale, padding = cropping.letterbox(photo, 100)
    assert boxed.shape == (100, 100, 3) and float(scale) == 0.5 and padding.numpy().tolist() == [37, 0]
    original = np.array([10.0, 40.0, 30.0, 120.0])                          # top, left, bottom, right
    normalised = cropping.to_letterbox(original, scale, padding, 100).numpy()
    np.testing.assert_allclose(normalised, [0.42, 0.2, 0.52, 0.6])
    back = cropping.from_letterbox(normalised, float(scale), padding.numpy(), (50, 200), 100)
    np.testing.assert_allclose(back, original, atol=1e-4)
    swapped = cropping.from_letterbox([0.6, 0.9, 0.3, -0.1], float(scale), padding.numpy(), (50, 200), 100)
    np.testing.assert_allclose(swapped, [0, 0, 46, 180])                     # ordered, clipped to the photo


def test_box_loss_is_zero_for_a_perfect_box_and_skips_photos_without_numbers() -> None:
    loss = localization.BoxLoss()
    truth = np.array([[0.2, 0.1, 0.6, 0.9], [localization.NO_BOX] * 4], np.float32)
    perfect = np.asarray(loss.call(truth, np.array([[0.2, 0.1, 0.6, 0.9], [0.5, 0.5, 0.6, 0.6]], np.float32)))
    np.testing.assert_allclose(perfect, [0, 0], atol=1e-5)
    shifted = np.asarray(loss.call(truth[:1], np.array([[0.3, 0.2, 0.7, 1.0]], np.float32)))
    expected_iou = iou(truth[0], np.array([0.3, 0.2, 0.7, 1.0]))
    # Every corner off by 0.1, past delta 0.05: a smooth L1 of slope 1 gives 0.1 - 0.025 per corner, weighed 5.
    assert shifted[0] == pytest.approx(5 * 4 * (0.1 - 0.025) + 1 - expected_iou, rel=1e-5)
    slightly = np.asarray(loss.call(truth[:1], truth[:1] + 0.01))            # inside delta: quadratic, 0.5 e^2 / delta
    assert slightly[0] == pytest.approx(5 * 4 * 0.5 * 0.01 ** 2 / 0.05 + 1 - iou(truth[0], truth[0] + 0.01), rel=1e-4)


def _photos(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir()
    paths, boxes = [], []
    for index, (height, width) in enumerate([(40, 120), (90, 60), (50, 50)]):
        pixels = np.zeros((height, width, 3), np.uint8)
        box = [height * 0.25, width * 0.3, height * 0.75, width * 0.7]
        pixels[int(box[0]):int(box[2]), int(box[1]):int(box[3])] = 255
        Image.fromarray(pixels).save(folder / f"{index}.png")
        paths.append(str(folder / f"{index}.png"))
        boxes.append(box if index < 2 else [localization.NO_BOX] * 4)       # the last: "no number"
    return np.array(paths), np.array(boxes, np.float32)


def test_stream_targets_match_the_bright_box(tmp_path: Path) -> None:
    paths, boxes = _photos(tmp_path / "photos")
    photos, targets = next(iter(localization.localization_dataset(paths, boxes, training=False, batch_size=3, size=48)))
    assert photos.shape == (3, 48, 48, 3) and photos.dtype == tf.uint8
    np.testing.assert_array_equal(targets["has_number"].numpy()[:, 0], [1, 1, 0])
    for photo, box in zip(photos.numpy()[:2], targets["box"].numpy()[:2]):
        top, left, bottom, right = np.round(box * 48).astype(int)
        assert photo[top + 2:bottom - 2, left + 2:right - 2].mean() > 240    # the box is on the bright area
    stream = iter(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48))
    for _ in range(3):                                                        # random crops keep the box whole
        photos, targets = next(stream)
        for photo, box, has in zip(photos.numpy(), targets["box"].numpy(), targets["has_number"].numpy()[:, 0]):
            if has:
                assert (box >= -1e-4).all() and (box <= 1 + 1e-4).all()
                top, left, bottom, right = np.round(box * 48).astype(int)
                assert photo[top + 2:bottom - 2, left + 2:right - 2].mean() > 200


def test_localizer_outputs_and_reloads(tmp_path: Path) -> None:
    model = localization.compile_localizer(localization.build_localizer(48, filters=(4, 8), dense_units=8), 1e-3)
    outputs = model.predict(np.zeros((2, 48, 48, 3), np.uint8), verbose=0)
    assert outputs["box"].shape == (2, 4) and outputs["has_number"].shape == (2, 1)
    paths, boxes = _photos(tmp_path / "photos")
    history = model.fit(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48),
                        epochs=30, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert history["loss"][-1] < history["loss"][0]
    model.save(tmp_path / "localizer.keras")
    again = keras.models.load_model(tmp_path / "localizer.keras")
    np.testing.assert_allclose(again.predict(np.zeros((1, 48, 48, 3)), verbose=0)["box"],
                               model.predict(np.zeros((1, 48, 48, 3)), verbose=0)["box"], rtol=1e-5)


def test_with_blank_scenes_appends_the_empty_scenes_with_no_box() -> None:
    table = types.SimpleNamespace(paths=np.array(["a.png", "b.png"]),
                                  union=np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.float32))
    paths, boxes = localization.with_blank_scenes(table, [Path("empty.png")])
    assert paths.tolist() == ["a.png", "b.png", "empty.png"]
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [5, 6, 7, 8], [localization.NO_BOX] * 4])
    assert boxes.dtype == np.float32 and localization.with_blank_scenes(table, [])[0].tolist() == ["a.png", "b.png"]


def test_localizer_pool_first_keeps_the_weights_and_pools_before_batch_norm() -> None:
    before = localization.build_localizer(48, filters=(4, 8), dense_units=8)
    after = localization.build_localizer(48, filters=(4, 8), dense_units=8, pool_first=True)
    assert before.count_params() == after.count_params()
    assert after.get_layer("block1_bn1").input.shape[1:3] == (24, 24)
    assert before.get_layer("block1_bn1").input.shape[1:3] == (48, 48)


def test_fit_localizer_keeps_the_best_iou_epoch_and_caches(tmp_path: Path, monkeypatch) -> None:
    from helpers.modeling import training

    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    paths, boxes = _photos(tmp_path / "photos")
    validation = localization.letterbox_arrays(paths, boxes, size=48)
    assert validation[0].shape == (3, 48, 48, 3) and validation[0].dtype == np.uint8
    np.testing.assert_array_equal(validation[1][2], [localization.NO_BOX] * 4)
    settings = dict(batch_size=3, epochs=3, steps_per_epoch=2, learning_rate=1e-3, seed=0,
                    model_args={"filters": (4, 8), "dense_units": 8})
    first = training.fit_localizer(paths, boxes, validation, **settings)
    scores = first.history["val_mean_iou"]
    assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)
    assert first.info["best_epoch"] == int(np.argmax(scores)) + 1 and not first.from_cache
    again = training.fit_localizer(paths, boxes, validation, **settings)
    assert again.from_cache and again.history == first.history
    # A model that early stopping may have cut short is not reused for a run without early stop.
    assert not training.fit_localizer(paths, boxes, validation, **settings, patience=3).from_cache


def test_zoom_out_pastes_photos_small_into_wider_scenes(tmp_path: Path) -> None:
    paths, boxes = _photos(tmp_path / "photos")
    scene = tmp_path / "scene.png"
    Image.fromarray(np.full((30, 30, 3), 60, np.uint8)).save(scene)        # a grey "wall" without a number
    with np.testing.assert_raises(ValueError):
        localization.localization_dataset(paths, boxes, training=True, batch_size=3, zoom_out=0.5)
    plain = iter(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48, seed=1))
    zoomed = iter(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48, seed=1,
                                                    backgrounds=[scene], zoom_out=1.0, max_zoom=3.0))
    areas = {"plain": [], "zoomed": []}
    for name, stream in (("plain", plain), ("zoomed", zoomed)):
        for _ in range(4):
            photos, targets = next(stream)
            for photo, box, has in zip(photos.numpy(), targets["box"].numpy(), targets["has_number"].numpy()[:, 0]):
                if not has:
                    continue
                top, left, bottom, right = np.round(box * 48).astype(int)
                assert photo[top + 1:bottom - 1, left + 1:right - 1].mean() > 200   # still on the bright box
                areas[name].append((box[2] - box[0]) * (box[3] - box[1]))
            if name == "zoomed":
                assert (np.abs(photos.numpy().astype(int) - 60) < 3).any(axis=-1).any()   # the scene shows
    assert np.mean(areas["zoomed"]) < 0.8 * np.mean(areas["plain"])


def test_tight_crops_fill_the_photo_with_the_number(tmp_path: Path) -> None:
    paths, boxes = _photos(tmp_path / "photos")
    with np.testing.assert_raises(ValueError):
        localization.localization_dataset(paths, boxes, training=True, batch_size=3, tight=1.5)
    scene = tmp_path / "scene.png"
    Image.fromarray(np.full((30, 30, 3), 60, np.uint8)).save(scene)
    # tight=1: every photo with a number is cropped to it (and never pasted into a wider scene).
    tight = iter(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48, seed=1,
                                                   tight=1.0, backgrounds=[scene], zoom_out=1.0))
    plain = iter(localization.localization_dataset(paths, boxes, training=True, batch_size=3, size=48, seed=1))
    spans = {"tight": [], "plain": []}
    for name, stream in (("tight", tight), ("plain", plain)):
        for _ in range(4):
            photos, targets = next(stream)
            for photo, box, has in zip(photos.numpy(), targets["box"].numpy(), targets["has_number"].numpy()[:, 0]):
                if has:
                    top, left, bottom, right = np.round(box * 48).astype(int)
                    assert photo[top + 1:bottom - 1, left + 1:right - 1].mean() > 200   # still on the bright box
                    spans[name].append(max(box[2] - box[0], box[3] - box[1]))
    # The longer side of the number spans the letterbox but for at most TIGHT_MARGIN of its height a side
    # (plus a pixel of rounding); the plain crops keep far wider margins.
    limit = 1 / (1 + 2 * localization.TIGHT_MARGIN) - 2 / 48
    assert min(spans["tight"]) >= limit and np.mean(spans["plain"]) < limit
