"""Train one variant of Step 4's localizer as the notebook does and score it end to end.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/step4_localizer.py                 # the notebook's
    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/step4_localizer.py --tight 0.2     # one change

Uses the full run's stand-in (`street_numbers.FULL_RUN_CONFIG`), the notebook's split, empty
scenes and training call, and the adapted reader saved in models/ (run the report first), so only
the localizer differs; a variant trained here is cached under the same key as the notebook's, so a
report run with the same setting loads it. Prints the validation mean IoU per epoch, the validation
end-to-end whole-number accuracy (the notebook's two refining passes and box scales) and, with
`--save DIR`, writes the reader + this localizer for `experiments/real_photos.py --models DIR`.
It also scores each presence threshold of `PRESENCE_SWEEP` on the validation photos and empty scenes.
The test split is not touched. About 17 minutes per variant on a 2-vCPU AMD EPYC.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import numpy as np  # noqa: E402

from helpers import crops, digitstruct, images, localization, metrics, reader, street_numbers, training  # noqa: E402

SEED = 42            # the notebook's SEED
VAL_COUNT = 1500     # the notebook's STEP2["val_count"]
DATA_NAME = "the stand-in (rendered, not SVHN)"   # the notebook's DATA_NAME (part of the cache key)
PRESENCE_SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6)          # "is there a number" thresholds scored on validation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=24, help="epochs of 140 steps (batch 64)")
    parser.add_argument("--tight", type=float, default=0.0, help="share of photos cropped to the number itself")
    parser.add_argument("--zoom-out", type=float, default=0.5, help="share of photos pasted into a wider scene")
    parser.add_argument("--whole-photo", action="store_true", help="read the whole photo as one more candidate box")
    parser.add_argument("--save", type=Path, default=None, help="write the end-to-end reader to this folder")
    args = parser.parse_args()
    config = street_numbers.FULL_RUN_CONFIG
    root = street_numbers.standin_dataset(street_numbers.FULL_RUN_COUNTS, seed=SEED, config=config, progress=False)
    table = crops.number_table(root / "train", digitstruct.load_digit_struct(root / "train" / "digitStruct.mat"))
    train_rows, val_rows = crops.split_table(table, VAL_COUNT, seed=SEED)
    blank_train = street_numbers.blank_scenes(2000, seed=SEED + 1, config=config, progress=False)
    blank_val, blank_train = blank_train[:len(blank_train) // 10], blank_train[len(blank_train) // 10:]

    validation = localization.letterbox_arrays(*localization.with_blank_scenes(val_rows, blank_val))
    run = training.fit_localizer(*localization.with_blank_scenes(train_rows, blank_train), validation,
                                 batch_size=64, epochs=args.epochs, steps_per_epoch=140, learning_rate=2e-3, seed=SEED,
                                 backgrounds=blank_train, zoom_out=args.zoom_out, tight=args.tight,
                                 data_name=f"{DATA_NAME}:{root.name}", model_args={"pool_first": True},
                                 patience=args.epochs)
    adapted = reader.NumberReader.load()
    end_to_end = reader.NumberReader(adapted.reader, run.model, min_confidence=adapted.min_confidence,
                                     min_presence=0.0, refine=2, scales=(0.9, 1.1), whole_photo=args.whole_photo)
    # Read once with no presence gate; each threshold then turns the readings below it into "no number".
    ungated = end_to_end.read([images.load_image(path) for path in val_rows.paths])
    blank_ungated = end_to_end.read([str(path) for path in blank_val])
    truth = [metrics.number_string(row) for row in val_rows.labels]
    presence, blank_presence = (np.array([r.has_number for r in found]) for found in (ungated, blank_ungated))
    read_some, blank_read_some = (np.array([r.number != "" for r in found]) for found in (ungated, blank_ungated))
    right_if_seen = np.array([r.number == t for r, t in zip(ungated, truth)])
    for threshold in PRESENCE_SWEEP:
        numbers_right, flagged = (presence >= threshold) & right_if_seen, ~((blank_presence >= threshold) & blank_read_some)
        print(f"presence threshold {threshold}: numbers read right {100 * numbers_right.mean():.2f}%, empty scenes "
              f"flagged {100 * flagged.mean():.1f}%, all validation photos right "
              f"{100 * (numbers_right.sum() + flagged.sum()) / (len(presence) + len(blank_presence)):.2f}%")
    # The saved reader's own threshold, as NumberReader.read would apply it.
    seen = (presence >= adapted.min_presence) & read_some
    right = seen & right_if_seen
    boxes = np.array([r.box if s else (0, 0, 0, 0) for r, s in zip(ungated, seen)])
    flagged = ~((blank_presence >= adapted.min_presence) & blank_read_some)
    print(f"{'loaded' if run.from_cache else 'trained'} in {run.train_seconds:.0f} s, best epoch "
          f"{run.info['best_epoch']}; validation mean IoU per epoch {[round(v, 3) for v in run.history['val_mean_iou']]}")
    print(f"RESULT validation, {len(ungated):,} photos: end-to-end whole-number {100 * right.mean():.2f}%, "
          f"mean IoU of the chosen boxes {images.iou(boxes, val_rows.union).mean():.3f}, "
          f"empty scenes called 'no number' {100 * flagged.mean():.1f}%")
    sure = seen & np.array([r.confident for r in ungated])
    print(f"sure answers (confidence >= {end_to_end.min_confidence:.3f}, the saved reader's): {100 * sure.mean():.1f}% "
          f"of the validation photos, {100 * right[sure].mean():.2f}% of them right")
    end_to_end.min_presence = adapted.min_presence   # saved with the reader's own presence threshold
    if args.save:
        print(f"saved to {end_to_end.save(args.save)}")


if __name__ == "__main__":
    main()
