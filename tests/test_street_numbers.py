"""The offline SVHN stand-in: deterministic rendering, sane boxes, and SVHN format-1 output."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.core import boxes as box_tools
from helpers.datasets import digitstruct
from helpers.synth import street_drawing, street_numbers


def test_rendering_is_deterministic_and_boxes_lie_inside_the_image() -> None:
    first = street_numbers.render_house_number(np.random.default_rng((3, 1)))
    again = street_numbers.render_house_number(np.random.default_rng((3, 1)))
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    for index in range(30):
        image, digits, boxes = street_numbers.render_house_number(np.random.default_rng((5, index)))
        height, width, channels = image.shape
        assert channels == 3 and image.dtype == np.uint8 and 1 <= len(digits) <= 5
        assert boxes.shape == (len(digits), 4) and (boxes[:, 2:] >= 1).all()
        union = box_tools.union(box_tools.from_ltwh(boxes))
        assert union[0] >= 0 and union[1] >= 0 and union[2] <= height + 2 and union[3] <= width + 2
        assert (np.diff(boxes[:, 0]) > -boxes[:-1, 2]).all()        # digits run left to right


def test_lengths_follow_svhn_and_held_out_styles_stay_out_of_training() -> None:
    rng = np.random.default_rng(0)
    config = street_numbers.StreetConfig()
    lengths = [rng.choice(5, p=config.lengths) + 1 for _ in range(4000)]
    share = np.bincount(lengths, minlength=6)[1:] / len(lengths)
    assert share.argmax() == 1 and share[4] < 0.02                  # mostly 2 digits, few 5
    train, held_out = street_drawing.font_pools()
    assert len(train) >= 20 and held_out and not set(train) & set(held_out)
    assert all(path.exists() for path in train + held_out)
    assert not set(street_drawing.TRAIN_TEXTURES) & set(street_drawing.HELD_OUT_TEXTURES)
    assert street_drawing.texture(street_drawing.TRAIN_TEXTURES[0]).shape[2] == 3


def test_written_split_reads_back_through_the_svhn_parser(tmp_path: Path) -> None:
    folder = street_numbers.write_split(tmp_path / "train", 7, seed=1, progress=False, workers=1)
    annotations = digitstruct.parse_digit_struct(folder / "digitStruct.mat")
    assert [a.name for a in annotations] == [f"{i}.png" for i in range(1, 8)]
    for index, annotation in enumerate(annotations):
        _, digits, boxes = street_numbers.render_house_number(np.random.default_rng((1, index)))
        assert annotation.digits == digits
        np.testing.assert_allclose(annotation.boxes, boxes)
        with Image.open(folder / annotation.name) as image:
            assert image.mode == "RGB"
    sizes = {Image.open(folder / a.name).size for a in annotations}
    assert len(sizes) > 1                                          # images of varying size


def test_blank_scenes_have_no_number() -> None:
    rng_args = (9, 4)
    scene, digits, boxes = street_numbers.render_house_number(np.random.default_rng(rng_args))
    empty, no_digits, no_boxes = street_numbers.render_house_number(np.random.default_rng(rng_args), blank=True)
    assert no_digits == () and no_boxes.shape == (0, 4) and digits and empty.dtype == np.uint8
    assert empty.shape == scene.shape and not np.array_equal(empty, scene)   # same scene, characters left out


def test_blank_scenes_have_no_number_and_are_reused(tmp_path) -> None:
    first = street_numbers.blank_scenes(3, seed=5, root=tmp_path, progress=False, workers=1)
    assert [p.name for p in first] == ["blank-1.png", "blank-2.png", "blank-3.png"]
    assert all(p.exists() for p in first)
    stamp = first[0].stat().st_mtime_ns
    again = street_numbers.blank_scenes(3, seed=5, root=tmp_path, progress=False, workers=1)
    assert again == first and first[0].stat().st_mtime_ns == stamp      # cached, not re-rendered


def test_svhn_geometry_frames_the_photo_like_the_real_one(monkeypatch) -> None:
    # Every photo framed like one real photo: 120x40, a 3-digit number filling 60% of the height.
    table = np.array([[3, 120, 40, 0.6, 0.5, 0.5, 1.4, 0.05]])
    monkeypatch.setattr(street_numbers.framing, "frames", lambda split: table)
    for index in range(8):
        image, digits, boxes = street_numbers.render_house_number(np.random.default_rng((2, index)))
        assert image.shape == (40, 120, 3) and len(digits) == 3
        top, left, bottom, right = box_tools.union(box_tools.from_ltwh(boxes))
        assert abs((bottom - top) / 40 - 0.6) < 0.12 and abs((top + bottom) / 2 / 40 - 0.5) < 0.12
        assert 0 <= left and right <= 120


def test_first_config_keeps_the_hand_set_framing(monkeypatch) -> None:
    monkeypatch.setattr(street_numbers.framing, "frames", lambda split: pytest.fail("read real framings"))
    config = street_numbers.StreetConfig().first()
    assert (config.font_set, config.geometry, config.look, config.clutter) == ("few", "hand", False, False)
    heights = [street_numbers.render_house_number(np.random.default_rng((4, i)), config)[0].shape[0] for i in range(10)]
    assert all(config.final_height[0] <= h <= config.final_height[1] for h in heights)


def test_an_interrupted_render_leaves_no_truncated_photo(tmp_path: Path, monkeypatch) -> None:
    real_save, calls = Image.Image.save, []

    def failing_save(self, fp, *args, **kwargs):
        if isinstance(fp, (str, Path)):   # photos on disk (the JPEG step saves into memory)
            calls.append(fp)
        if len(calls) == 3 and isinstance(fp, (str, Path)):     # the third photo: half written, then the process dies
            Path(fp).write_bytes(b"\x89PNG\r\n")
            raise KeyboardInterrupt
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        street_numbers.write_split(tmp_path / "train", 5, seed=1, progress=False, workers=1)
    assert sorted(p.name for p in (tmp_path / "train").glob("*.png")) == ["1.png", "2.png"]
    assert not (tmp_path / "train" / "digitStruct.mat").exists()


def test_a_lone_digit_is_a_zero_as_often_as_any_other() -> None:
    import dataclasses

    def lone_zeros(on: bool) -> int:
        config = dataclasses.replace(street_numbers.StreetConfig().first(), lengths=(1.0, 0, 0, 0, 0), lone_zeros=on)
        rng = np.random.default_rng(3)
        return sum(street_numbers.render_house_number(rng, config)[1] == (0,) for _ in range(150))

    assert lone_zeros(True) >= 8          # about 15 of 150
    assert lone_zeros(False) <= 4         # the first stand-in: about 1.5 of 150 (house numbers rarely start with 0)
