"""Step 3's images/ folder: enough new images, each label matching its file."""
from __future__ import annotations

import json

from conftest import PROJECT_ROOT
from helpers import images

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
