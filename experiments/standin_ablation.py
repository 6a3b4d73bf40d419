"""Train the Step 2 reader on one variant of the stand-in and score it on real digits and the stand-in test.

    .venv/bin/python experiments/standin_ablation.py --variant all      # the report's stand-in
    .venv/bin/python experiments/standin_ablation.py --variant first    # before the realism changes
    .venv/bin/python experiments/standin_ablation.py --variant fonts    # the first one + 100+ font families
    .venv/bin/python experiments/standin_ablation.py --table            # rewrite the table in the README

Renders (or reuses, cached) the full run's stand-in with the variant's `StreetConfig`, trains the
reader the notebook chooses (two convolutions per block, centre crops, the report's 1,400 steps of
64 crops), picks the confidence threshold on stand-in validation photos, then prints and writes
`experiments/results/VARIANT.json`: whole-number accuracy on the stand-in test split (true boxes) and,
on Chars74K's real photographed digits, accuracy inside each crop and the precision of the answers
marked sure. Chars74K only measures here: nothing is chosen on it. With `svhn-real/` in the data
folder, also accuracy inside the true box on its 256 real SVHN train photos (never trained on here).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()

from helpers.app import reader  # noqa: E402
from helpers.core import config  # noqa: E402
from helpers.datasets import crops, real_photos  # noqa: E402
from helpers.modeling import metrics, models, training  # noqa: E402
from helpers.synth import street_numbers  # noqa: E402
from step1_replay import literal_items  # noqa: E402 (experiments/ is on sys.path when run as a script)

SEED = config.SEED
RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent / "README.md"
# Each variant: the first stand-in with one realism change, or all of them (the report's stand-in).
VARIANTS = {
    "first": ("the first stand-in (hand-set framing, 10 font families, no new look or clutter)", {}),
    "fonts": ("first + 100+ font families", {"font_set": "many"}),
    "geometry": ("first + framing of real SVHN photos", {"geometry": "svhn"}),
    "look": ("first + raised/engraved digits, muted colour, low resolution, motion blur", {"look": True}),
    "clutter": ("first + edges, frames and more text around the number", {"clutter": True}),
    "all": ("all four changes (StreetConfig's defaults)", None),
}


def variant_config(name: str) -> street_numbers.StreetConfig:
    """The StreetConfig of one ablation variant."""
    import dataclasses

    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}.")
    change = VARIANTS[name][1]
    return street_numbers.StreetConfig() if change is None else \
        dataclasses.replace(street_numbers.StreetConfig().first(), **change)


def write_table() -> None:
    """Rewrite the ablation tables in experiments/README.md from the saved results: Chars74K's, and
    the re-ranking on real SVHN (results in experiments/results/real_svhn/)."""
    from helpers.report import ablation

    text = README.read_text()
    tables = {"ablation": ablation.ablation_table(ablation.load_ablation(RESULTS)),
              "real-svhn": svhn_table(ablation.load_ablation(RESULTS / "real_svhn"))}
    for marker, table in tables.items():
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        if start in text:
            head, rest = text.split(start, 1)
            text = f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}"
    README.write_text(text)


SVHN_LABELS = {"svhn_base": "the report's stand-in (many fonts, clutter, lone zeros, hand-set framing)",
               "svhn_geometry": "... framed like real SVHN photos", "svhn_look": "... with the raised and muted look",
               "svhn_geometry_look": "... both (all four changes)"}


def svhn_table(runs: list[dict]) -> str:
    """The stand-in variants read on real SVHN (true box, 256 train photos), on Chars74K and on their own test."""
    from helpers.report import results

    return results.markdown_table([
        {"variant": SVHN_LABELS.get(run["name"], run["name"]), "svhn": results.percent(run["svhn_real_train_true_box_accuracy"]),
         "real": results.percent(run["chars74k_accuracy"]), "standin": results.percent(run["standin_test_accuracy"])}
        for run in runs if "svhn_real_train_true_box_accuracy" in run],
        {"variant": "stand-in the reader trained on (1,400 steps, box jitter 15%)",
         "svhn": "real SVHN train 1-256, true box", "real": "Chars74K, inside each crop",
         "standin": "its own stand-in test split"})


def svhn_true_box_accuracy(crop_reader) -> dict:
    """Whole-number accuracy inside the true box on all 256 real SVHN train photos of svhn-real/ (a
    reader trained on the stand-in alone has seen none of them), and on its two parts; {} without them."""
    parts = {part: real_photos.svhn_real(part) for part in ("train", "validation")}
    if any(photos is None for photos in parts.values()):
        return {}
    right = {part: [r.number == t for r, t in zip(real_photos.read_in_boxes(crop_reader, photos.photos, photos.boxes),
                                                  photos.numbers)] for part, photos in parts.items()}
    return {"svhn_real_train_true_box_accuracy": float(sum(map(sum, right.values())) / sum(map(len, right.values()))),
            "svhn_real_count": sum(map(len, right.values())),
            "svhn_real_validation_true_box_accuracy": float(sum(right["validation"]) / len(right["validation"]))}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=VARIANTS, default="all")
    parser.add_argument("--name", default=None, help="results file name (default: the variant's)")
    parser.add_argument("--config-arg", action="append", default=[], help="extra StreetConfig field=literal")
    parser.add_argument("--table", action="store_true", help="only rewrite the README's table")
    parser.add_argument("--model-arg", action="append", default=[], help="model factory argument=literal")
    parser.add_argument("--steps", type=int, default=1400, help="training steps of 64 crops")
    parser.add_argument("--box-jitter", type=float, default=0.0,
                        help="rescale and shift each training box by up to this share (as Step 4's adaptation)")
    parser.add_argument("--train-count", type=int, default=street_numbers.FULL_RUN_COUNTS["train"])
    parser.add_argument("--save", type=Path, default=None, help="also save the reader here (.keras)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder for the results file (default: experiments/results, the README table's)")
    args = parser.parse_args()
    if args.table:
        write_table()
        return {}
    import dataclasses

    config = dataclasses.replace(variant_config(args.variant), **literal_items(args.config_arg))
    name = args.name or args.variant
    start = time.perf_counter()
    root = street_numbers.standin_dataset({"train": args.train_count, "test": 4000}, seed=SEED, config=config,
                                          progress=False)
    render_seconds = time.perf_counter() - start
    tables = {split: crops.number_table(root / split) for split in ("train", "test")}
    train_rows, val_rows = crops.split_table(tables["train"], config.FULL.step2.val_count, seed=SEED)
    val_crops = crops.crop_arrays(val_rows)
    model_args = {**config.DEEPER.model_args, **literal_items(args.model_arg)}
    epochs = 7
    trained = training.fit_crops(models.DESIGNS["attention"], train_rows, val_crops, batch_size=64, epochs=epochs,
                                 steps_per_epoch=args.steps // epochs, learning_rate=2e-3, seed=SEED,
                                 model_args=model_args, random_crop=False,
                                 box_jitter=args.box_jitter)
    val = training.predict(trained.model, val_crops[0], metrics.decode_multihead)
    threshold = metrics.confidence_threshold((val.rows == val_crops[1]).all(1), val.confidence)
    test_crops = crops.crop_arrays(tables["test"])
    test = training.predict(trained.model, test_crops[0], metrics.decode_multihead)
    crop_reader = reader.NumberReader.in_boxes(trained.model, min_confidence=threshold)
    digits = real_photos.chars74k_digits()
    readings = real_photos.read_in_boxes(crop_reader, digits.photos)
    scores = metrics.score_readings(readings, digits.numbers)
    svhn = svhn_true_box_accuracy(crop_reader)
    summary = {"name": name, "description": VARIANTS[args.variant][0] + "".join(f", {item}" for item in args.config_arg)
               + (f", boxes jittered by {args.box_jitter:g}" if args.box_jitter else ""), "box_jitter": args.box_jitter,
               "config": dataclasses.asdict(config), "sources": street_numbers.sources(config),
               "model_args": model_args, "steps": args.steps, "train_count": args.train_count,
               "render_seconds": render_seconds, "train_seconds": trained.train_seconds,
               "standin_test_accuracy": float((test.rows == test_crops[1]).all(1).mean()),
               "standin_val_accuracy": float((val.rows == val_crops[1]).all(1).mean()),
               "threshold": threshold, "chars74k_accuracy": scores["accuracy"],
               "chars74k_confident_precision": scores["confident_precision"],
               "chars74k_confident_share": scores["confident_share"], **svhn}
    print(json.dumps(summary, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(summary, indent=1))
    if args.save:
        trained.model.save(args.save)
    return summary


if __name__ == "__main__":
    main()
