"""Make Step 3's "new images": numbers drawn by a process the models never trained on.

    .venv/bin/python scripts/make_new_images.py          # rewrites images/*.png|jpg and images/labels.json
    DIGITS_DATA_DIR=../shared/data .venv/bin/python scripts/make_new_images.py --real-only   # the real photos

Beside the made images, six real photographs of numbers (a building number, two signs, an
equipment label, two licence plates) are copied byte for byte from the data folder's
`licensed-photos/` (sha256 checked), with their licence texts into images/licenses/; their
labels (true number, box measured by eye on the photo, source and attribution) are in `REAL_PHOTOS`.

Nobody on the team can photograph house numbers here (no camera), so these are made, not taken,
and the report says so. They differ from the training stand-in (helpers/synth/street_numbers.py) on
purpose: fonts and photo textures held out of training (`font_pools()[1]`, HELD_OUT_TEXTURES),
scene types the generator never draws (an enamel street sign, a handwritten note on lined
paper, a seven-segment display drawn from polygons, brass digits on a wooden door, a wide
shop-front where the number is small, a sign with no number at all), larger images, and the
file formats a phone or a web page gives (JPEG with an EXIF rotation, greyscale, RGBA, palette).
The true number and its box (as a viewer shows the image) go to images/labels.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from helpers.core import paths  # noqa: E402  (the script runs from anywhere)
from helpers.synth import street_drawing  # noqa: E402  (the script runs from anywhere)

OUT = Path(__file__).resolve().parent.parent / "images"
RNG = np.random.default_rng(2026)
HELD_OUT_FONTS = {path.name: path for path in street_drawing.font_pools()[1]}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A held-out font (never used by the training generator)."""
    return ImageFont.truetype(str(HELD_OUT_FONTS[name]), size)


def backdrop(name: str, width: int, height: int) -> Image.Image:
    """A held-out scikit-image photo, resized to cover (width, height)."""
    photo = Image.fromarray(street_drawing.texture(name))
    scale = max(width / photo.width, height / photo.height)
    photo = photo.resize((round(photo.width * scale) + 1, round(photo.height * scale) + 1), Image.BICUBIC)
    return photo.crop((0, 0, width, height))


def paste(scene: Image.Image, layer: Image.Image, mask: Image.Image, at: tuple[int, int],
          angle: float = 0.0) -> list[int]:
    """Rotate a layer (RGBA) and its digits-only mask alike, paste, return the digits' box (t, l, b, r)."""
    layer = layer.rotate(angle, Image.BICUBIC, expand=True)
    mask = mask.rotate(angle, Image.BICUBIC, expand=True)
    scene.paste(layer, at, layer)
    left, top, right, bottom = mask.point(lambda v: 255 if v > 96 else 0).getbbox()
    return [top + at[1], left + at[0], bottom + at[1], right + at[0]]


def text_layer(text: str, typeface: ImageFont.FreeTypeFont, fill, *, pad: int = 0, stroke: int = 0,
               stroke_fill=None, background=None, radius: int = 0, border=None):
    """Digits on a transparent (or plaque) layer, plus a mask of the digits alone."""
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=typeface, stroke_width=stroke)
    size = (right - left + 2 * pad, bottom - top + 2 * pad)
    layer, mask = Image.new("RGBA", size), Image.new("L", size)
    draw = ImageDraw.Draw(layer)
    if background is not None:
        draw.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=background,
                               outline=border, width=max(3, pad // 6))
    origin = (pad - left, pad - top)
    draw.text(origin, text, font=typeface, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
    ImageDraw.Draw(mask).text(origin, text, font=typeface, fill=255, stroke_width=stroke)
    return layer, mask


def enamel_sign() -> tuple[Image.Image, str, list[int], str]:
    """A blue enamel street sign with a white border on a held-out photo."""
    scene = backdrop("motorcycle_right.png", 640, 480)
    layer, mask = text_layer("27", font("DejaVuSerif-BoldItalic.ttf", 150), "white", pad=40,
                             background=(20, 60, 150), radius=30, border="white")
    box = paste(scene, layer, mask, (150, 110), angle=4)
    return scene.filter(ImageFilter.GaussianBlur(0.8)), "27", box, "enamel sign, held-out serif italic, motorcycle photo"


def handwritten_note() -> tuple[Image.Image, str, list[int], str]:
    """Ink handwriting-like digits on lined paper, saved greyscale."""
    scene = Image.new("RGB", (560, 400), (236, 232, 220))
    draw = ImageDraw.Draw(scene)
    for y in range(40, 400, 36):
        draw.line((0, y, 560, y), fill=(150, 170, 210), width=2)
    layer, mask = text_layer("4051", font("AmaticSC-Bold.ttf", 190), (25, 35, 90))
    box = paste(scene, layer, mask, (110, 70), angle=-6)
    noise = RNG.normal(0, 6, (400, 560, 1))
    scene = Image.fromarray(np.clip(np.asarray(scene, np.float64) + noise, 0, 255).astype(np.uint8))
    return scene.convert("L"), "4051", box, "handwriting-like font on lined paper (greyscale JPEG)"


SEGMENTS = {0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc", 7: "abc",
            8: "abcdefg", 9: "abcdfg"}


def seven_segment() -> tuple[Image.Image, str, list[int], str]:
    """A red seven-segment display drawn from polygons (no font at all), RGBA with a transparent margin."""
    number, width, height, thick = "1908", 70, 130, 14
    scene = Image.new("RGBA", (520, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(scene)
    draw.rounded_rectangle((40, 50, 480, 250), 16, fill=(18, 18, 18, 255))
    ends = {"a": ((0, 0), (1, 0)), "b": ((1, 0), (1, 0.5)), "c": ((1, 0.5), (1, 1)), "d": ((0, 1), (1, 1)),
            "e": ((0, 0.5), (0, 1)), "f": ((0, 0), (0, 0.5)), "g": ((0, 0.5), (1, 0.5))}
    tops, lefts, bottoms, rights = [], [], [], []
    for index, digit in enumerate(number):
        x0, y0 = 80 + index * (width + 30), 85
        for segment in SEGMENTS[int(digit)]:
            (ax, ay), (bx, by) = ends[segment]
            start, stop = (x0 + ax * width, y0 + ay * height), (x0 + bx * width, y0 + by * height)
            draw.line((start, stop), fill=(255, 40, 30, 255), width=thick)
        lefts.append(x0 - thick // 2)
        rights.append(x0 + width + thick // 2)
        tops.append(y0 - thick // 2)
        bottoms.append(y0 + height + thick // 2)
    box = [min(tops), min(lefts), max(bottoms), max(rights)]
    return scene, number, box, "seven-segment display drawn from polygons (RGBA, transparent margin)"


def brass_door() -> tuple[Image.Image, str, list[int], str]:
    """Brass digits with a shadow on a procedural wooden door; stored sideways with an EXIF rotation."""
    width, height = 900, 1200
    x = np.arange(width)[None, :]
    grain = 0.5 + 0.25 * np.sin(x / 9 + 3 * np.sin(np.arange(height)[:, None] / 140)) + RNG.normal(0, 0.05, (height, width))
    wood = np.stack([110 + 60 * grain, 62 + 35 * grain, 30 + 15 * grain], -1)
    scene = Image.fromarray(np.clip(wood, 0, 255).astype(np.uint8))
    layer, mask = text_layer("316", font("FredokaOne-Regular.ttf", 260), (214, 170, 70), stroke=4,
                             stroke_fill=(120, 85, 20))
    shadow = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    shadow.putalpha(mask.point(lambda v: v // 2))
    scene.paste(shadow, (228, 418), shadow)
    box = paste(scene, layer, mask, (210, 400))
    return scene, "316", box, "brass digits on a wooden door, held-out rounded font (JPEG with EXIF rotation)"


def painted_on_tiles() -> tuple[Image.Image, str, list[int], str]:
    """Black italic digits painted on a held-out microscopy texture, in perspective."""
    scene = backdrop("ihc.png", 600, 420)
    layer, mask = text_layer("58", font("cmti10.ttf", 240), (15, 15, 15))
    box = paste(scene, layer, mask, (170, 60), angle=-3)
    return scene.filter(ImageFilter.GaussianBlur(1.2)), "58", box, "italic digits painted on a held-out texture"


def shop_front() -> tuple[Image.Image, str, list[int], str]:
    """A wide shop front where the number is small (the localizer's hard case), saved as a palette PNG."""
    scene = Image.new("RGB", (960, 540), (200, 196, 186))
    draw = ImageDraw.Draw(scene)
    draw.rectangle((60, 140, 420, 500), fill=(70, 90, 110))          # window
    draw.rectangle((520, 120, 760, 540), fill=(110, 40, 35))         # door
    draw.rectangle((0, 40, 960, 100), fill=(30, 90, 60))             # awning
    layer, mask = text_layer("9", font("FredokaOne-Regular.ttf", 80), "white", pad=14, background=(25, 25, 25),
                             radius=8, border=(25, 25, 25))
    box = paste(scene, layer, mask, (800, 250))
    return scene.quantize(64), "9", box, "wide shop front, small number (palette PNG)"


def empty_sign() -> tuple[Image.Image, str, list[int] | None, str]:
    """A plaque with no number on a held-out photo: the answer should be "no number"."""
    scene = backdrop("cell.png", 500, 360)
    ImageDraw.Draw(scene).rounded_rectangle((130, 110, 370, 250), 20, fill=(230, 230, 225), outline=(60, 60, 60),
                                            width=6)
    return scene, "", None, "an empty plaque with no number"


LICENSED = "licensed-photos"
APACHE_EASYOCR = "EasyOCR (JaidedAI/EasyOCR), Apache License 2.0"
AZURE = "Azure-Samples/cognitive-services-sample-data-files, Copyright (c) Microsoft Corporation, MIT License"
# file in licensed-photos/ -> (name in images/, label); boxes (top, left, bottom, right) measured by eye.
REAL_PHOTOS = {
    "openvino_intel_rnb_2200.jpg": ("real_building_2200.jpg", {
        "number": "2200", "box": [206, 603, 229, 654],
        "how": "a real photo: a building number about 50x20 px on a pillar, beside a doorway and a person",
        "attribution": "intel_rnb.jpg from OpenVINO Notebooks (openvinotoolkit/openvino_notebooks), "
                       "Intel Corporation, Apache License 2.0"}),
    "easyocr_chinese_yuyuan_rd_315_309.jpg": ("real_street_sign_315_309.jpg", {
        "number": "315", "accept": ["309"], "box": [126, 81, 151, 131],
        "how": "a real street sign with two house-number ranges (315 and 309) among Chinese and Latin text",
        "attribution": f"examples/chinese.jpg from {APACHE_EASYOCR}"}),
    "easyocr_korean_roadsign_56_205.png": ("real_road_sign_56_205.png", {
        "number": "56", "accept": ["205"], "box": [286, 196, 326, 240],
        "how": "a real road sign: two distances (56Km, 205Km) beside Korean and Latin words (RGBA PNG)",
        "attribution": f"examples/korean.png from {APACHE_EASYOCR}"}),
    "opencv_scenetext04_gm125.jpg": ("real_generator_label_125.jpg", {
        "number": "125", "box": [419, 487, 456, 552],
        "how": "a real photo: the label 'GM 125' on a generator, small in a wide garden scene",
        "attribution": "scenetext04.jpg from OpenCV (opencv_contrib text module samples), via Debian "
                       "opencv-doc; Apache-2.0 / BSD-3-Clause; Copyright OpenCV Foundation and contributors"}),
    "fallback_vehicle_plates/azure_il_plate_AU_73671.jpg": ("real_plate_73671.jpg", {
        "number": "73671", "box": [176, 423, 457, 1093],
        "how": "a real licence plate 'AU 73671': letters before the digits, a sticker with more digits",
        "attribution": f"Multi-service/il.jpg from {AZURE}"}),
    "fallback_vehicle_plates/azure_mi_plate_CFA_7360.jpg": ("real_plate_7360.jpg", {
        "number": "7360", "box": [90, 303, 233, 561],
        "how": "a real licence plate 'CFA 7360': letters before the digits, a web address below",
        "attribution": f"Multi-service/mi.jpg from {AZURE}"}),
}


def copy_real_photos(labels: dict) -> None:
    """Copy the licensed real photos (sha256 checked) and their licence texts; add their labels."""
    source = paths.data_dir() / LICENSED
    if not (source / "SHA256SUMS").exists():
        raise SystemExit(f"{source} is not there: set DIGITS_DATA_DIR to the folder that holds {LICENSED}/.")
    sums = {line.split()[1].removeprefix("./"): line.split()[0]
            for line in (source / "SHA256SUMS").read_text().splitlines() if line.strip()}
    for name, (target, label) in REAL_PHOTOS.items():
        data = (source / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != sums.get(name):
            raise SystemExit(f"{source / name} does not match its sha256 in SHA256SUMS; not copied.")
        (OUT / target).write_bytes(data)
        labels[target] = {**label, "kind": "real photo", "source": f"{LICENSED}/{name}"}
        print(f"{target}: {label['number']} | {label['how']}")
    shutil.copytree(source / "licenses", OUT / "licenses", dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    """Write every image and images/labels.json."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-only", action="store_true", help="copy the real photos only; keep the made images")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if args.real_only:
        labels = {name: label for name, label in json.loads((OUT / "labels.json").read_text()).items()
                  if label.get("kind") != "real photo"}
        copy_real_photos(labels)
        (OUT / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")
        return
    makers = {"01_enamel_sign.png": enamel_sign, "02_handwritten_note.jpg": handwritten_note,
              "03_seven_segment.png": seven_segment, "04_brass_door.jpg": brass_door,
              "05_painted_italic.png": painted_on_tiles, "06_shop_front.png": shop_front,
              "07_empty_sign.png": empty_sign}
    labels = {}
    for name, maker in makers.items():
        image, number, box, how = maker()
        if name == "04_brass_door.jpg":   # stored rotated 90 degrees; EXIF orientation 6 turns it upright
            exif = Image.Exif()
            exif[0x0112] = 6
            image.transpose(Image.Transpose.ROTATE_90).save(OUT / name, quality=88, exif=exif)
        elif name.endswith(".jpg"):
            image.save(OUT / name, quality=90)
        else:
            image.save(OUT / name, optimize=True)
        labels[name] = {"number": number, "box": box, "how": how, "kind": "made"}
        print(f"{name}: {number or 'no number'} | {how}")
    if (paths.data_dir() / LICENSED).exists():
        copy_real_photos(labels)
    (OUT / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


if __name__ == "__main__":
    main()
