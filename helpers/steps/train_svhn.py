"""Scale-up path: train the Step 2 reader on full SVHN (train + extra) on one or many devices.

    python -m helpers.steps.train_svhn --splits train extra --strategy mirrored      # all GPUs of one machine
    TF_CONFIG=... python -m helpers.steps.train_svhn --strategy multiworker ...     # several machines

The same streaming pipeline and model factory as the notebook; only the `tf.distribute` strategy and
the budget change. `--strategy cpu2` splits this CPU into two logical devices and mirrors across
them, which runs the MirroredStrategy code path on a machine without GPUs (the tests use it).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from helpers.core import config, paths
from helpers.datasets import crops
from helpers.modeling import metrics, training
from helpers.report import results
from helpers.steps import step2

STRATEGIES = ("default", "mirrored", "multiworker", "cpu2")


def make_strategy(name: str):
    """A `tf.distribute.Strategy` by name; "cpu2" must be asked for before TensorFlow starts its runtime."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}.")
    if name == "cpu2":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()          # every visible GPU (or the CPU if none)
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()   # the cluster is described by $TF_CONFIG
    return tf.distribute.get_strategy()


def chosen_setting() -> config.ReaderSetting:
    """The reader setting the last full run chose on validation (results/metrics.json), else the deeper trunk."""
    record = paths.PROJECT_ROOT / "results" / "metrics.json"
    name = results.load(record).get("step2", {}).get("configuration") if record.exists() else None
    names = {setting.name for setting in config.FULL.step2.settings}
    return config.FULL.step2.setting(name) if name in names else config.DEEPER


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line, train (or load) the reader, evaluate on the test split, print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="folder with train/, test/, extra/ (default: <data>/svhn)")
    parser.add_argument("--splits", nargs="+", default=["train", "extra"], help="splits to train on")
    parser.add_argument("--strategy", choices=STRATEGIES, default="mirrored")
    parser.add_argument("--batch-size", type=int, default=256, help="global batch, split across the replicas")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--steps-per-epoch", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--validation-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=config.SEED)
    parser.add_argument("--summary", type=Path, default=None, help="also write the JSON summary to this file")
    args = parser.parse_args(argv)
    strategy = make_strategy(args.strategy)    # first: "cpu2" has to configure devices before anything runs
    root = Path(args.root or paths.data_dir() / "svhn")
    missing = [split for split in args.splits if not (root / split / "digitStruct.mat").exists()]
    if missing:
        raise FileNotFoundError(f"no {', '.join(missing)} split in {root}: fetch it with "
                                f"`python -m helpers.datasets.svhn {' '.join(missing)}` (or pass --root).")
    train, validation = crops.split_table(crops.concat_tables([crops.number_table(root / s) for s in args.splits]),
                                         args.validation_size, seed=args.seed)
    setting = chosen_setting()
    start = time.perf_counter()
    trained = training.fit_crops(step2.DESIGN, train, crops.crop_arrays(validation), strategy=strategy,
                                 **step2.training_args(config.FULL, setting, batch_size=args.batch_size,
                                                       epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                                                       learning_rate=args.learning_rate, seed=args.seed))
    summary = {"strategy": args.strategy, "setting": setting.name, "replicas": strategy.num_replicas_in_sync, "train_numbers": len(train),
               "seconds": time.perf_counter() - start, "model": str(trained.path)}
    if (root / "test" / "digitStruct.mat").exists():
        images, labels = crops.crop_arrays(crops.number_table(root / "test"))
        scores = metrics.sequence_metrics(training.predict(trained.model, images, metrics.decode_multihead), labels)
        summary.update(test_numbers=len(labels), sequence_accuracy=scores["sequence_accuracy"])
    print(json.dumps(summary, indent=1))
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    main()
