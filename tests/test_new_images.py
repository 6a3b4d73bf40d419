"""Step 3's images/ folder: enough new images, each label matching its file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conftest import PROJECT_ROOT
from helpers.core import images

FOLDER = PROJECT_ROOT / "images"


def test_images_folder_has_at_least_five_labelled_numbers() -> None:
    files = images.list_images(FOLDER)
    labels = json.loads((FOLDER / "labels.json").read_text())
    assert {p.name for p in files} == set(labels)
    with_numbers = [name for name, label in labels.items() if label["number"]]
    assert len(with_numbers) >= 5
    for name, label in labels.items():
        height, width = images.load_image(FOLDER / name).shape[:2]
        assert label["number"].isdigit() or label["number"] == ""
        if label["box"] is not None:
            top, left, bottom, right = label["box"]
            assert 0 <= top < bottom <= height and 0 <= left < right <= width, name


def test_list_images_skips_other_files(tmp_path) -> None:
    (tmp_path / "b.JPG").write_bytes(b"")
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in images.list_images(tmp_path)] == ["a.png", "b.JPG"]


def test_real_photos_carry_their_attribution_and_licence() -> None:
    labels = json.loads((FOLDER / "labels.json").read_text())
    real = {name: label for name, label in labels.items() if label.get("kind") == "real photo"}
    assert len(real) >= 5
    readme = (FOLDER / "README.md").read_text()
    for name, label in real.items():
        assert label["attribution"] and label["source"].startswith("licensed-photos/"), name
        assert name in readme, f"images/README.md does not credit {name}"
    assert any((FOLDER / "licenses").glob("*Apache*")) and any((FOLDER / "licenses").glob("*MIT*"))


def test_load_puts_real_photos_first_and_scores_accepted_second_numbers(tmp_path) -> None:
    from types import SimpleNamespace

    from PIL import Image

    from helpers.datasets import new_images

    for name in ("a_made.png", "b_real.png", "c_unlabelled.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path / "labels.json").write_text(json.dumps({
        "a_made.png": {"number": "12", "box": None, "kind": "made"},
        "b_real.png": {"number": "315", "accept": ["309"], "box": None, "kind": "real photo"}}))
    folder = new_images.load(tmp_path)
    assert [p.name for p in folder.paths] == ["b_real.png", "a_made.png", "c_unlabelled.png"]
    read = [SimpleNamespace(number=n, confidence=0.9, status="read") for n in ("309", "13", "7")]
    scores = new_images.score(folder, read)
    assert scores["labelled"] == 2 and scores["correct"] == 1
    assert scores["real_photos"] == {"labelled": 1, "correct": 1, "accuracy": 1.0, "with_number": 1, "numbers_read": 1}
    assert scores["made_images"]["correct"] == 0
    assert (scores["sure"], scores["sure_right"]) == (3 - 1, 1)      # the unlabelled image is not counted
    skipped = new_images.score(folder, [read[0], None, read[2]])     # None: not read (no labelled box)
    assert skipped["labelled"] == 1 and skipped["images"] == 2 and skipped["made_images"]["labelled"] == 0
    assert new_images.is_right(folder.labels[0], "") is False and new_images.is_right(None, "1") is None
    entries = new_images.entries(folder, read)
    assert entries[0]["truth"] == "309" and entries[1]["truth"] == "12" and entries[2]["truth"] is None


def test_box_hits_count_good_boxes_among_the_images_that_hold_a_number() -> None:
    from helpers.datasets import new_images

    entries = [{"kind": new_images.REAL, "iou": 0.7, "truth": "12"}, {"kind": new_images.REAL, "iou": 0.3, "truth": "5"},
               {"kind": new_images.REAL, "iou": None, "truth": ""}, {"kind": new_images.MADE, "iou": 0.5, "truth": "7"},
               {"kind": new_images.MADE, "iou": None, "truth": "8"}]
    assert new_images.box_hits(entries) == {new_images.REAL: (1, 2), new_images.MADE: (1, 2)}
    assert new_images.box_hits(entries, least_iou=0.6) == {new_images.REAL: (1, 2), new_images.MADE: (0, 2)}
    assert new_images.hits(entries) == [entries[0]] and new_images.hits(entries, new_images.MADE) == [entries[3]]


def test_in_true_boxes_reads_each_labelled_box_and_skips_the_others() -> None:
    from types import SimpleNamespace

    from helpers.datasets import new_images

    photos = [np.zeros((20, 30, 3), np.uint8), np.ones((40, 50, 3), np.uint8)]
    folder = new_images.NewImages([Path("a.png"), Path("b.png")], photos,
                                  [{"number": "", "box": None}, {"number": "7", "box": [1, 2, 30, 40]}])
    calls = []

    class Reader:
        def read(self, sources, boxes):
            calls.append((len(sources), boxes.tolist()))
            return [SimpleNamespace(number="7") for _ in sources]

    readings = new_images.in_true_boxes(folder, Reader())
    assert readings[0] is None and readings[1].number == "7" and calls == [(1, [[1.0, 2.0, 30.0, 40.0]])]


def test_around_number_cuts_to_the_true_box_and_moves_both_boxes() -> None:
    from helpers.datasets import new_images

    photo = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3)
    cut, true, found = new_images.around_number(photo, [40, 80, 50, 120], [45, 60, 55, 100], margin=1.0)
    assert cut.shape[:2] == (30, 60) and (cut == photo[30:60, 70:130]).all()
    assert true.tolist() == [10, 10, 20, 50] and found.tolist() == [15, 0, 25, 30]     # clipped at the cut's left
    _, _, outside = new_images.around_number(photo, [40, 80, 50, 120], [0, 0, 5, 5])
    assert outside is None
    whole, none, same = new_images.around_number(photo, None, [1, 2, 3, 4])
    assert whole is photo and none is None and same == [1, 2, 3, 4]


def _two_photo_folder():
    """A real photo with its number at rows 40-60, and a made image without a number (no box)."""
    from helpers.datasets import new_images

    photos = [np.zeros((100, 200, 3), np.uint8), np.zeros((50, 50, 3), np.uint8)]
    return new_images.NewImages([Path("plate.jpg"), Path("empty.png")], photos,
                                [{"number": "73", "accept": ["12"], "box": [40, 80, 60, 120], "kind": "real photo"},
                                 {"number": "", "box": None, "kind": "made"}])


def _reading(number: str, box, confidence: float = 0.9):
    from helpers.app.reader import Reading

    return Reading(number=number, digit_confidences=(), confidence=confidence, has_number=0.9,
                   box=None if box is None else tuple(float(v) for v in box), image_size=(100, 200), confident=False)


def test_views_add_a_panel_where_the_first_box_lies_outside_the_cut() -> None:
    from helpers.datasets import new_images

    folder = _two_photo_folder()
    shown = new_images.views(folder, [_reading("6", [80, 10, 90, 20], 0.96), _reading("", None, 0.0)])
    assert [(v.index, v.title) for v in shown] == [(0, "plate: '6' (0.96)"), (0, "plate: where its first box is"),
                                                   (1, "empty: '' (0.00)")]
    assert shown[0].found is None and shown[0].true.tolist() == [20, 20, 40, 60]    # the box is outside the cut
    assert shown[1].true is None and shown[1].found.tolist() == [10, 10, 20, 20]    # the cut around the box itself
    assert [v.colour for v in shown] == ["red", "red", "green"]
    inside = new_images.views(folder, [_reading("73", [42, 82, 58, 118]), _reading("", None)])
    assert len(inside) == 2 and inside[0].found is not None


def test_misses_say_what_the_first_box_held_and_other_numbers_are_counted() -> None:
    from helpers.datasets import new_images

    folder = _two_photo_folder()
    found = [[_reading("6", [80, 10, 90, 20], 0.96), _reading("12", [0, 0, 5, 5]), _reading("73", [40, 80, 60, 120])],
             [_reading("", None)]]
    located = [_reading("41", [30, 70, 70, 140]), _reading("", None)]
    (miss,) = new_images.misses(folder, found, located)
    assert miss["name"] == "plate.jpg" and miss["first_height"] == 10 and miss["true_height"] == 20
    assert miss["found_later"] and not miss["from_localizer"] and miss["localizer_number"] == "41"
    assert 0.2 < miss["localizer_iou"] < 0.5
    assert new_images.misses(folder, [found[0][2:], found[1]], located) == []      # the first box is the number's
    assert new_images.other_numbers(folder, found) == (2, ["12 in plate.jpg", "73 in plate.jpg"])
    assert new_images.number_heights(folder, 64) == [64 * 20 / 200]
