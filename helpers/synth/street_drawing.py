"""How a stand-in house number is drawn: its settings, walls, digits, plaques, relief, clutter and camera.

The pieces `helpers.synth.street_numbers` puts together into one photo; each one takes a random generator,
so that a photo is reproducible from its seed.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from skimage import transform

from helpers.core.boxes import from_ltwh, to_pil, union
from helpers.synth import fonts, framing

# SVHN train's length mix (lengths 1-5; the rare 6-digit numbers are left out, see Step 2).
SVHN_LENGTHS = (0.15, 0.53, 0.27, 0.045, 0.005)


def font_pools(font_set: str = "many") -> tuple[list[Path], list[Path]]:
    """(training font files, held-out font files): the held-out ones are reserved for Step 3's new images."""
    return [path for files in fonts.training_families(font_set).values() for path in files], fonts.held_out_fonts()


# Photos bundled in scikit-image's wheel (read from disk: its fetchers would go online for others).
TRAIN_TEXTURES = ("brick.png", "gravel.png", "grass.png", "rocket.jpg", "coffee.png", "chelsea.png",
                  "astronaut.png", "camera.png", "moon.png", "page.png", "coins.png", "text.png",
                  "hubble_deep_field.jpg", "motorcycle_left.png")
HELD_OUT_TEXTURES = ("motorcycle_right.png", "ihc.png", "cell.png")


@lru_cache(maxsize=None)
def texture(name: str) -> np.ndarray:
    """One of scikit-image's bundled photos as an RGB uint8 array."""
    import skimage.data

    with Image.open(Path(skimage.data.__file__).parent / name) as image:
        return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class StreetConfig:
    """How the stand-in house numbers look; every range is sampled uniformly per image."""

    lengths: tuple[float, ...] = SVHN_LENGTHS     # probability of 1..5 digits
    final_height: tuple[int, int] = (32, 110)     # height of the saved image in pixels
    rotation: float = 7.0                         # degrees, either way
    perspective: float = 0.12                     # max relative corner displacement
    plaque: float = 0.45                          # probability of a plaque behind the digits
    photo_wall: float = 0.6                       # probability of a photo texture (else procedural)
    distractors: float = 0.3                      # probability of other digits beside the number
    blur: float = 1.2                             # max Gaussian blur radius at the final size
    noise: float = 8.0                            # max Gaussian noise sigma (0-255 scale)
    jpeg_quality: tuple[int, int] = (25, 95)
    # What makes the stand-in look like real photos (each one switched off reproduces the first stand-in):
    font_set: str = "many"                        # "many": 100+ system font families; "few": pip's 10
    geometry: str = "svhn"                        # "svhn": framing of a real SVHN photo; "hand": hand-set ranges
    look: bool = True                             # raised/engraved digits, muted colours, low resolution, motion
    clutter: bool = True                          # frame edges and lines, more text beside the number
    lone_zeros: bool = True                       # a one-digit number is 0 as often as any digit (not only 1%)

    def first(self) -> "StreetConfig":
        """The first stand-in's settings (before the realism changes), for the ablation in Q5."""
        return replace(self, font_set="few", geometry="hand", look=False, clutter=False, lone_zeros=False)


def random_colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(np.float64)


def contrasting(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A colour whose brightness differs from `background`'s by at least 70 levels."""
    brightness = background.mean()
    for _ in range(20):
        colour = random_colour(rng)
        if abs(colour.mean() - brightness) > 70:
            return colour
    return np.full(3, 0.0 if brightness > 127 else 255.0)


def wall(rng: np.random.Generator, height: int, width: int, config: StreetConfig,
          textures: tuple[str, ...]) -> np.ndarray:
    """A background: a random crop of a photo (rescaled, tinted) or a procedural surface."""
    if rng.random() < config.photo_wall:
        photo = texture(textures[rng.integers(len(textures))])
        scale = rng.uniform(0.3, 1.0)
        crop_h = min(photo.shape[0], max(8, int(height * scale * rng.uniform(0.5, 1.5))))
        crop_w = min(photo.shape[1], max(8, int(width * scale * rng.uniform(0.5, 1.5))))
        top = rng.integers(0, photo.shape[0] - crop_h + 1)
        left = rng.integers(0, photo.shape[1] - crop_w + 1)
        patch = Image.fromarray(photo[top:top + crop_h, left:left + crop_w]).resize((width, height), Image.BILINEAR)
        wall = np.asarray(patch, np.float32)
        tint = rng.uniform(0.6, 1.3, 3)
        return np.clip(wall * tint + rng.uniform(-40, 40), 0, 255)
    base = random_colour(rng)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    kind = rng.integers(4)
    if kind == 0:      # stucco: smoothed noise
        grain = np.asarray(Image.fromarray(rng.normal(128, 60, (height, width)).clip(0, 255).astype(np.uint8))
                           .filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3))), np.float64) - 128
        wall = base + grain[..., None] * rng.uniform(0.3, 1.0)
    elif kind == 1:    # wood or siding: stripes
        period = rng.uniform(0.05, 0.3)
        angle = rng.uniform(0, np.pi)
        stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) / period * 2 * np.pi + rng.uniform(0, 6))
        wall = base + stripes[..., None] * rng.uniform(10, 40)
    elif kind == 2:    # bricks drawn as a grid of mortar lines
        wall = np.broadcast_to(base, (height, width, 3)).copy()
        row = max(4, int(height * rng.uniform(0.12, 0.3)))
        mortar = random_colour(rng)
        for r, top in enumerate(range(0, height, row)):
            wall[top:top + max(1, row // 8)] = mortar
            offset = (r % 2) * row
            for left in range(offset, width, 2 * row):
                wall[top:top + row, left:left + max(1, row // 8)] = mortar
    else:              # painted surface with a smooth gradient
        wall = base + ((x * rng.uniform(-60, 60)) + (y * rng.uniform(-60, 60)))[..., None]
    return np.clip(wall + rng.normal(0, rng.uniform(0, 6), (height, width, 1)), 0, 255).astype(np.float32)


def text_layer(rng: np.random.Generator, digits: list[int], font_path: Path, size: int,
                distractors: bool, config: StreetConfig, frame: framing.Frame | None = None):
    """Digits drawn in white (outline black) on a transparent layer: (layer, per-digit boxes, extent).

    They are coloured later, once the wall behind them is known, so that paint contrasts with it.
    With a real photo's `frame`, the digits are spaced as that photo's are and the layer is made
    large enough to hold the photo's whole view around the number.
    """
    font = ImageFont.truetype(str(font_path), size)
    glyphs = [str(d) for d in digits]
    if frame is None:
        gap = int(size * rng.uniform(-0.05, 0.25))
    else:
        # SVHN's boxes are looser than the ink (digits ~0.72 of the font size): boxes that touch leave a
        # little space between the glyphs, and overlapping boxes rarely mean overlapping ink.
        gap = int(round(size * 0.72 * max(frame.gap + 0.1, -0.04) * rng.uniform(0.8, 1.2)))
    widths = [font.getbbox(g)[2] - font.getbbox(g)[0] for g in glyphs]
    total = max(1, sum(widths) + gap * (len(glyphs) - 1))
    pad_x, pad_y = int(size * rng.uniform(1.0, 2.5)) + total // 2, int(size * rng.uniform(0.8, 1.6))
    if frame is not None:   # room for the real photo's view (its height is the number's / fill), no more
        view_h = size * 0.8 / frame.fill
        view_w = view_h * frame.width / frame.height / 0.75       # 0.75: the narrowest stretch in _framed
        pad_x = max(pad_x, int(0.85 * view_w - total / 2 + size / 2))
        pad_y = max(pad_y, int(0.8 * view_h - size / 2))
    width, height = total + 2 * pad_x, size * 2 + 2 * pad_y
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour, stroke_colour = (255, 255, 255, 255), (0, 0, 0, 255)
    stroke = int(size * rng.uniform(0.02, 0.06)) if rng.random() < 0.2 else 0
    boxes, x, baseline = [], pad_x, pad_y + size // 2
    for glyph, glyph_width in zip(glyphs, widths):
        left, top, right, bottom = font.getbbox(glyph)
        y_jitter = int(size * rng.uniform(-0.04, 0.04))
        origin = (x - left, baseline + y_jitter)
        draw.text(origin, glyph, font=font, fill=colour, stroke_width=stroke, stroke_fill=stroke_colour)
        boxes.append([x - stroke, baseline + y_jitter + top - stroke, right - left + 2 * stroke,
                      bottom - top + 2 * stroke])
        x += glyph_width + gap
    boxes = np.array(boxes, np.float64)
    extent = tuple(to_pil(union(from_ltwh(boxes))))   # left, top, right, bottom of all the digits
    if distractors:     # other numbers or letters beside the house number, unlabelled as in SVHN
        other = "".join(str(d) for d in rng.integers(0, 10, rng.integers(1, 4)))
        if rng.random() < 0.3:
            other = "".join(chr(c) for c in rng.integers(65, 91, rng.integers(1, 4)))
        other_font = font
        if config.clutter and rng.random() < 0.5:    # other text is often in another type and size
            pool = font_files(config.font_set)
            other_font = ImageFont.truetype(str(pool[rng.integers(len(pool))]), int(size * rng.uniform(0.4, 1.1)))
        other_width = other_font.getbbox(other)[2]
        space = int(size * (rng.uniform(0.25, 1.2) if config.clutter else rng.uniform(0.6, 1.5)))
        side_x = extent[0] - space - other_width if rng.random() < 0.5 else extent[2] + space
        draw.text((side_x, baseline + int(size * rng.uniform(-0.3, 0.3))), other, font=other_font, fill=colour)
    return layer, boxes, extent


def plaque(layer: Image.Image, extent: tuple, rng: np.random.Generator, colour: np.ndarray) -> Image.Image:
    """A rounded rectangle (with an optional border) drawn under `layer`."""
    margin_x = (extent[2] - extent[0]) * rng.uniform(0.08, 0.35) + 3
    margin_y = (extent[3] - extent[1]) * rng.uniform(0.1, 0.4) + 3
    board = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(board)
    shape = [extent[0] - margin_x, extent[1] - margin_y, extent[2] + margin_x, extent[3] + margin_y]
    border = tuple(int(c) for c in random_colour(rng)) + (255,)
    draw.rounded_rectangle(shape, radius=int(rng.uniform(0, 0.4) * margin_y * 2),
                           fill=tuple(int(c) for c in colour) + (255,),
                           outline=border if rng.random() < 0.5 else None, width=max(1, int(margin_y * 0.2)))
    return Image.alpha_composite(board, layer)


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 projective map taking 4 source points onto 4 target points (scikit-image's fit), last entry 1."""
    fit = transform.ProjectiveTransform.from_estimate(source, target)
    if not fit:   # a failed fit is falsy (source points that span no area)
        raise ValueError(f"no projective map takes {source.tolist()} onto {target.tolist()}.")
    return fit.params / fit.params[2, 2]


def warp_boxes(boxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Axis-aligned boxes around each projected box (left, top, width, height)."""
    out = []
    for left, top, width, height in boxes:
        corners = np.array([[left, top, 1], [left + width, top, 1], [left, top + height, 1],
                            [left + width, top + height, 1]]) @ matrix.T
        xy = corners[:, :2] / corners[:, 2:]
        out.append([xy[:, 0].min(), xy[:, 1].min(), np.ptp(xy[:, 0]), np.ptp(xy[:, 1])])
    return np.array(out)


def clutter(wall: np.ndarray, extent: tuple, rng: np.random.Generator) -> np.ndarray:
    """Structure around the number: door, window and frame edges, posts and lines (Ganin & Lempitsky's gap)."""
    height, width = wall.shape[:2]
    image = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    number_h = extent[3] - extent[1]
    for _ in range(rng.integers(1, 4)):
        colour = tuple(int(c) for c in random_colour(rng))
        thickness = max(1, int(number_h * rng.uniform(0.03, 0.3)))
        if rng.random() < 0.35:   # a frame around the number (plate edge, window, door panel)
            margin = number_h * rng.uniform(0.2, 1.5)
            draw.rectangle([extent[0] - margin * rng.uniform(0.5, 3), extent[1] - margin,
                            extent[2] + margin * rng.uniform(0.5, 3), extent[3] + margin], outline=colour,
                           width=thickness)
        elif rng.random() < 0.5:  # a vertical edge (door jamb, post, pipe) beside the number
            side = extent[0] - number_h * rng.uniform(0.3, 2.5) if rng.random() < 0.5 else \
                extent[2] + number_h * rng.uniform(0.3, 2.5)
            draw.rectangle([side, 0, side + thickness, height], fill=colour)
        else:                     # a horizontal edge (lintel, sill, shelf) above or below it
            level = extent[1] - number_h * rng.uniform(0.2, 1.5) if rng.random() < 0.5 else \
                extent[3] + number_h * rng.uniform(0.2, 1.5)
            draw.rectangle([0, level, width, level + thickness], fill=colour)
    return np.asarray(image, np.float32)


def relief(alpha: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Shading of raised (or, negated, engraved) digits lit from one side: +/- along the glyph edges."""
    soft = np.asarray(Image.fromarray((alpha[..., 0] * 255).astype(np.uint8))
                      .filter(ImageFilter.GaussianBlur(max(1.0, size * rng.uniform(0.02, 0.06)))), np.float32) / 255
    grad_y, grad_x = np.gradient(soft)
    angle = rng.uniform(0, 2 * np.pi)
    shade = -(grad_x * np.cos(angle) + grad_y * np.sin(angle))
    shade /= max(float(np.abs(shade).max()), 1e-6)
    return shade * rng.uniform(50, 140) * (1 if rng.random() < 0.7 else -1)


def camera(final: Image.Image, rng: np.random.Generator, config: StreetConfig) -> Image.Image:
    """Lens and sensor: low resolution blown up, defocus or motion blur, faded colour."""
    # Few real pixels, upscaled (many SVHN photos are), never below ~14 px of photo height.
    factor = min(rng.uniform(1.5, 3.0), final.height / 14)
    if config.look and rng.random() < 0.35 and factor > 1.2:
        small = final.resize((max(4, round(final.width / factor)), max(4, round(final.height / factor))), Image.BILINEAR)
        final = small.resize(final.size, Image.BICUBIC if rng.random() < 0.5 else Image.BILINEAR)
    final = final.filter(ImageFilter.GaussianBlur(rng.uniform(0, config.blur)))
    if config.look and rng.random() < 0.2:    # motion blur along a random direction
        length = int(rng.integers(2, 5))
        angle = rng.uniform(0, np.pi)
        kernel = np.zeros((5, 5))
        for t in np.linspace(-length / 2, length / 2, 4 * length):
            kernel[int(round(2 + t * np.sin(angle))), int(round(2 + t * np.cos(angle)))] = 1
        final = final.filter(ImageFilter.Kernel((5, 5), kernel.ravel().tolist(), scale=kernel.sum()))
    if config.look and rng.random() < 0.35:   # washed-out colour
        grey = np.asarray(final.convert("L").convert("RGB"), np.float32)
        mix = rng.uniform(0.3, 0.9)
        final = Image.fromarray(np.clip(grey + (np.asarray(final, np.float32) - grey) * mix, 0, 255).astype(np.uint8))
    return final


def framed(warped: Image.Image, boxes: np.ndarray, frame: framing.Frame, rng: np.random.Generator,
            fill: tuple[int, ...], config: StreetConfig) -> tuple[Image.Image, np.ndarray]:
    """Cut the view of a real SVHN photo out of the rendered scene: its size, and its number's place and fill."""
    around = to_pil(union(from_ltwh(boxes)))   # left, top, right, bottom of all the digits
    number_w, number_h = max(around[2] - around[0], 1), max(around[3] - around[1], 1)
    stretch = float(np.clip(frame.aspect / (number_w / number_h), 0.75, 1.35))   # digits as wide as the photo's
    out_h = int(np.clip(frame.height, 16, config.final_height[1] * 1.5))
    out_w = max(8, int(round(out_h * frame.width / frame.height)))
    view_h = number_h / frame.fill
    view_w = view_h * frame.width / frame.height / stretch
    top = (around[1] + around[3]) / 2 - frame.centre_y * view_h
    left = (around[0] + around[2]) / 2 - frame.centre_x * view_w
    final = warped.transform((out_w, out_h), Image.EXTENT, (left, top, left + view_w, top + view_h),
                             Image.BILINEAR, fillcolor=fill)
    scale = np.array([out_w / view_w, out_h / view_h, out_w / view_w, out_h / view_h])
    return final, (boxes - [left, top, 0, 0]) * scale




@lru_cache(maxsize=2)
def families(font_set: str) -> tuple[tuple[Path, ...], ...]:
    """The training font families, as tuples of files (cached per worker process)."""
    return tuple(fonts.training_families(font_set).values())


@lru_cache(maxsize=2)
def font_files(font_set: str) -> tuple[Path, ...]:
    """Every training font file, in `font_pools` order (cached: other text beside a number draws from it)."""
    return tuple(path for family in families(font_set) for path in family)

