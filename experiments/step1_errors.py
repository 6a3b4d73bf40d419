"""Which validation glyphs does a trained Step 1 reader get wrong, and how often?

    .venv/bin/python experiments/step1_errors.py --model cache/attention-2f9c478f05b0.keras
    .venv/bin/python experiments/step1_errors.py --model M.keras --figure build/hard_glyphs.png
    .venv/bin/python experiments/step1_errors.py --model M.keras --digits train   # how well it fits its own glyphs

Reads the report's 10,000 reading-validation numbers (held-out MNIST training digits, seed
SEED+3) as the report does (shifts 0/±3 px, CTC weight 1 by default) and counts, for every glyph
of the 5,000 validation digits, how many numbers it appears in and how many times its position was
misread. Each glyph recurs in about six numbers, so a glyph the reader never gets right costs
about six whole-number errors: the printout says how much of the error comes from such glyphs,
which a longer or more regularised training cannot be expected to fix when they are ambiguous.
`--digits train` reads 10,000 fresh numbers made of the 55,000 *training* digits instead (seed
SEED+4, never a training stream's): a reader that had learned its glyphs by heart would read
nearly all of them, so the gap to validation separates memorising from underfitting.
Needs MNIST in DIGITS_DATA_DIR and a model saved by the notebook (its cache/ folder).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import keras  # noqa: E402

from helpers.core import config, paths  # noqa: E402
from helpers.datasets import mnist as data  # noqa: E402
from helpers.modeling import metrics, training  # noqa: E402
from helpers.steps import step1  # noqa: E402
from helpers.synth import sequences  # noqa: E402

READING_SEED = config.SEED + step1.SEED_OFFSETS["reading"]   # the report's reading-validation numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="a Step 1 attention reader (.keras)")
    parser.add_argument("--shifts", type=int, nargs="+", default=[0, -3, 3], help="test-time shifts, pixels")
    parser.add_argument("--ctc-weight", type=float, default=1.0, help="weight of the CTC columns' vote")
    parser.add_argument("--digits", choices=["val", "train"], default="val",
                        help="which held-apart pool the numbers are made of (default: the validation digits)")
    parser.add_argument("--figure", type=Path, help="also save the 30 most often misread glyphs here (PNG)")
    args = parser.parse_args()
    if not args.model.is_file():
        raise FileNotFoundError(f"no model at {args.model}: run the notebook first (it saves its readers in cache/).")
    mnist = data.load_mnist(paths.data_dir(), download_missing=False)
    pools = dict(zip(("train", "val"), step1.digit_pools(mnist, config.FULL)))
    pool = pools[args.digits]
    seed = READING_SEED if args.digits == "val" else config.SEED + 4
    images, labels, glyphs = sequences.generate_sequences(pool, 10000, seed=seed, return_glyphs=True)
    outputs = training.predict_outputs(keras.models.load_model(args.model), images, shifts=tuple(args.shifts))
    rows = metrics.decode_joint(outputs, args.ctc_weight).rows
    wrong_number = (rows != labels).any(axis=1)
    length_right = rows[:, 0] == labels[:, 0]
    # A digit counts as misread when the length is right and its position's digit is not.
    misread = (rows[:, 1:] != labels[:, 1:]) & (glyphs >= 0) & length_right[:, None]
    seen = np.bincount(glyphs[glyphs >= 0], minlength=len(pool))
    missed = np.bincount(glyphs[misread], minlength=len(pool))
    always = (missed == seen) & (seen > 0)
    numbers_with_always = (misread & always[np.maximum(glyphs, 0)]).any(axis=1)
    print(f"{wrong_number.sum()} of {len(rows):,} numbers made of {pool.name} digits misread "
          f"({100 * wrong_number.mean():.2f}%): "
          f"{(wrong_number & ~length_right).sum()} with the wrong length, {misread.sum()} misread digits")
    print(f"{(missed > 0).sum()} of {len(pool):,} glyphs misread at least once (each in {seen.mean():.1f} "
          f"numbers on average); {always.sum()} misread every time, in {numbers_with_always.sum()} of the "
          f"misread numbers")
    order = np.lexsort((-seen, -missed / np.maximum(seen, 1)))[:30]
    order = order[missed[order] > 0]
    print("most often misread (glyph: label, misread/seen):",
          ", ".join(f"{g}: {pool.labels[g]}, {missed[g]}/{seen[g]}" for g in order))
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(3, 10, figsize=(12, 4.4))
        for axis in axes.flat:
            axis.axis("off")
        for axis, glyph in zip(axes.flat, order):
            axis.imshow(pool.images[glyph], cmap="gray")
            axis.set_title(f"label {pool.labels[glyph]}\n{missed[glyph]}/{seen[glyph]} misread", fontsize=8)
        fig.suptitle(f"{'Validation' if args.digits == 'val' else 'Training'} glyphs the reader misreads most often")
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.figure, bbox_inches="tight", dpi=90)
        print(f"saved {args.figure}")


if __name__ == "__main__":
    main()
