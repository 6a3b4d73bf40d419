"""Does Keras's mixed_bfloat16 policy train the Step 1 reader faster on this processor, and does it read as well?

    .venv/bin/python experiments/mixed_precision.py                       # Step 1's comparison budget: 2 x 400 steps
    .venv/bin/python experiments/mixed_precision.py --epochs 2 --steps 150 --name short

Trains Step 1's chosen design (the attention reader, the report's configuration) twice from the same seed on
the same stream of generated numbers, once in float32 and once under `mixed_bfloat16` (weights kept in float32,
the arithmetic in bfloat16), and reads the same validation numbers with both: training examples per second,
whole-number accuracy and the paired difference with its 95% margin. Nothing is cached; the report's models
are untouched. Writes experiments/results/mixed_precision/<name>.json with the processor it ran on.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import helpers

helpers.import_tensorflow_quietly()
import keras

from helpers.core import config
from helpers.datasets import mnist
from helpers.modeling import metrics, models, training
from helpers.report import results
from helpers.steps import step1

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ("float32", "mixed_bfloat16")


def train(policy: str, run: config.RunConfig, sets: step1.Step1Data, epochs: int, steps: int) -> dict:
    """One short training of the Step 1 reader under `policy`: its speed and its validation rights."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        start = time.perf_counter()
        trained = step1.fit(run, "attention", sets, epochs=epochs, steps=steps, cache=False)
        seconds = time.perf_counter() - start
        decoded = training.predict(trained.model, sets.val_set[0], models.DESIGNS["attention"].decode)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    right = metrics.whole_number_right(decoded, sets.val_set[1])
    return {"policy": policy, "train_seconds": trained.train_seconds, "seconds_with_validation": seconds,
            "examples_per_second": epochs * steps * run.step1.batch_size / trained.train_seconds,
            "validation_accuracy": float(right.mean()), "right": right}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--name", default="step1_compare_budget")
    args = parser.parse_args()
    run = config.RunConfig()
    sets = step1.make_data(mnist.load_mnist(), run)
    runs = {policy: train(policy, run, sets, args.epochs, args.steps) for policy in POLICIES}
    difference, margin = metrics.paired_difference(runs["mixed_bfloat16"].pop("right"), runs["float32"].pop("right"))
    record = {"processor": results.processor(), "epochs": args.epochs, "steps_per_epoch": args.steps,
              "batch_size": run.step1.batch_size, "validation_numbers": len(sets.val_set[1]), "runs": runs,
              "speedup": runs["float32"]["train_seconds"] / runs["mixed_bfloat16"]["train_seconds"],
              "bfloat16_minus_float32": {"difference": difference, "margin": margin}}
    target = ROOT / "experiments" / "results" / "mixed_precision" / f"{args.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=1))
    for policy, figures in runs.items():
        print(f"{policy}: {figures['examples_per_second']:.0f} examples/s, {figures['train_seconds'] / 60:.1f} min, "
              f"validation {100 * figures['validation_accuracy']:.2f}%")
    print(f"speed-up {record['speedup']:.2f}x; bfloat16 minus float32: {100 * difference:+.2f} ± {100 * margin:.2f} "
          f"points (paired, {len(sets.val_set[1]):,} numbers); {record['processor']}")


if __name__ == "__main__":
    main()
