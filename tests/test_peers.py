"""The peers a user would try instead (Tesseract, RapidOCR), scored on the same real photos."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from helpers.datasets import real_photos
from helpers.report import peers


def test_digits_are_kept_in_order_and_the_rest_dropped() -> None:
    assert peers.digits_of("No. 12a-3") == "123" and peers.digits_of("none") == ""


def test_in_box_grows_the_box_by_the_readers_margin_and_stays_in_the_photo() -> None:
    photo = np.zeros((100, 200, 3), np.uint8)
    assert peers.in_box(photo, np.array([40, 50, 60, 150])).shape[:2] == (26, 130)   # 20x100 grown by 30%
    assert peers.in_box(photo, np.array([0, 0, 100, 200])).shape[:2] == (100, 200)  # clipped to the photo
    with pytest.raises(ValueError, match="unknown peer"):
        peers.available("magic-ocr")


@pytest.mark.skipif(not peers.available("rapidocr"), reason="rapidocr-onnxruntime is not installed")
def test_rapidocr_reads_a_clear_printed_number_in_a_box_and_in_the_whole_photo() -> None:
    image = Image.new("RGB", (360, 160), (250, 250, 250))
    ImageDraw.Draw(image).text((70, 40), "4071", fill=(10, 10, 10), font=ImageFont.load_default(size=72))
    photo = np.asarray(image)
    labelled = real_photos.LabelledPhotos("drawn", ["drawn.png"], [photo], ["4071"], np.array([[40.0, 60, 125, 300]]))
    in_box = peers.score("rapidocr", labelled, in_true_box=True)
    whole = peers.score("rapidocr", labelled, in_true_box=False)
    assert in_box["accuracy"] == 1.0 and whole["accuracy"] == 1.0 and in_box["count"] == 1
    assert in_box["seconds_per_photo"] > 0
    blank = real_photos.LabelledPhotos("blank", ["blank.png"], [np.full((80, 200, 3), 255, np.uint8)], ["7"], None)
    assert peers.score("rapidocr", blank, in_true_box=False)["accuracy"] == 0.0      # nothing there, nothing read
    assert peers.score("rapidocr", blank, in_true_box=True)["accuracy"] == 0.0       # a crop is its own box
    figures = peers.evaluate([labelled, None], names=("rapidocr",))
    assert list(figures) == ["drawn"] and figures["drawn"]["rapidocr"]["true_box"]["accuracy"] == 1.0
