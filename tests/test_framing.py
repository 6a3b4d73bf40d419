"""Real SVHN framings read from the published boxes: parsing, clear errors, sampling."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from helpers.synth import framing

HEADER = "name,image_width,image_height,label,top,left,height,width\n"


def write(path: Path, body: str) -> Path:
    path.write_text(HEADER + body)
    return path


def test_one_row_per_photo_with_its_number_box_fill_place_and_spacing(tmp_path: Path) -> None:
    # "19" in a 100x50 photo: digits 20 px tall, 10 and 12 px wide, 2 px apart; a lone "5" beside.
    path = write(tmp_path / "a.csv", "1.png,100,50,1,10,40,20,10\n1.png,100,50,9,10,52,20,12\n2.png,60,30,5,5,1,20,10\n")
    rows = framing.parse_frames(path)
    np.testing.assert_allclose(rows[0], [2, 100, 50, 0.4, 0.4, 0.52, 24 / 20, 2 / 20])
    np.testing.assert_allclose(rows[1], [1, 60, 30, 20 / 30, 15 / 30, 6 / 60, 0.5, 0.0])
    frame = framing.sample(np.random.default_rng(0), rows[1:])
    assert frame.length == 1 and frame.centre_x == 0.15     # clipped: a number at the very edge


def test_long_numbers_are_left_out_as_in_the_notebook(tmp_path: Path) -> None:
    body = "".join(f"1.png,200,40,{d},5,{10 + 12 * d},20,10\n" for d in range(1, 7))
    assert framing.parse_frames(write(tmp_path / "six.csv", body)).shape == (0, 8)


@pytest.mark.parametrize("text, message", [
    ("name,width\n1.png,3\n", "does not look like an SVHN annotation file"),
    (HEADER + "1.png,100,50,1,10,40,twenty,10\n", "line 2"),
    (HEADER + "1.png,100,0,1,10,40,20,10\n", "positive sizes"),
])
def test_malformed_files_get_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        framing.parse_frames(path)


def test_missing_annotations_give_none(tmp_path: Path) -> None:
    assert framing.frames("train", str(tmp_path)) is None


@pytest.mark.skipif(not (SHARED_DATA / "svhn-annotations").exists(), reason=f"{SHARED_DATA} has no svhn-annotations")
def test_real_svhn_train_framings() -> None:
    rows = framing.frames("train", str(SHARED_DATA))
    assert len(rows) == 33401                                # 33,402 photos, one of them with 6 digits
    assert np.bincount(rows[:, 0].astype(int)).argmax() == 2  # mostly two digits
    assert 0.6 < np.median(rows[:, 3]) < 0.8                  # the number fills most of the photo's height
