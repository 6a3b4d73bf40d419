"""Fine-tune the released reader (or localizer) on real SVHN photos, alone or mixed into the stand-in's batches.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/real_svhn_finetune.py \
        --real-share 0.25 --steps 600 --save /tmp/mixed25

Starts from models/number_reader.keras (the committed, adapted reader) and trains on the rows of
the stand-in's training split (the report's, without its validation rows) plus real SVHN
train photos 1-200, repeated so that `--real-share` of the crops are real (1.0: real photos alone,
0.0: the stand-in alone, the control). Every checkpoint is chosen on real SVHN train 201-256
(`real_photos.SVHN_REAL_VALIDATION_FROM`), never on the test photos. `--save DIR` writes a
NumberReader (the new reader, the released localizer and settings) that
`experiments/real_photos.py --models DIR --svhn-only` scores end to end.
`--model localizer` fine-tunes the localizer the same way (checkpoints chosen on the mean IoU of
real train 201-256), scored end to end with the released reader or `--reader DIR`'s.
Prints one JSON line with the settings, the training time and the real validation figures.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()


from helpers.app import reader  # noqa: E402
from helpers.core import config, paths  # noqa: E402
from helpers.datasets import crops, digitstruct, real_photos  # noqa: E402
from helpers.modeling import localization, models, training  # noqa: E402
from helpers.synth import street_numbers  # noqa: E402

SEED = config.SEED
STANDIN_VALIDATION = config.FULL.step2.val_count   # the report's Step 2 validation rows, left out here too
DEEP = config.DEEPER.model_args                    # the trunk of a reader trained from scratch
TIGHT = config.FULL.step4.tight                    # the released localizer's share of photos cropped to the number


def real_table(part: str) -> crops.NumberTable:
    """svhn-real/train rows of one part ("train": 1-200, "validation": 201-256)."""
    table = real_photos.svhn_real_table(part)
    if table is None:
        raise SystemExit(f"no {real_photos.SVHN_REAL}/ in {paths.data_dir()}")
    return table


def mixed_table(real_share: float) -> tuple[crops.NumberTable, str]:
    """Stand-in train rows plus real train rows repeated to make `real_share` of them; and a data name."""
    real = real_table("train")
    if real_share >= 1:
        return crops.concat_tables([real] * 100), "svhn-real train 1-200"
    root = street_numbers.standin_dataset(street_numbers.FULL_RUN_COUNTS, seed=street_numbers.FULL_RUN_SEED,
                                          config=street_numbers.FULL_RUN_CONFIG, progress=False)
    standin = crops.number_table(root / "train", digitstruct.load_digit_struct(root / "train" / "digitStruct.mat"))
    standin, _ = crops.split_table(standin, STANDIN_VALIDATION, seed=SEED)
    mixed = crops.mix_tables(standin, real, real_share)
    return mixed, f"stand-in {root.name}" + (f" + svhn-real 1-200 x{(len(mixed) - len(standin)) // len(real)}"
                                            if real_share else "")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-share", type=float, default=0.25, help="share of real crops in the batches (0-1)")
    parser.add_argument("--steps", type=int, default=600, help="training steps (checkpoints every 100)")
    parser.add_argument("--learning-rate", type=float, default=5e-4, help="peak learning rate (the report's fine-tuning: a quarter of 2e-3)")
    parser.add_argument("--box-jitter", type=float, default=0.15)
    parser.add_argument("--random-crop", action="store_true", help="random 54-px windows (the released reader: centre)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--photometric", action="store_true", help="vary brightness, contrast, colour of the crops")
    parser.add_argument("--from-scratch", action="store_true", help="a new reader instead of the released one")
    parser.add_argument("--save", type=Path, default=None, help="write a NumberReader with the new model here")
    parser.add_argument("--model", choices=("reader", "localizer"), default="reader", help="which model to fine-tune")
    parser.add_argument("--reader", type=Path, default=None,
                        help="with --model localizer: the reader of this saved folder (default: the released one)")
    args = parser.parse_args(argv)
    if not 0 <= args.real_share <= 1:
        parser.error("--real-share is a share between 0 and 1")
    start = time.perf_counter()
    released = reader.NumberReader.load()
    table, data_name = mixed_table(args.real_share)
    steps_per_epoch, epochs = 100, max(args.steps // 100, 1)
    if args.model == "reader":
        start_from = None if args.from_scratch else SimpleNamespace(model=released.reader,
                                                                     path=paths.models_dir() / reader.READER_FILE)
        run = training.fit_crops(models.DESIGNS["attention"], table, crops.crop_arrays(real_table("validation")),
                                 batch_size=args.batch_size, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                 learning_rate=args.learning_rate, seed=SEED, model_args=DEEP,
                                 random_crop=args.random_crop, box_jitter=args.box_jitter,
                                 start_from=start_from, patience=epochs, photometric=args.photometric)
        new_reader, new_localizer = run.model, released.localizer
    else:
        start_from = None if args.from_scratch else SimpleNamespace(model=released.localizer,
                                                                     path=paths.models_dir() / reader.LOCALIZER_FILE)
        real_validation = real_table("validation")
        validation = localization.letterbox_arrays(real_validation.paths, real_validation.union)
        # As the report's localizer, less the wider scenes (they need its blank backgrounds).
        run = training.fit_localizer(table.paths, table.union, validation, batch_size=args.batch_size,
                                     epochs=epochs, steps_per_epoch=steps_per_epoch, learning_rate=args.learning_rate,
                                     seed=SEED, model_args=dict(pool_first=True),
                                     tight=TIGHT, patience=epochs, start_from=start_from)
        new_reader = reader.NumberReader.load(args.reader).reader if args.reader else released.reader
        new_localizer = run.model
    tuned = reader.NumberReader(new_reader, new_localizer, detector=released.detector, spec=released.spec,
                                min_confidence=released.min_confidence, min_presence=released.min_presence,
                                min_found=released.min_found,
                                refine=released.refine, scales=released.scales, whole_photo=released.whole_photo,
                                route=released.route, pad_edges=released.pad_edges)
    photos = real_photos.svhn_real("validation")
    figures, _, _ = real_photos.svhn_scores(tuned, photos)
    before, _, _ = real_photos.svhn_scores(released, photos)
    summary = {"model": args.model, "reader": str(args.reader or "released"), "real_share": args.real_share, "steps": args.steps, "learning_rate": args.learning_rate,
               "box_jitter": args.box_jitter, "random_crop": args.random_crop, "photometric": args.photometric, "from_scratch": args.from_scratch,
               "data": data_name, "rows": len(table), "train_seconds": round(run.train_seconds),
               "from_cache": run.from_cache, "best_epoch": run.info.get("best_epoch"),
               "validation_history": [round(v, 4) for v in run.history.get(
                   "val_sequence_accuracy" if args.model == "reader" else "val_mean_iou", [])],
               "released_on_validation": {k: before[k] for k in ("end_to_end_accuracy", "true_box_accuracy", "mean_iou")},
               "svhn_validation": {k: v for k, v in figures.items() if k != "by_length"},
               "seconds": round(time.perf_counter() - start)}
    if args.save:
        tuned.save(args.save)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
