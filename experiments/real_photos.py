"""Score a saved end-to-end reader on the real photos of the data folder, next to Tesseract.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/real_photos.py [--models DIR] [--no-tesseract]

DIR holds what `NumberReader.save` writes (default: models/, where a full run saves its models). Prints the notebook's real-photo table and a JSON summary (`--json FILE` also writes it).
`--tesseract-only` scores Tesseract alone (no models needed) and writes
experiments/results/baselines/tesseract.json. `--agreement` also scores the rule that marks an answer sure only when every candidate box read
the same number (a rule with no threshold to tune, so nothing is chosen on the real photos).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import helpers  # noqa: E402

helpers.import_tensorflow_quietly()

from helpers import paths, reader, real_photos, results  # noqa: E402


def tesseract_baseline() -> dict:
    """Tesseract alone on both real sets, written to experiments/results/baselines/tesseract.json."""
    figures = {"settings": {"args": list(real_photos.TESSERACT_ARGS), "upscale": real_photos.TESSERACT_UPSCALE}}
    for name, photos in (("chars74k", real_photos.chars74k_digits()), ("svhn_sample", real_photos.svhn_sample())):
        if photos is not None:
            figures[name] = {"count": len(photos), "accuracy": real_photos.tesseract_accuracy(photos.photos, photos.numbers)}
    out = Path(__file__).resolve().parent / "results" / "baselines" / "tesseract.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=None, help="folder of the saved reader (default: models/)")
    parser.add_argument("--no-tesseract", action="store_true", help="leave Tesseract out (it takes about a minute)")
    parser.add_argument("--tesseract-only", action="store_true", help="score Tesseract alone, write its JSON")
    parser.add_argument("--agreement", action="store_true", help="also score sure = every box agrees")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.tesseract_only:
        return tesseract_baseline()
    number_reader = reader.NumberReader.load(args.models)
    figures = real_photos.evaluate(number_reader, tesseract=not args.no_tesseract)
    figures.pop("_readings")
    if not figures:
        raise SystemExit(f"no real photos (chars74k-digits/, svhn-sample/) in {paths.data_dir()}")
    print(results.real_table(figures))
    print()
    print(results.status_table(figures))
    print(json.dumps(figures, indent=1))
    if args.agreement:
        number_reader.min_agreement = 1.0
        agreeing = real_photos.evaluate(number_reader, tesseract=False)
        agreeing.pop("_readings")
        print("\nSure only when every candidate box reads the same number:")
        print(results.real_table(agreeing))
        figures["all_boxes_agree"] = agreeing
    print(f"({time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    main()
