"""Time one training step of Step 1's reader on random numbers: does a model option make it faster?

    .venv/bin/python scripts/benchmark_training.py            # pool_first off vs on, batch 32

Prints milliseconds per step (after warm-up) for each setting, twice in alternation so that a
slower moment of the machine does not favour one of them. The whole step counts: forward, losses
(heads and CTC) and backward, with the report's Step 1 settings otherwise.
"""
from __future__ import annotations

import argparse
import time

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
import numpy as np  # noqa: E402

from helpers.core import labels  # noqa: E402
from helpers.modeling import models  # noqa: E402


def ms_per_step(pool_first: bool, batch_size: int, steps: int) -> float:
    """Mean wall-clock milliseconds of `steps` training steps after a warm-up."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (batch_size, 32, 128, 1)).astype(np.float32)
    digits = [rng.integers(0, 10, size=rng.integers(1, 6)).tolist() for _ in range(batch_size)]
    label_rows = np.stack([labels.encode_labels(d, 5) for d in digits])
    model = models.build_attention_model((32, 128, 1), dropout=0.0, top_convs=1, pool_first=pool_first)
    models.compile_multihead(model, 1e-3)
    targets = models.multihead_ctc_targets(label_rows)
    for _ in range(5):
        model.train_on_batch(images, targets)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, targets)
    return 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    for round_ in (1, 2):
        for pool_first in (False, True):
            print(f"round {round_}: pool_first={pool_first!s:5}  "
                  f"{ms_per_step(pool_first, args.batch_size, args.steps):6.1f} ms per step", flush=True)


if __name__ == "__main__":
    main()
