"""Replay the report's full Step 1 training with one change: does it read more validation numbers?

    .venv/bin/python experiments/step1_replay.py                                  # the report's settings
    .venv/bin/python experiments/step1_replay.py --compare-steps 600 --steps 1550 --model-arg input_scale=0.75
    .venv/bin/python experiments/step1_replay.py --batch-size 16 --compare-steps 700 --steps 1450 --learning-rate 1.5e-3
    .venv/bin/python experiments/step1_replay.py --ema 0.999
    .venv/bin/python experiments/step1_replay.py --weight-decay 0.05
    .venv/bin/python experiments/step1_replay.py --length-weights 1 1 2 4 8       # more digits per image
    .venv/bin/python experiments/step1_replay.py --members 2 --epochs 5           # two half-budget models, averaged
    .venv/bin/python experiments/step1_replay.py --seed 7                         # how much a seed alone moves it
    .venv/bin/python experiments/step1_replay.py --config-arg augment=True --config-arg augment_share=0.5
    .venv/bin/python experiments/step1_replay.py --config-arg augment=True --config-arg augment_steps=8000

Unlike `step1_levers.py` (one schedule, shorter budgets), this runs the report's two stages with the
settings of `config.FULL.step1` (every default below): the attention reader's comparison run, then
the continuation from its weights (`--epochs` of `--steps` steps each, with a fresh warm-up + cosine
schedule), keeping the epoch with the best whole-number accuracy on the report's validation numbers.
`--members N` trains N such continuations from the comparison run, each on its own stream
(seed + k), and also reads them as an ensemble (heads averaged, every member's CTC columns voting).
It then reads the report's reading-validation numbers (held-out training digits) in one plain pass
and with shifts 0/±3 px, with and without the CTC vote. Set the step counts so the printed training
seconds match the report's; `--ema` averages the weights of the continuation (Keras' optimizer EMA,
validated and saved with the averaged weights). Models are not cached; `--save FOLDER` keeps them.
Needs MNIST in DIGITS_DATA_DIR.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import os
import tempfile
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
from helpers.core import config, paths  # noqa: E402
from helpers.datasets import mnist as data  # noqa: E402
from helpers.modeling import metrics, models, training  # noqa: E402
from helpers.steps import step1  # noqa: E402

FULL = config.FULL.step1   # the report's Step 1 settings: every default below comes from them


def literal_items(items: list[str]) -> dict:
    """NAME=VALUE strings -> {NAME: VALUE}, the values read as Python literals (numbers, booleans, tuples)."""
    pairs = [item.partition("=") for item in items]
    if any(not name or not sep for name, sep, _ in pairs):
        raise ValueError(f"expected NAME=VALUE, got {items}.")
    return {name: ast.literal_eval(value) for name, _, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=FULL.batch_size, help="numbers per step")
    parser.add_argument("--compare-steps", type=int, default=FULL.compare_steps,
                        help="steps per epoch of the comparison run")
    parser.add_argument("--steps", type=int, default=FULL.steps_per_epoch, help="steps per epoch of the continuation")
    parser.add_argument("--epochs", type=int, default=FULL.epochs, help="epochs of the continuation (of each member)")
    parser.add_argument("--members", type=int, default=1,
                        help="continuations trained from the comparison run, read together as an ensemble")
    parser.add_argument("--learning-rate", type=float, default=FULL.learning_rate, help="peak learning rate of both stages")
    parser.add_argument("--seed", type=int, default=config.SEED,
                        help="seed of the weights and the training stream (the validation sets keep the report's)")
    parser.add_argument("--ema", type=float, default=0.0, help="EMA momentum of the continuation's weights (0: off)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay of both stages (0: Adam)")
    parser.add_argument("--length-weights", type=float, nargs=5, default=FULL.length_weights, metavar="W",
                        help="chances of training lengths 1-5 (default: the report's; validation stays uniform)")
    parser.add_argument("--model-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="another build_attention_model argument, e.g. input_scale=0.75 (repeatable)")
    parser.add_argument("--config-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="another SequenceConfig field of the training stream only, e.g. augment=True "
                             "(repeatable; the validation sets keep the report's)")
    parser.add_argument("--save", type=Path, default=None, metavar="FOLDER",
                        help="also save each member's kept model there (member-1.keras, ...), "
                             "to try other readings later (experiments/step1_readings.py)")
    args = parser.parse_args()
    if not 0 <= args.ema < 1 or args.members < 1:
        raise ValueError(f"--ema must be in [0, 1) and --members at least 1, got {args.ema}, {args.members}.")
    os.environ["DIGITS_CACHE_DIR"] = tempfile.mkdtemp(prefix="step1-replay-")   # keep cache/ clean
    # The report's digit pools and validation numbers (its test numbers are generated, never read here).
    sets = step1.make_data(data.load_mnist(paths.data_dir(), download_missing=False), config.FULL)
    train_digits, val_set, read_val_set = sets.train_digits, sets.val_set, sets.read_val_set
    model_args = {**FULL.model_args, **literal_items(args.model_arg)}
    design = models.DESIGNS["attention"]
    settings = dict(batch_size=args.batch_size, epochs=FULL.compare_epochs, steps_per_epoch=args.compare_steps,
                    learning_rate=args.learning_rate, seed=args.seed, model_args=model_args,
                    config=dataclasses.replace(step1.NUMBERS, **{"augment": False,
                                                                  "length_weights": tuple(args.length_weights),
                                                                  **literal_items(args.config_arg)}))
    if args.weight_decay:   # both stages
        design = dataclasses.replace(design, compile=functools.partial(models.compile_multihead,
                                                                       weight_decay=args.weight_decay))
    first = training.fit_design(design, train_digits, val_set, **settings)
    if args.ema:   # the continuation's optimizer keeps an average of the weights
        design = dataclasses.replace(design, compile=functools.partial(design.compile, ema_momentum=args.ema))
    # Each member continues from the comparison run's weights on its own training stream (seed + k).
    runs = [training.fit_design(design, train_digits, val_set, start_from=first,
                                **{**settings, "seed": args.seed + member, "epochs": args.epochs,
                                   "steps_per_epoch": args.steps})
            for member in range(args.members)]
    for run in runs:
        print(f"validation whole-number by epoch ({len(val_set[1]):,} numbers):",
              [round(100 * value, 2) for value in run.history["val_sequence_accuracy"]])
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for number, run in enumerate(runs, start=1):
            run.model.save(args.save / f"member-{number}.keras")
    readings = [(0,), (0, -3, 3)]
    # Every member reads every shifted copy once; the readings below combine those passes.
    passes = [{s: training.predict_outputs(run.model, read_val_set[0], shifts=(s,)) for s in set().union(*readings)}
              for run in runs]
    scores = {}
    for shifts in readings:
        for count in sorted({1, args.members}):   # the first member alone, and the whole ensemble
            outputs = training.combine_outputs([member[s] for member in passes[:count] for s in shifts])
            for weight in (0.0, 1.0):
                decoded = metrics.decode_joint(outputs, weight)
                scores[f"{count} model(s), shifts {shifts}, CTC weight {weight:g}"] = \
                    f"{100 * metrics.sequence_metrics(decoded, read_val_set[1])['sequence_accuracy']:.2f}%"
    seconds = first.train_seconds + sum(run.train_seconds for run in runs)
    print(f"RESULT {vars(args)}: training {seconds:.0f} s; whole-number accuracy "
          f"on {len(read_val_set[1]):,} reading-validation numbers: {scores}")


if __name__ == "__main__":
    main()
