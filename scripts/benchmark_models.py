"""Where a full run's training time goes, model by model (issue 34's measurements; not a test).

    DIGITS_DATA_DIR=../shared/data .venv/bin/python scripts/benchmark_models.py            # about 1 min (AVX-512 EPYC)
    DIGITS_DATA_DIR=../shared/data .venv/bin/python scripts/benchmark_models.py --steps 5  # a smoke run

For each kind of model the notebook trains (Step 1's reader, Step 2's reader, Step 4's localizer),
with the report's shapes, batch sizes and streams, it prints:
- examples/s of a training step fed from memory (the model alone), and fed by its `tf.data` stream;
- the step's GFLOP/s: 3x the forward pass's floating-point operations (counted by TensorFlow's
  graph profiler) per example, times examples/s; and that as a share of the CPU's peak, estimated as
  cores x clock x FLOPs per cycle (32 per core with AVX2's two FMA units, 64 with AVX-512's);
- the input pipeline's share of a fed step: the stream alone, batches/s, set against the fed step;
- the model's training time in the last run (`results/metrics.json`, summed over its runs).
Each model is timed after a warm-up of 5 steps; the two cores are shared by the stream and the model,
as in the notebook.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import helpers  # noqa: E402

tf = helpers.import_tensorflow_quietly()

from helpers.core import config, paths  # noqa: E402
from helpers.datasets import crops, mnist as data, digitstruct  # noqa: E402
from helpers.modeling import localization, models  # noqa: E402
from helpers.report import results  # noqa: E402
from helpers.synth import sequences, street_numbers  # noqa: E402

SEED = config.SEED
DEEP = config.DEEPER.model_args   # Step 2's deeper trunk


@dataclass
class Bench:
    """One kind of model: how to build and compile it, and the stream the notebook trains it on."""

    name: str
    build: Callable[[], "tf.keras.Model"]
    stream: Callable[[], "tf.data.Dataset"]
    batch_size: int
    last_run_seconds: Callable[[dict], float | None]


def forward_flops(model) -> float:
    """Floating-point operations of one example's forward pass (TensorFlow's graph profiler)."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2_as_graph

    spec = tf.TensorSpec([1, *model.inputs[0].shape[1:]], tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    frozen, _ = convert_variables_to_constants_v2_as_graph(concrete)
    graph = frozen.graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                               options=options).total_float_ops)


def peak_gflops() -> tuple[float, str]:
    """The CPU's peak fp32 GFLOP/s, estimated from its cores, clock and widest vector unit."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    megahertz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    clock = (max(megahertz) if megahertz else 2500.0) / 1000
    per_cycle = 64 if " avx512f" in info else 32 if " avx2" in info else 16
    cores = os.cpu_count() or 1
    return cores * clock * per_cycle, f"{cores} cores x {clock:.2f} GHz x {per_cycle} FLOP/cycle"


def seconds_per_step(model, batches, steps: int) -> float:
    """Mean seconds of `steps` training steps on `batches` (an iterator), after 5 warm-up steps."""
    for _ in range(5):
        model.train_on_batch(*next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(*next(batches))
    return (time.perf_counter() - start) / steps


def stream_seconds(stream, steps: int) -> float:
    """Mean seconds per batch of the stream alone (after 5 warm-up batches)."""
    batches = iter(stream)
    for _ in range(5):
        next(batches)
    start = time.perf_counter()
    for _ in range(steps):
        next(batches)
    return (time.perf_counter() - start) / steps


def repeat_one(stream):
    """The stream's first batch, again and again: the model timed without its input pipeline."""
    first = next(iter(stream))
    while True:
        yield first


def _trained_seconds(record: dict, *keys_lists: tuple[str, ...]) -> float | None:
    """Sum of the train_seconds at these key paths of a metrics record (None when none is there)."""
    found = []
    for keys in keys_lists:
        value = record
        for key in keys:
            value = value.get(key, {}) if isinstance(value, dict) else {}
        if isinstance(value, (int, float)):
            found.append(float(value))
    return sum(found) if found else None


def _step2_seconds(record: dict) -> float | None:
    """Every Step 2 reader run of the last run: explorations (and, in runs before every setting got
    the full budget, full-budget continuations, whose figures include their exploration run), the
    real fine-tuning and Step 4's adaptation."""
    step2, step4 = record.get("step2", {}), record.get("step4", {})
    if not step2:
        return None
    full = sum(run["train_seconds"] for run in step2.get("full_budget", {}).values())
    explored_again = sum(step2["exploration"][name]["train_seconds"] for name in step2.get("full_budget", {}))
    explored = sum(run["train_seconds"] for run in step2.get("exploration", {}).values())
    return (explored + full - explored_again + step2.get("real_fine_tune", {}).get("train_seconds", 0)
            + step4.get("adapt_seconds", 0))


def benches() -> list[Bench]:
    """Step 1's reader, Step 2's reader and Step 4's localizer, as the notebook trains them."""
    design = models.DESIGNS["attention"]

    def step1_stream():
        mnist = data.load_mnist()
        train, _ = sequences.split_training_digits(mnist.train_images, mnist.train_labels, 5000, SEED)
        config = sequences.SequenceConfig(augment=False, length_weights=(1, 2, 3, 4, 5))
        return sequences.train_dataset(train, 32, SEED, config, target_fn=design.targets)

    @functools.cache
    def standin_table():
        root = street_numbers.standin_dataset(street_numbers.FULL_RUN_COUNTS, seed=SEED,
                                              config=street_numbers.FULL_RUN_CONFIG, progress=False)
        return crops.number_table(root / "train", digitstruct.load_digit_struct(root / "train" / "digitStruct.mat"))

    def step2_stream():
        return crops.crop_dataset(standin_table(), training=True, batch_size=64, seed=SEED, target_fn=design.targets,
                                  random_crop=True, box_jitter=0.15)

    def localizer_stream():
        table = standin_table()
        return localization.localization_dataset(table.paths, table.union, training=True, batch_size=64, seed=SEED,
                                                 tight=0.2)

    def step1_model():
        return design.compile(design.build((32, 128, 1), dropout=0.0, top_convs=1, pool_first=True), 1e-3)

    def step2_model():
        return design.compile(design.build((54, 54, 3), **DEEP), 1e-3)

    def localizer_model():
        return localization.compile_localizer(localization.build_localizer(64, pool_first=True), 1e-3)

    return [
        Bench("Step 1 reader", step1_model, step1_stream, 32,
              lambda r: _trained_seconds(r, ("step1", "train_seconds"))),
        Bench("Step 2 readers (all runs)", step2_model, step2_stream, 64, _step2_seconds),
        Bench("Step 4 localizer", localizer_model, localizer_stream, 64,
              lambda r: _trained_seconds(r, ("step4", "train_seconds"), ("step4", "real_tune_seconds"))),
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per measurement (after 5 warm-up steps)")
    args = parser.parse_args(argv)
    metrics_file = paths.output_dir(False) / "results" / "metrics.json"
    record = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    peak, peak_how = peak_gflops()
    print(f"{results.processor()}: peak about {peak:.0f} GFLOP/s ({peak_how}); last run from {metrics_file}")
    rows = []
    for bench in benches():
        keras_model = bench.build()
        stream = bench.stream()
        flops = 3 * forward_flops(keras_model)        # forward + backward (about twice the forward)
        alone = seconds_per_step(keras_model, repeat_one(stream), args.steps)
        fed = seconds_per_step(keras_model, iter(stream), args.steps)
        pipeline = stream_seconds(stream, args.steps)
        examples = bench.batch_size / fed
        last = bench.last_run_seconds(record)
        row = {"model": bench.name, "batch": bench.batch_size, "parameters": keras_model.count_params(),
               "mflop_per_example": flops / 1e6, "examples_per_s_alone": bench.batch_size / alone,
               "examples_per_s_fed": examples, "gflops": examples * flops / 1e9,
               "peak_share": examples * flops / 1e9 / peak, "pipeline_share": pipeline / fed,
               "last_run_minutes": None if last is None else last / 60}
        rows.append(row)
        print(f"{bench.name}: {row['parameters']:,} parameters, {row['mflop_per_example']:.0f} MFLOP per example; "
              f"{row['examples_per_s_alone']:.0f} examples/s alone, {examples:.0f} fed by tf.data; "
              f"{row['gflops']:.1f} GFLOP/s = {100 * row['peak_share']:.1f}% of peak; the stream alone takes "
              f"{100 * row['pipeline_share']:.0f}% of a fed step; last run "
              + ("-" if last is None else f"{last / 60:.1f} min"), flush=True)
    return rows


if __name__ == "__main__":
    main()
