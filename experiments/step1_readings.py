"""Score more test-time readings of a saved Step 1 reader: shifts in x and y, and zooms.

    .venv/bin/python experiments/step1_replay.py --save /tmp/step1        # train one with the report's settings
    .venv/bin/python experiments/step1_readings.py /tmp/step1/member-1.keras

The notebook averages the heads over the image and copies shifted by ±3 px in x, and lets the CTC
columns vote. This asks whether more copies help: shifted in y by 1-2 px, on a 3x3 grid of x/y
shifts, or zoomed about the centre by 0.9-1.1. Every pass is predicted once on the report's
reading-validation numbers (held-out training digits; `step1.make_data`), then each set of passes
is combined and scored, with and without the CTC vote. Needs MNIST in DIGITS_DATA_DIR.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from helpers.core import config, paths  # noqa: E402, F401 (models: CTC loss)
from helpers.datasets import mnist as data  # noqa: E402, F401 (models: CTC loss)
from helpers.modeling import metrics, models, training  # noqa: E402, F401 (models: CTC loss)
from helpers.steps import step1  # noqa: E402, F401 (models: CTC loss)

Pass = tuple[int, int, float]   # (x shift, y shift, zoom)


def moved(images: np.ndarray, right: int, down: int) -> np.ndarray:
    """(n, height, width, channels) images moved `right` and `down` pixels (negative: left, up), zero-filled."""
    across = training.shifted(images, right) if right else images
    # A move down is a move right of the transposed images.
    return training.shifted(across.transpose(0, 2, 1, 3), down).transpose(0, 2, 1, 3) if down else across


def zoomed(images: np.ndarray, factor: float) -> np.ndarray:
    """(n, height, width, 1) uint8 images scaled by `factor` about their centre, cropped or zero-padded back."""
    height, width = images.shape[1:3]
    new_height, new_width = round(height * factor), round(width * factor)
    out = np.zeros_like(images)
    for index, image in enumerate(images[..., 0]):
        scaled = np.asarray(Image.fromarray(image).resize((new_width, new_height), Image.BILINEAR))
        top, left = abs(new_height - height) // 2, abs(new_width - width) // 2
        if factor >= 1:
            out[index, ..., 0] = scaled[top:top + height, left:left + width]
        else:
            out[index, top:top + new_height, left:left + new_width, 0] = scaled
    return out


def reading_sets() -> dict[str, list[Pass]]:
    """The sets of passes to score, from the plain image to all of them."""
    x3 = [(0, 0, 1.0), (-3, 0, 1.0), (3, 0, 1.0)]   # the report's reading
    return {
        "plain": [(0, 0, 1.0)],
        "x ±3 (the report's)": x3,
        "x ±1": [(0, 0, 1.0), (-1, 0, 1.0), (1, 0, 1.0)],
        "x ±2": [(0, 0, 1.0), (-2, 0, 1.0), (2, 0, 1.0)],
        "x ±1..3": [(dx, 0, 1.0) for dx in range(-3, 4)],
        "x ±3, y ±1": x3 + [(0, -1, 1.0), (0, 1, 1.0)],
        "x ±3, y ±2": x3 + [(0, -2, 1.0), (0, 2, 1.0)],
        "grid x 0/±3 by y 0/±1": [(dx, dy, 1.0) for dx in (-3, 0, 3) for dy in (-1, 0, 1)],
        "grid x 0/±3 by y 0/±2": [(dx, dy, 1.0) for dx in (-3, 0, 3) for dy in (-2, 0, 2)],
        "x ±3, zoom 0.95/1.05": x3 + [(0, 0, 0.95), (0, 0, 1.05)],
        "x ±3, zoom 0.9/1.1": x3 + [(0, 0, 0.9), (0, 0, 1.1)],
        "x ±3, y ±1, zoom 0.95/1.05": x3 + [(0, -1, 1.0), (0, 1, 1.0), (0, 0, 0.95), (0, 0, 1.05)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="a saved Step 1 attention reader (.keras)")
    parser.add_argument("--count", type=int, default=10000, help="reading-validation numbers to read (a prefix)")
    args = parser.parse_args()
    if not args.model.is_file():
        raise FileNotFoundError(f"{args.model} does not exist; save one with experiments/step1_replay.py --save FOLDER.")
    model = keras.models.load_model(args.model, compile=False)
    images, labels = step1.make_data(data.load_mnist(paths.data_dir(), download_missing=False), config.FULL).read_val_set
    images, labels = images[:args.count], labels[:args.count]
    sets = reading_sets()
    sets["all of them"] = sorted(set().union(*sets.values()))
    passes = {}
    for right, down, factor in sets["all of them"]:   # each pass predicted once, shared by every set
        view = moved(zoomed(images, factor) if factor != 1.0 else images, right, down)
        passes[(right, down, factor)] = model.predict(view, batch_size=512, verbose=0)
    for name, keys in sets.items():
        outputs = training.combine_outputs([passes[key] for key in keys])
        scores = {weight: metrics.sequence_metrics(metrics.decode_joint(outputs, weight), labels)["sequence_accuracy"]
                  for weight in (0.0, 1.0)}
        print(f"{name:28s} {len(keys):2d} passes: heads {100 * scores[0.0]:.2f}%, with the CTC vote "
              f"{100 * scores[1.0]:.2f}%", flush=True)


if __name__ == "__main__":
    main()
