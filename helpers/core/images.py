"""Loading any photo a user may bring as a clean RGB array, and box overlap (IoU)."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


MAX_SIDE = 2048          # larger photos are shrunk on load: reading a number needs far fewer pixels
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 120_000_000  # refuse "decompression bombs" beyond this many pixels


def _to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Any Pillow mode -> RGB: transparency over `background`, 16-bit and float scaled to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.round().astype(np.uint8), "L")
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
        flat = Image.new("RGBA", image.size, background + (255,))
        image = Image.alpha_composite(flat, image)
    return image.convert("RGB")


@dataclass(frozen=True)
class Photo:
    """A photo as the models see it (`pixels`, at most `max_side` a side) and its own size."""

    pixels: np.ndarray                 # RGB uint8, upright, shrunk if the photo was larger than max_side
    size: tuple[int, int]              # (height, width) of the upright photo itself, before any shrinking

    @property
    def scale(self) -> tuple[float, float]:
        """(rows, columns) of the photo per pixel of `pixels`: 1.0 unless it was shrunk."""
        return self.size[0] / self.pixels.shape[0], self.size[1] / self.pixels.shape[1]

    def to_photo_pixels(self, box) -> tuple[float, float, float, float]:
        """A (top, left, bottom, right) box in `pixels` -> the same box in the photo's own pixels."""
        rows, columns = self.scale
        top, left, bottom, right = (float(v) for v in box)
        return top * rows, left * columns, bottom * rows, right * columns


def open_photo(source, *, max_side: int = MAX_SIDE, name: str | None = None) -> Photo:
    """Read a photo (path, bytes, file object, PIL image or array), upright, as RGB uint8, with its own size.

    EXIF orientation is applied (phone photos are often stored sideways), transparency is laid on
    white, greyscale/palette/16-bit images become RGB, and photos larger than `max_side` pixels on a
    side are shrunk (`Photo.size` keeps the photo's own size, to give boxes back in its pixels).
    `name` is how error messages call the photo (default: its path, or "the uploaded file").
    Raises FileNotFoundError for a missing file and ValueError, in one plain sentence, for anything
    that is not a readable image.
    """
    if isinstance(source, Photo):
        return source
    if isinstance(source, np.ndarray):
        image = Image.fromarray(_array_to_rgb(source))
        size = image.size
    elif isinstance(source, Image.Image):
        image = source
        size = image.size
    else:
        if isinstance(source, (str, Path)):
            name, opener = name or str(source), _existing_file(Path(source), name)
        else:
            name = name or getattr(source, "name", None) or "the uploaded file"
            opener = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(opener)
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(f"{name} is {image.width}x{image.height} pixels, too large to read safely.")
                size = image.size
                image.draft("RGB", (max_side, max_side))   # JPEG: decode at a reduced scale directly
                image.load()
        # The exceptions' own texts name Python objects (<_io.BytesIO object at 0x...>): not for a person.
        except UnidentifiedImageError as error:
            raise _not_an_image(name) from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValueError(f"{name} has too many pixels to read safely.") from error
        except (OSError, SyntaxError, EOFError) as error:   # truncated or corrupt data
            raise ValueError(f"{name} could not be decoded: the file may be truncated or corrupt.") from error
    if _exif_rotates(image):
        size = size[::-1]
    image = _to_rgb(ImageOps.exif_transpose(image))
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.BILINEAR)
    return Photo(np.asarray(image), (int(size[1]), int(size[0])))


def load_image(source, *, max_side: int = MAX_SIDE, name: str | None = None) -> np.ndarray:
    """`open_photo(...).pixels`: the photo as an upright RGB uint8 array, shrunk above `max_side`."""
    return open_photo(source, max_side=max_side, name=name).pixels


def check_image(path) -> None:
    """Quick check that a file is there and looks like an image (its header only, no decoding):
    FileNotFoundError or ValueError in one plain sentence otherwise. Decoding errors come later."""
    path = _existing_file(Path(path))
    try:
        with Image.open(path):
            pass
    except UnidentifiedImageError as error:
        raise _not_an_image(str(path)) from error
    except OSError as error:
        raise ValueError(f"{path} could not be opened: {error.strerror or 'unreadable file'}.") from error


def _existing_file(path: Path, name: str | None = None) -> Path:
    """`path`, or FileNotFoundError / ValueError in one sentence naming it (`name`, else the path)."""
    if not path.exists():
        raise FileNotFoundError(f"{name or path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{name or path} is a folder, not an image file.")
    if not path.is_file():
        raise ValueError(f"{name or path} is not a file.")
    return path


def _not_an_image(name: str) -> ValueError:
    """The error for data that no image format recognizes."""
    return ValueError(f"{name} is not an image that can be read (PNG, JPEG, ...).")


def _exif_rotates(image: Image.Image) -> bool:
    """Whether the photo's EXIF orientation turns it by 90 or 270 degrees (width and height swap)."""
    try:
        return image.getexif().get(0x0112, 1) in (5, 6, 7, 8)
    except Exception:   # unreadable EXIF: exif_transpose leaves such a photo as it is
        return False


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """An (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array of any numeric type -> RGB uint8."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or min(array.shape[:2]) < 1:
        raise ValueError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}.")
    if array.dtype.kind not in "biuf":   # complex, text or objects would be cast silently, or fail obscurely
        raise ValueError(f"an image array must hold real numbers (integers, floats or booleans); got {array.dtype}.")
    if array.dtype != np.uint8:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError("the image array holds NaN or infinite values.")
        high = values.max()
        scale = 255.0 if high <= 1.0 else (255.0 / 65535.0 if high > 255 else 1.0)
        array = np.clip(values * scale, 0, 255).round().astype(np.uint8)
    mode = "L" if array.ndim == 2 else ("RGB" if array.shape[2] == 3 else "RGBA")
    return np.asarray(_to_rgb(Image.fromarray(np.ascontiguousarray(array), mode)))


def list_images(folder: Path) -> list[Path]:
    """Every image file in a folder (by suffix, any case), sorted by name; other files are ignored."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of images.")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
