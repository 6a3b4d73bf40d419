"""Drawing a reading on its photo: the number's box and a label that always stays inside the picture."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from helpers.core.labels import confidence_text

STATUS_COLOURS = {"read": (40, 220, 60), "unsure": (255, 190, 0), "no number": (255, 60, 60)}
MIN_SHOWN_SIDES = (640, 160)       # annotated copies are enlarged to at least this long and short side


def label_text(reading) -> str:
    """What the annotated photo says: "316 (0.97)", "316 (0.41) unsure" or "no number"."""
    if not reading.number:
        return "no number"
    return f"{reading.number} ({confidence_text(reading.confidence)})" + (" unsure" if reading.status == "unsure" else "")


def annotate(photo: np.ndarray, reading, others=()) -> Image.Image:
    """The photo with the number's box and a label drawn on it, the label always inside the picture;
    `others` (more numbers found in the photo) get a thinner box and their own label.

    `reading.box` is in the pixels of the photo itself (`reading.image_size`); `photo` may be that
    photo or a shrunk copy of it. Small photos are enlarged first, so that the label can be read.
    """
    image = Image.fromarray(photo).convert("RGB")
    height, width = reading.image_size
    to_image = (image.height / height, image.width / width)       # photo pixels -> pixels of `photo`
    zoom = max(1.0, MIN_SHOWN_SIDES[0] / max(image.size), MIN_SHOWN_SIDES[1] / min(image.size))
    zoom = min(zoom, 4096 / max(image.size))                      # a long thin strip stays a sane size
    if zoom > 1:
        image = image.resize((round(image.width * zoom), round(image.height * zoom)), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for other in others:          # drawn first: the likeliest number's box and label stay on top
        if other.box is not None:
            top, left, bottom, right = (value * to_image[k % 2] * zoom for k, value in enumerate(other.box))
            thin = max(1, max(image.size) // 500)
            draw.rectangle((left, top, right, bottom), outline=(200, 200, 200), width=thin)
            small = ImageFont.load_default(size=max(10, max(image.size) // 45))
            draw.text((left, max(0, top - small.size - thin)), other.number, font=small, fill=(200, 200, 200),
                      stroke_width=1, stroke_fill=(0, 0, 0))
    line = max(2, max(image.size) // 250)
    colour = STATUS_COLOURS[reading.status]
    label = label_text(reading)
    size = max(14, max(image.size) // 25)
    font = ImageFont.load_default(size=size)
    while size > 8 and draw.textlength(label, font=font) + 4 * line > image.width:   # shrink until it fits
        size -= 1
        font = ImageFont.load_default(size=size)
    text_height = size + 2 * line
    if reading.box is not None:
        top, left, bottom, right = (value * to_image[k % 2] * zoom for k, value in enumerate(reading.box))
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        # Above the box if there is room, else below it, else inside its top edge.
        y = top - text_height if top >= text_height else bottom + line if bottom + text_height <= image.height \
            else max(line, top + line)
        x = min(max(line, left), max(line, image.width - draw.textlength(label, font=font) - 2 * line))
    else:
        x, y = line, line
    text_box = draw.textbbox((x, y), label, font=font)
    draw.rectangle((text_box[0] - line, text_box[1] - line, text_box[2] + line, text_box[3] + line), fill=(0, 0, 0))
    draw.text((x, y), label, font=font, fill=colour)
    return image
