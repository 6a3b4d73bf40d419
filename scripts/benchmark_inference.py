"""How fast the end-to-end reader (load, localize, crop, read) is on this CPU.

    .venv/bin/python scripts/benchmark_inference.py [--photos 256] [--batch 64]

Uses the released models in models/ (`NumberReader.load`); without them it builds the
same architectures untrained (speed does not depend on the weights) and says so. Photos are
stand-in renders (32-110 pixels high, as SVHN's) held in memory, so disk speed is left out; one
pass on files is timed too, and one on phone-sized photos (the renders enlarged to 2000 pixels wide,
where the detector runs its largest size). Prints milliseconds per photo in batches and for one photo at a time.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()
from helpers.app import reader  # noqa: E402
from helpers.core import paths  # noqa: E402
from helpers.modeling import detection, localization, models  # noqa: E402
from helpers.synth import street_numbers  # noqa: E402


def load_reader() -> tuple[reader.NumberReader, str]:
    """The trained end-to-end reader, or untrained models of the same size."""
    try:
        return reader.NumberReader.load(), f"trained models from {paths.models_dir()}"
    except FileNotFoundError:
        step2 = models.build_attention_model((54, 54, 3), filters=(32, 64, 128), convs_per_block=2, top_convs=1)
        # Read as the released reader reads (NumberReader's defaults are the configuration's).
        return (reader.NumberReader(step2, localization.build_localizer(), detector=detection.build_detector()),
                "UNTRAINED models (same architecture)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--large", type=int, default=32, help="phone-sized photos timed")
    args = parser.parse_args()
    number_reader, which = load_reader()
    rng = np.random.default_rng(0)
    photos = [street_numbers.render_house_number(rng)[0] for _ in range(args.photos)]
    number_reader.read(photos[:args.batch], batch_size=args.batch)          # warm-up
    start = time.perf_counter()
    number_reader.read(photos, batch_size=args.batch)
    batched = (time.perf_counter() - start) / len(photos) * 1000
    for photo in photos[:5]:                                                 # warm-up of batch size 1
        number_reader.read(photo)
    singles = []
    for photo in photos[:50]:
        start = time.perf_counter()
        number_reader.read(photo)
        singles.append((time.perf_counter() - start) * 1000)
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for index, photo in enumerate(photos):
            files.append(Path(folder) / f"{index}.png")
            Image.fromarray(photo).save(files[-1])
        start = time.perf_counter()
        number_reader.read([str(f) for f in files], batch_size=args.batch)
        from_files = (time.perf_counter() - start) / len(files) * 1000
    large = [np.asarray(Image.fromarray(photo).resize((2000, max(1, round(2000 * photo.shape[0] / photo.shape[1])))))
             for photo in photos[:args.large]]
    number_reader.read(large[:2], batch_size=args.batch)                    # warm-up of the largest size
    start = time.perf_counter()
    number_reader.read(large, batch_size=args.batch)
    phone = (time.perf_counter() - start) / max(len(large), 1) * 1000
    print(f"end-to-end reader ({which}), {len(photos)} photos")
    print(f"  phone-sized photos (2000 px wide), {len(large)} in batches: {phone:.1f} ms per photo")
    print(f"  in batches of {args.batch}: {batched:.1f} ms per photo (from PNG files: {from_files:.1f} ms)")
    print(f"  one photo at a time: median {np.median(singles):.1f} ms, 95th percentile "
          f"{np.percentile(singles, 95):.1f} ms")


if __name__ == "__main__":
    main()
