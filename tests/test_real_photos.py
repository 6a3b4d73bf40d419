"""The real-photo yardstick: loading the sets, framing tight crops, scoring, and the Tesseract baseline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import SHARED_DATA
from helpers.app.reader import Reading
from helpers.datasets import real_photos
from helpers.modeling import metrics


def reading(number: str, confident: bool = True, confidence: float = 0.9) -> Reading:
    """A reading as the end-to-end reader returns it."""
    return Reading(number=number, digit_confidences=(confidence,) * len(number), confidence=confidence if number else 0.0,
                   has_number=1.0, box=(0, 0, 1, 1) if number else None, image_size=(10, 10),
                   confident=confident and bool(number))


def digit_photo(digit: str, size: int = 60, colour=(20, 20, 20), background=(230, 220, 200)) -> np.ndarray:
    """A clean, tight crop of one digit in DejaVu Sans (from matplotlib)."""
    import matplotlib

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"), size)
    left, top, right, bottom = font.getbbox(digit)
    image = Image.new("RGB", (right - left + 8, bottom - top + 8), background)
    ImageDraw.Draw(image).text((4 - left, 4 - top), digit, font=font, fill=colour)
    return np.asarray(image)


def fake_chars74k(root: Path) -> None:
    """Two digits per folder 0-2, plus a stray text file that must be ignored."""
    for digit in "012":
        (root / "chars74k-digits" / digit).mkdir(parents=True)
        for index in range(2):
            Image.fromarray(digit_photo(digit)).save(root / "chars74k-digits" / digit / f"img{index}.png")
    (root / "chars74k-digits" / "0" / "notes.txt").write_text("not an image")


def test_chars74k_loads_every_digit_folder_and_is_none_when_absent(tmp_path: Path) -> None:
    assert real_photos.chars74k_digits(tmp_path) is None
    fake_chars74k(tmp_path)
    digits = real_photos.chars74k_digits(tmp_path)
    assert len(digits) == 6 and digits.numbers == ["0", "0", "1", "1", "2", "2"]
    assert all(photo.ndim == 3 and photo.dtype == np.uint8 for photo in digits.photos)


def test_chars74k_without_images_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "chars74k-digits" / "3").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no images"):
        real_photos.chars74k_digits(tmp_path)


def test_framed_continues_the_edges_for_the_training_margin() -> None:
    photo = np.zeros((20, 10, 3), np.uint8)
    photo[:, :5] = 200
    padded, box = real_photos.framed(photo)
    assert padded.shape == (26, 14, 3) and box.tolist() == [3, 2, 23, 12]
    np.testing.assert_array_equal(padded[3:23, 2:12], photo)
    assert (padded[:, :2] == 200).all() and (padded[:, -2:] == 0).all()     # edges repeated, not black
    grown = np.array([box[0] - 3, box[1] - 1.5, box[2] + 3, box[3] + 1.5])  # the reader's 30% growth
    assert grown[0] >= 0 and grown[1] >= 0 and grown[2] <= 26 and grown[3] <= 14


def test_the_scorer_counts_sure_answers_and_misses() -> None:
    truth = ["1", "2", "3", "4"]
    readings = [reading("1"), reading("7"), reading("3", confident=False), reading("")]
    scores = metrics.score_readings(readings, truth)
    assert scores["accuracy"] == 0.5 and scores["confident_share"] == 0.5 and scores["confident_precision"] == 0.5
    assert scores["by_status"] == {"read": {"share": 0.5, "right": 0.5}, "unsure": {"share": 0.25, "right": 1.0},
                                   "no number": {"share": 0.25, "right": 0.0}}
    matrix = real_photos.single_digit_answers(readings + [reading("12")], truth + ["1"])
    assert matrix[1, 1] == 1 and matrix[2, 7] == 1 and matrix[4, 11] == 1 and matrix[1, 10] == 1
    assert matrix.sum() == 5
    assert metrics.score_readings([reading("5", confident=False)], ["5"])["confident_precision"] is None
    # With the true boxes: how good each box is, and where each wrong reading was lost.
    boxed = metrics.score_readings(readings, truth, np.array([[0, 0, 1, 1], [0, 0, 1, 1], [5, 5, 9, 9], [0, 0, 1, 1]]))
    assert boxed["_iou"].tolist() == [1.0, 1.0, 0.0, 0.0] and boxed["mean_iou"] == 0.5
    assert (boxed["lost_no_box"], boxed["lost_loose_box"], boxed["lost_good_box"]) == (0.25, 0.0, 0.25)
    assert metrics.score_readings(readings, truth, right=[True] * 4)["accuracy"] == 1.0
    with pytest.raises(ValueError):
        metrics.score_readings([], [])


class ScriptedReader:
    """Answers the true digit for crops read inside a box and "" through the localizer."""

    def __init__(self, truth: list[str]) -> None:
        self.truth = truth

    def read(self, photos, boxes=None):
        return [reading(t if boxes is not None else "") for t in self.truth[:len(photos)]]


def test_evaluate_measures_each_set_that_is_present(tmp_path: Path) -> None:
    assert real_photos.evaluate(ScriptedReader([]), tmp_path, tesseract=False) == {"_readings": {}}
    fake_chars74k(tmp_path)
    figures = real_photos.evaluate(ScriptedReader(["0", "0", "1", "1", "2", "2"]), tmp_path, tesseract=False)
    digits = figures["chars74k"]
    assert digits["count"] == 6 and digits["accuracy"] == 1.0 and digits["end_to_end_accuracy"] == 0.0
    assert digits["by_status"]["no number"]["share"] == 1.0 and digits["tesseract_accuracy"] is None
    assert "svhn_sample" not in figures and set(figures["_readings"]) == {"chars74k"}


@pytest.mark.skipif(not real_photos.tesseract_available(), reason="tesseract-ocr is not installed")
def test_tesseract_reads_a_clean_digit_and_only_digits() -> None:
    assert real_photos.tesseract_read(digit_photo("7", size=40)) == "7"
    photos, truth = [digit_photo("4", size=40), digit_photo("8", size=40)], ["4", "3"]
    assert real_photos.tesseract_accuracy(photos, truth) == 0.5


@pytest.mark.skipif(not (SHARED_DATA / "chars74k-digits").exists(), reason=f"{SHARED_DATA} has no chars74k-digits")
def test_the_real_chars74k_set_holds_593_digits_of_every_class() -> None:
    digits = real_photos.chars74k_digits(SHARED_DATA)
    assert len(digits) == 593 and set(digits.numbers) == set("0123456789")


@pytest.mark.skipif(not (SHARED_DATA / "svhn-real").exists(), reason=f"{SHARED_DATA} has no svhn-real")
def test_real_svhn_parts_are_disjoint_and_validation_is_train_201_to_256() -> None:
    parts = {part: real_photos.svhn_real(part, SHARED_DATA) for part in real_photos.SVHN_REAL_PARTS}
    assert {part: len(photos) for part, photos in parts.items()} == {"train": 200, "validation": 56, "test": 128}
    assert [p.name for p in parts["validation"].paths][:2] == ["201.png", "202.png"]
    assert parts["train"].paths[-1].name == "200.png" and parts["test"].paths[0].parent.name == "test"
    assert parts["train"].numbers[:3] == ["19", "23", "25"]            # the known labels of train 1-3
    with pytest.raises(ValueError, match="part must be one of"):
        real_photos.svhn_real("extra", SHARED_DATA)


def test_svhn_scores_count_end_to_end_true_box_sure_answers_iou_and_lengths() -> None:
    photos = real_photos.LabelledPhotos("svhn_validation", [Path(f"{n}.png") for n in range(4)],
                                        [np.zeros((20, 40, 3), np.uint8)] * 4, ["12", "3", "45", "678"],
                                        np.array([[0.0, 0, 1, 1]] * 4))

    class Reader:   # end to end: right, right but unsure, wrong, none; in the true box all right
        def read(self, photos_, boxes=None):
            if boxes is not None:
                return [reading(t) for t in photos.numbers]
            return [reading("12"), reading("3", confident=False), reading("46"), reading("")]

    figures, end_to_end, true_box = real_photos.svhn_scores(Reader(), photos)
    assert figures["count"] == 4 and figures["end_to_end_accuracy"] == 0.5 and figures["true_box_accuracy"] == 1.0
    assert figures["confident_share"] == 0.5 and figures["confident_precision"] == 0.5
    assert figures["mean_iou"] == pytest.approx(0.75)          # three boxes found exactly, one missing
    assert figures["by_length"]["2"] == {"count": 2, "end_to_end_accuracy": 0.5, "true_box_accuracy": 1.0}
    assert len(end_to_end) == len(true_box) == 4
    # Wrong readings by cause: "46" in a good box, "" with no box at all.
    assert figures["iou_at_least_0.5"] == 0.75 and figures["lost_good_box"] == 0.25 and figures["lost_no_box"] == 0.25
    assert figures["lost_loose_box"] == 0.0


def test_photos_cut_around_their_number_keep_the_margin_asked_for() -> None:
    photo = np.arange(100 * 200 * 3, dtype=np.int64).reshape(100, 200, 3).astype(np.uint8)
    box = np.array([40.0, 80.0, 60.0, 120.0])                 # a number 20 px tall
    tight = real_photos.cut_around(photo, box, 0.0)
    assert tight.shape == (20, 40, 3) and (tight == photo[40:60, 80:120]).all()
    assert real_photos.cut_around(photo, box, 0.5).shape == (40, 60, 3)      # 10 px more on every side
    assert real_photos.cut_around(photo, box, 10.0).shape == (100, 200, 3)   # never past the photo
    photos = real_photos.LabelledPhotos("cut", [Path("a.png")], [photo], ["7"], box[None])

    class Reader:    # reads "7" only when the photo is cut close (at most 10 px of room each way)
        def read(self, cut):
            return [reading("7" if max(c.shape[:2]) <= 60 else "1") for c in cut]

    scores = real_photos.framing_scores(Reader(), photos, margins=(0.0, 0.5, 1.0))
    assert scores == {"0": 1.0, "0.5": 1.0, "1": 0.0}
