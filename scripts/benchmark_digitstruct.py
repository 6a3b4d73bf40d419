"""Benchmark: parse a generated 33,402-entry digitStruct.mat (SVHN train's size) and reload it.

    .venv/bin/python scripts/benchmark_digitstruct.py [--entries 33402]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from helpers.datasets import digitstruct  # noqa: E402


def synthetic_annotations(count: int, seed: int = 0) -> list[digitstruct.Annotation]:
    """Entries with SVHN train's length mix (roughly 1:17%, 2:55%, 3:25%, 4:3%, 5:<1%)."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice([1, 2, 3, 4, 5], size=count, p=[0.17, 0.545, 0.25, 0.03, 0.005])
    return [digitstruct.Annotation(f"{i + 1}.png", tuple(rng.integers(0, 10, n).tolist()),
                            rng.uniform(1, 100, (n, 4)).round()) for i, n in enumerate(lengths)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=33_402)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["DIGITS_CACHE_DIR"] = str(Path(folder) / "cache")
        path = Path(folder) / "digitStruct.mat"
        start = time.perf_counter()
        expected = synthetic_annotations(args.entries)
        digitstruct.write_digit_struct(path, expected)
        print(f"wrote {args.entries:,} entries ({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        parsed = digitstruct.load_digit_struct(path)
        seconds = time.perf_counter() - start
        assert [a.digits for a in parsed] == [a.digits for a in expected], "parsed labels differ"
        print(f"parsed + cached in {seconds:.2f} s: {len(parsed) / seconds:,.0f} entries/s")
        start = time.perf_counter()
        digitstruct.load_digit_struct(path)
        print(f"reloaded from cache in {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        slow = digitstruct.parse_digit_struct(path, fast=False)
        seconds = time.perf_counter() - start
        assert [a.digits for a in slow] == [a.digits for a in expected], "h5py path labels differ"
        print(f"for comparison, the h5py path (one library call per value): {len(slow) / seconds:,.0f} entries/s")


if __name__ == "__main__":
    main()
