"""Equal-wall-clock experiments on Step 1's reader: does a lever raise validation whole-number accuracy?

    .venv/bin/python experiments/step1_levers.py baseline --steps 2000
    .venv/bin/python experiments/step1_levers.py baseline --steps 2000 --distort
    .venv/bin/python experiments/step1_levers.py baseline --steps 1200 --batch-size 64 --dropout 0.2
    .venv/bin/python experiments/step1_levers.py two-convs --steps 750
    .venv/bin/python experiments/step1_levers.py glyph-pretraining --pretrain-steps 600 --steps 1350
    .venv/bin/python experiments/step1_levers.py baseline --steps 2000 --model-arg pool_first=False
    .venv/bin/python experiments/step1_levers.py baseline --steps 2000 --model-arg rnn_units=128 --ctc-weight 0.25
    .venv/bin/python experiments/step1_levers.py baseline --steps 12000 --label-smoothing 0.1
    .venv/bin/python experiments/step1_levers.py baseline --steps 12000 --distort --rotation 0 --shear 0 --elastic 2 --augment-share 0.5

`baseline` is the report's attention reader with the report's settings (batch 32, no dropout, no
glyph distortion, peak learning rate 2e-3, one convolution after the last pooling, pooling before
batch norm and ReLU, training lengths 1-5 in proportion 1:2:3:4:5; `--model-arg` passes any other
`build_attention_model` argument); each option changes one of them. `two-convs` doubles the convs
in every trunk block (each step takes ~2.7x as long on 2 CPU cores); `glyph-pretraining` first
trains the same trunk on single glyphs (32x32, batch 128) and copies it into the reader. (The step
counts above were matched to the baseline before pool-first made it faster.) Pick the steps so the
wall clocks match (printed), and
compare the printed validation accuracy (3,000 numbers from the validation digits, as in the
notebook), overall and by length. One 8-epoch warm-up + cosine schedule; models are not cached
(`--save` keeps one). Needs MNIST in DIGITS_DATA_DIR. About 3 minutes per 2000 baseline steps.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import keras  # noqa: E402
from keras import layers  # noqa: E402

from helpers.core import config as run_config  # noqa: E402
from helpers.core import paths  # noqa: E402
from helpers.datasets import mnist as data  # noqa: E402
from helpers.modeling import metrics, models, training  # noqa: E402
from helpers.steps import step1  # noqa: E402
from helpers.synth import sequences  # noqa: E402
from step1_replay import literal_items  # noqa: E402 (experiments/ is on sys.path)

SEED = run_config.SEED


def pretrain_trunk(train_digits, val_digits, steps: int, model_args: dict) -> keras.Model:
    """Train the reader's trunk on single glyphs rendered like Step 1's (one per 32x32 canvas)."""
    glyph_config = sequences.SequenceConfig(width=32, max_digits=1, augment=True)
    val_x, val_y = sequences.generate_sequences(val_digits, 5000, seed=SEED + 3,
                                                config=dataclasses.replace(glyph_config, augment=False))
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input((32, 32, 1), name="image")
    x = models._conv_trunk(inputs, (32, 64, 128), model_args.get("convs_per_block", 1),
                           model_args["dropout"], model_args["top_convs"], model_args.get("pool_first", False))
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    x = layers.Dropout(0.3)(layers.Dense(128, activation="relu")(x))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(models.learning_rate_schedule(3e-3, steps, steps // 10)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    stream = sequences.train_dataset(train_digits, 128, SEED + 100, glyph_config, target_fn=lambda y, n: y[:, 1])
    model.fit(stream, epochs=4, steps_per_epoch=max(steps // 4, 1), verbose=2)
    print(f"glyph accuracy on 5,000 validation glyphs: {model.evaluate(val_x, val_y[:, 1], verbose=0)[1]:.4f}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lever", choices=["baseline", "two-convs", "glyph-pretraining"])
    parser.add_argument("--distort", action="store_true", help="rotate and shear the training glyphs")
    parser.add_argument("--dropout", type=float, default=0.0, help="the models' dropout")
    parser.add_argument("--batch-size", type=int, default=32, help="numbers per step")
    parser.add_argument("--top-convs", type=int, default=1, help="convolutions after the last pooling")
    parser.add_argument("--save", type=Path, help="also save the trained reader here (.keras), for error analysis")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--steps", type=int, default=2400, help="reader training steps")
    parser.add_argument("--pretrain-steps", type=int, default=1200, help="glyph steps (batch 128)")
    parser.add_argument("--ctc-weight", type=float, default=1.0, help="weight of the auxiliary CTC loss")
    parser.add_argument("--label-smoothing", type=float, default=0.0, help="label smoothing of the heads' targets")
    parser.add_argument("--length-weights", default="1,2,3,4,5",
                        help="training mix of lengths 1-5 (validation stays uniform); 1,1,1,1,1 for uniform")
    parser.add_argument("--rotation", type=float, default=12.0, help="max glyph rotation (degrees) with --distort")
    parser.add_argument("--shear", type=float, default=0.3, help="max glyph shear with --distort")
    parser.add_argument("--elastic", type=float, default=0.0, help="max elastic warp (px) with --distort")
    parser.add_argument("--augment-share", type=float, default=1.0, help="share of glyphs distorted with --distort")
    parser.add_argument("--model-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="another build_attention_model argument, e.g. rnn_units=128 (repeatable)")
    args = parser.parse_args()
    if args.steps < 8:
        raise ValueError("--steps must be at least 8 (8 epochs of steps/8).")
    train_digits, val_digits = step1.digit_pools(data.load_mnist(paths.data_dir(), download_missing=False), run_config.FULL)
    config = sequences.SequenceConfig()
    val_set = sequences.generate_sequences(val_digits, 3000, seed=SEED + 1, config=config)
    model_args = {"dropout": args.dropout, "top_convs": args.top_convs, "pool_first": True,
                  "convs_per_block": 2 if args.lever == "two-convs" else 1}
    model_args.update(literal_items(args.model_arg))   # e.g. rnn_units=128
    start = time.perf_counter()
    pretrained = pretrain_trunk(train_digits, val_digits, args.pretrain_steps, model_args) \
        if args.lever == "glyph-pretraining" else None
    design = models.DESIGNS["attention"]

    def build() -> keras.Model:
        keras.utils.set_random_seed(SEED)
        model = design.build((config.height, config.width, 1), **model_args)
        if pretrained is not None:   # copy the trunk's layers by name
            trunk = {layer.name: layer for layer in pretrained.layers if layer.name.startswith(("block", "top_"))}
            for layer in model.layers:
                if layer.name in trunk and layer.weights:
                    layer.set_weights(trunk[layer.name].get_weights())
        return models.compile_multihead(model, models.learning_rate_schedule(args.learning_rate, args.steps,
                                                                             args.steps // 16), args.ctc_weight,
                                         args.label_smoothing)

    stream = sequences.train_dataset(train_digits, args.batch_size, SEED,
                                     dataclasses.replace(config, augment=args.distort, rotation=args.rotation,
                                                         shear=args.shear, elastic=args.elastic,
                                                         augment_share=args.augment_share, length_weights=tuple(
                                                             float(w) for w in args.length_weights.split(","))),
                                     target_fn=design.targets)
    os.environ["DIGITS_CACHE_DIR"] = tempfile.mkdtemp(prefix="step1-levers-")   # keep cache/ clean
    run = training.train_or_load(f"lever-{args.lever}", {"time": time.time()}, build, stream, val_set,
                                 design.decode, epochs=8, steps_per_epoch=args.steps // 8, cache=False, patience=8)
    scores = metrics.sequence_metrics(training.predict(run.model, val_set[0], design.decode), val_set[1])
    print(f"RESULT {args.lever}: validation whole-number {100 * scores['sequence_accuracy']:.2f}%, per digit "
          f"{100 * scores['per_digit_accuracy']:.2f}%, length {100 * scores['length_accuracy']:.2f}%, by length "
          f"{[round(100 * scores[f'sequence_accuracy_length_{n}'], 2) for n in range(1, 6)]}, "
          f"wall clock {time.perf_counter() - start:.0f} s, "
          f"{run.model.count_params():,} parameters")
    if args.save:
        run.model.save(args.save)


if __name__ == "__main__":
    main()
