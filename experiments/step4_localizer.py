"""Train one variant of Step 4's localizer as the notebook does and score it on the validation photos.

    .venv/bin/python experiments/step4_localizer.py --epochs 16                 # the trunk as it was
    .venv/bin/python experiments/step4_localizer.py --epochs 24 --pool-first    # the notebook's setting

Uses the full run's stand-in data and the adapted reader the notebook saved in models/
(run the report first), so only the localizer differs. Prints the training time, the validation
mean IoU per epoch (one pass) and, with the notebook's two refining passes and five candidate
boxes, the validation end-to-end whole-number accuracy. The test split is not touched. About five
minutes per run on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import numpy as np  # noqa: E402

from helpers import crops, digitstruct, images, localization, metrics, reader, street_numbers, training  # noqa: E402

SEED = 42


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=24, help="epochs of 140 steps (batch 64)")
    parser.add_argument("--pool-first", action="store_true", help="pool before batch norm and ReLU")
    args = parser.parse_args()
    root = street_numbers.standin_dataset(street_numbers.FULL_RUN_COUNTS, seed=SEED, progress=False)
    table = crops.number_table(root / "train", digitstruct.load_digit_struct(root / "train" / "digitStruct.mat"))
    train_rows, val_rows = crops.split_table(table, 1500, seed=SEED)
    blank_train = street_numbers.blank_scenes(2000, seed=SEED + 1, progress=False)
    blank_val, blank_train = blank_train[:len(blank_train) // 10], blank_train[len(blank_train) // 10:]

    validation = localization.letterbox_arrays(*localization.with_blank_scenes(val_rows, blank_val))
    run = training.fit_localizer(*localization.with_blank_scenes(train_rows, blank_train), validation,
                                 batch_size=64, epochs=args.epochs, steps_per_epoch=140, learning_rate=2e-3, seed=SEED,
                                 backgrounds=blank_train, zoom_out=0.5, cache=False,
                                 model_args={"pool_first": True} if args.pool_first else {}, patience=args.epochs)
    adapted = reader.NumberReader.load()
    end_to_end = reader.NumberReader(adapted.reader, run.model, min_confidence=adapted.min_confidence, refine=2,
                                     scales=(0.9, 1.1))
    readings = end_to_end.read([images.load_image(path) for path in val_rows.paths])
    boxes = np.array([r.box if r.box is not None else (0, 0, 0, 0) for r in readings])
    right = [r.number == metrics.number_string(row) for r, row in zip(readings, val_rows.labels)]
    print(f"trained in {run.train_seconds:.0f} s, best epoch {run.info['best_epoch']}; validation mean IoU per epoch "
          f"{[round(v, 3) for v in run.history['val_mean_iou']]}")
    print(f"RESULT validation, {len(readings):,} photos: end-to-end whole-number {100 * np.mean(right):.2f}%, "
          f"mean IoU of the chosen boxes {images.iou(boxes, val_rows.union).mean():.3f}")


if __name__ == "__main__":
    main()
