"""Train Step 4's digit detector as the report does and score it on the real SVHN validation photos.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/digit_detector.py
    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/digit_detector.py --steps 300 --real-repeats 20

Calls the report's own functions with `config.FULL` (changed only where an option says so): the stand-in's
training photos with every digit's box, real SVHN train 1-200 repeated, the empty scenes; the checkpoint
with the best mean IoU on real train 201-256 is kept (cached under the report's key when unchanged). Then
reads train 201-256 inside the boxes found with a reader (default: the released one in models/, or
--reader FILE) and prints the share of first boxes at IoU >= 0.5, their mean IoU and whole-number
accuracy end to end, for a few detector settings (`SWEEP`). With --framing it also reads the validation
photos cut around their number at each margin of the report's framing table, with the localizer of
models/ alone, the detector alone, and the two routed as released, edges padded or cut. The test split is
not touched. Writes experiments/results/digit_detector/validation.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import helpers

helpers.import_tensorflow_quietly()
import keras  # noqa: E402
import numpy as np  # noqa: E402

from helpers.app import reader  # noqa: E402
from helpers.core import boxes, config, paths  # noqa: E402
from helpers.datasets import crops, real_photos  # noqa: E402
from helpers.modeling import detection  # noqa: E402
from helpers.steps import step2, step4  # noqa: E402

SWEEP = {"as released": {}, "min score 0.3": {"min_score": 0.3}, "no share rule": {"min_share": 0.0},
         "pyramid 96/256/640": {"sizes": (96, 256, 640)}}


def score(number_reader: reader.NumberReader, photos: real_photos.LabelledPhotos) -> dict:
    """End to end on labelled photos: first box's IoU (mean, share >= 0.5) and whole-number accuracy."""
    readings = number_reader.read(photos.photos)
    iou = boxes.iou(np.array([r.box if r.box is not None else (0, 0, 0, 0) for r in readings]), photos.boxes)
    right = np.array([r.number == t for r, t in zip(readings, photos.numbers)])
    return {"mean_iou": float(iou.mean()), "iou_at_least_0.5": float((iou >= 0.5).mean()),
            "end_to_end_accuracy": float(right.mean())}


def framing(run: config.RunConfig, reader_model, detector_model, photos: real_photos.LabelledPhotos) -> dict:
    """End-to-end accuracy by framing margin for each finder, edges padded or cut."""
    localizer = reader.NumberReader.load().localizer
    settings = {"refine": run.reader.refine, "scales": run.reader.scales, "whole_photo": run.reader.whole_photo}
    finders = {"localizer": dict(localizer=localizer), "detector": dict(detector=detector_model, min_presence=0.0),
               "routed (released)": dict(localizer=localizer, detector=detector_model, route=run.reader.route)}
    scores = {}
    for name, parts in finders.items():
        for pad in (False, True):
            number_reader = reader.NumberReader(reader_model, **parts, **settings, pad_edges=pad)
            label = f"{name}, edges {'padded' if pad else 'cut'}"
            scores[label] = {**real_photos.framing_scores(number_reader, photos),
                             "uncut": score(number_reader, photos)["end_to_end_accuracy"]}
            print(label, {k: round(v, 3) for k, v in scores[label].items()}, flush=True)
    return scores


def main() -> None:
    full = config.FULL.detector
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=full.steps_per_epoch, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=full.epochs)
    parser.add_argument("--filters", type=int, nargs=4, default=None, help="trunk widths (default: build_detector's)")
    parser.add_argument("--name", default="validation", help="results file name (without .json)")
    parser.add_argument("--real-repeats", type=int, default=full.real_repeats)
    parser.add_argument("--close", type=float, default=full.close)
    parser.add_argument("--dtype", default=full.dtype)
    parser.add_argument("--reader", type=Path, default=paths.models_dir() / reader.READER_FILE)
    parser.add_argument("--framing", action="store_true", help="also compare the finders by framing margin")
    args = parser.parse_args()
    run = dataclasses.replace(config.FULL, detector=dataclasses.replace(
        full, steps_per_epoch=args.steps, epochs=args.epochs, real_repeats=args.real_repeats, close=args.close,
        dtype=args.dtype, **({"filters": tuple(args.filters)} if args.filters else {})))
    data = step2.load_data(run)
    train_rows, _ = crops.split_table(data.tables["train"], run.step2.val_count, seed=run.seed)
    rows = step4.detector_rows(run, data.root / "train", train_rows, step4.blank_scenes(run))
    validation = real_photos.svhn_real("validation")
    trained = step4.train_detector(run, rows, validation)
    print(f"{'loaded' if trained.from_cache else 'trained'}: {trained.train_seconds / 60:.1f} min, "
          f"{len(rows):,} rows, val mean IoU by epoch " + " ".join(f"{v:.3f}" for v in trained.history["val_mean_iou"]))
    reader_model = keras.models.load_model(args.reader, compile=False)
    results = {"settings": dataclasses.asdict(run.detector), "train_seconds": trained.train_seconds,
               "validation_photos": len(validation), "history": trained.history["val_mean_iou"], "sweep": {}}
    for name, change in SWEEP.items():
        spec = dataclasses.replace(detection.DetectorSpec(), **change)
        number_reader = reader.NumberReader(reader_model, detector=trained.model, spec=spec, scales=run.reader.scales,
                                            whole_photo=run.reader.whole_photo, min_presence=0.0, pad_edges=False)
        results["sweep"][name] = score(number_reader, validation)
        print(name, {k: round(v, 3) for k, v in results["sweep"][name].items()}, flush=True)
    if args.framing:
        results["framing"] = framing(run, reader_model, trained.model, validation)
    target = paths.PROJECT_ROOT / "experiments" / "results" / "digit_detector" / f"{args.name}.json"
    target.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
