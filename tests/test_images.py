"""Loading any photo as upright RGB, clear errors for bad files, and box overlap."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.core import images
from helpers.core.boxes import iou


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "I;16", "1", "CMYK"])
def test_every_mode_becomes_rgb_uint8(tmp_path: Path, mode: str) -> None:
    source = Image.new("RGB", (40, 20), (200, 30, 30))
    image = source.convert(mode) if mode != "I;16" else Image.fromarray(np.arange(800, dtype=np.uint16).reshape(20, 40) * 80)
    suffix = ".tiff" if mode in ("CMYK", "I;16") else ".png"
    array = images.load_image(_save(image, tmp_path / f"x{suffix}"))
    assert array.shape == (20, 40, 3) and array.dtype == np.uint8
    if mode == "I;16":   # 16-bit ramps are scaled to the full 8-bit range
        assert array.min() == 0 and array.max() == 255


def test_transparent_pixels_are_laid_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert (images.load_image(_save(image, tmp_path / "t.png")) == 255).all()


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((20, 60, 3), np.uint8)
    pixels[:, :10] = 255                                     # a white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6                                         # "rotate 90 degrees clockwise to view"
    path = _save(Image.fromarray(pixels), tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = images.load_image(path)
    assert upright.shape[:2] == (60, 20)                     # portrait once turned
    assert upright[:10].mean() > 200 and upright[-10:].mean() < 60   # the band is now on top


def test_huge_photos_are_shrunk(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (5000, 1000), (10, 20, 30)), tmp_path / "big.jpg")
    height, width = images.load_image(path).shape[:2]
    assert width == images.MAX_SIDE and abs(width / height - 5) < 0.05


def test_bad_inputs_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        images.load_image(tmp_path / "missing.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not an image"):
        images.load_image(tmp_path / "notes.txt")
    good = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(good, "PNG")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        images.load_image(good.getvalue()[:200])
    with pytest.raises(ValueError, match="folder"):
        images.load_image(tmp_path)
    with pytest.raises(ValueError, match="image array"):
        images.load_image(np.zeros((4, 4, 2)))
    for odd in (np.zeros((4, 4), complex), np.full((4, 4), "7"), np.empty((4, 4), object)):
        with pytest.raises(ValueError, match="real numbers"):
            images.load_image(odd)


def test_arrays_of_other_types_are_accepted() -> None:
    assert images.load_image(np.ones((5, 6), np.float32)).max() == 255          # 0-1 floats
    assert images.load_image(np.full((5, 6, 1), 7, np.uint8)).shape == (5, 6, 3)


def test_iou_of_known_boxes() -> None:
    box = np.array([0, 0, 10, 10])
    assert iou(box, box) == 1.0
    assert iou(box, np.array([20, 20, 30, 30])) == 0.0
    assert iou(box, np.array([0, 5, 10, 15])) == pytest.approx(50 / 150)
    np.testing.assert_allclose(iou(np.stack([box, box]), np.array([[0, 0, 5, 10], [0, 0, 10, 10]])), [0.5, 1])
