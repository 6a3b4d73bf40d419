"""Train one variant of Step 4's localizer as the report does and score it end to end.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/step4_localizer.py                 # the report's
    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/step4_localizer.py --tight 0       # one change

Calls the report's own Step 2 and Step 4 functions with `config.FULL`, changed only where an option
says so: the full run's stand-in and split, its empty scenes and its localizer training, and the
adapted reader saved in models/ (run the report first), so only the localizer differs. The cache key
is the configuration's, so a report run with the same settings loads a model trained here. Prints the
validation mean IoU per epoch, the validation end-to-end whole-number accuracy (read as the released
reader reads: `config.FULL.reader`) and, with `--save DIR`, writes the reader + this localizer for
`experiments/real_photos.py --models DIR`. It also scores each presence threshold of `PRESENCE_SWEEP`
on the validation photos and empty scenes. The test split is not touched. About 12 minutes per
variant on a 2-vCPU AMD EPYC.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import numpy as np  # noqa: E402

from helpers.app import reader  # noqa: E402
from helpers.core import boxes, config, images  # noqa: E402
from helpers.datasets import crops  # noqa: E402
from helpers.modeling import localization, metrics  # noqa: E402
from helpers.steps import step2, step4  # noqa: E402

PRESENCE_SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6)          # "is there a number" thresholds scored on validation


def main() -> None:
    full = config.FULL.step4
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=full.epochs,
                        help=f"epochs of {full.steps_per_epoch} steps (batch {full.batch_size})")
    parser.add_argument("--tight", type=float, default=full.tight, help="share of photos cropped to the number itself")
    parser.add_argument("--zoom-out", type=float, default=full.zoom_out, help="share of photos pasted into a wider scene")
    parser.add_argument("--no-whole-photo", action="store_true", help="do not read the whole photo as one more candidate box")
    parser.add_argument("--save", type=Path, default=None, help="write the end-to-end reader to this folder")
    args = parser.parse_args()
    run = dataclasses.replace(config.FULL, step4=dataclasses.replace(full, epochs=args.epochs, tight=args.tight,
                                                                     zoom_out=args.zoom_out))
    train_rows, val_rows = crops.split_table(step2.load_data(run).tables["train"], run.step2.val_count, seed=run.seed)
    blanks = step4.blank_scenes(run)
    validation = localization.letterbox_arrays(*localization.with_blank_scenes(val_rows, blanks.validation))
    trained = step4.train_localizer(run, train_rows, blanks, validation)
    adapted = reader.NumberReader.load()
    end_to_end = reader.NumberReader(adapted.reader, trained.model, min_confidence=adapted.min_confidence,
                                     min_presence=0.0, refine=run.reader.refine, scales=run.reader.scales,
                                     whole_photo=run.reader.whole_photo and not args.no_whole_photo, pad_edges=False)
    # Read once with no presence gate; each threshold then turns the readings below it into "no number".
    ungated = end_to_end.read([images.load_image(path) for path in val_rows.paths])
    blank_ungated = end_to_end.read([str(path) for path in blanks.validation])
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
    chosen = np.array([r.box if s else (0, 0, 0, 0) for r, s in zip(ungated, seen)])
    flagged = ~((blank_presence >= adapted.min_presence) & blank_read_some)
    print(f"{'loaded' if trained.from_cache else 'trained'} in {trained.train_seconds:.0f} s, best epoch "
          f"{trained.info['best_epoch']}; validation mean IoU per epoch {[round(v, 3) for v in trained.history['val_mean_iou']]}")
    print(f"RESULT validation, {len(ungated):,} photos: end-to-end whole-number {100 * right.mean():.2f}%, "
          f"mean IoU of the chosen boxes {boxes.iou(chosen, val_rows.union).mean():.3f}, "
          f"empty scenes called 'no number' {100 * flagged.mean():.1f}%")
    sure = seen & np.array([r.confident for r in ungated])
    print(f"sure answers (confidence >= {end_to_end.min_confidence:.3f}, the saved reader's): {100 * sure.mean():.1f}% "
          f"of the validation photos, {100 * right[sure].mean():.2f}% of them right")
    end_to_end = end_to_end.with_thresholds(min_presence=adapted.min_presence)   # saved with the reader's own
    if args.save:
        print(f"saved to {end_to_end.save(args.save)}")


if __name__ == "__main__":
    main()
