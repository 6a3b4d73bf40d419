"""Score a saved end-to-end reader on the real photos of the data folder, next to Tesseract.

    DIGITS_DATA_DIR=../shared/data .venv/bin/python experiments/real_photos.py [--models DIR] [--no-tesseract]

DIR holds what `NumberReader.save` writes (default: models/, where a full run saves its models). Prints the report's real-photo table and a JSON summary (`--json FILE` also writes it).
`--svhn validation` (the default) also scores the real SVHN photos of svhn-real/ kept for choices
(train 201-256): end to end, in the true box, sure answers, mean IoU and by length, in about a
minute; `--svhn train` scores train 1-200 (the part that may be trained on). `--svhn test` reads
the test photos, which the rules allow once, at the end, with every choice made: it asks for
`--final` too. `--svhn none` leaves SVHN out; `--svhn-only` leaves the other sets out.
`--tesseract-only` scores Tesseract alone (no models needed) and writes
experiments/results/baselines/tesseract.json. `--agreement` also scores the rule that marks an answer sure only when every candidate box read
the same number (a rule with no threshold to tune, so nothing is chosen on the real photos).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import helpers  # noqa: E402

helpers.import_tensorflow_quietly()

from helpers.app import reader  # noqa: E402
from helpers.core import paths  # noqa: E402
from helpers.datasets import real_photos  # noqa: E402
from helpers.report import results  # noqa: E402


class AllBoxesAgree:
    """A reader that is sure only when every candidate box read the same number (and its confidence passes)."""

    def __init__(self, number_reader: reader.NumberReader) -> None:
        self.number_reader = number_reader

    def read(self, *args, **kwargs) -> list[reader.Reading]:
        return [dataclasses.replace(r, confident=r.confident and r.agreement == 1.0)
                for r in self.number_reader.read(*args, **kwargs)]


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


def svhn_figures(number_reader, part: str, peers: bool = False) -> dict:
    """{"svhn_<part>": figures} for real SVHN photos of svhn-real/, with one summary line; {} without them.
    With `peers`, RapidOCR's and Tesseract's figures on the same photos are under "peers"."""
    photos = real_photos.svhn_real(part)
    if photos is None:
        print(f"(no svhn-real/ in {paths.data_dir()}: real SVHN left out)")
        return {}
    figures, _, _ = real_photos.svhn_scores(number_reader, photos)
    if peers:
        from helpers.report import peers as peer_readers

        figures["peers"] = {name: {"true_box": peer_readers.score(name, photos, in_true_box=True),
                                   "whole_photo": peer_readers.score(name, photos, in_true_box=False)}
                            for name in peer_readers.PEERS}
        for name, scores in figures["peers"].items():
            if scores["true_box"] is not None:
                print(f"  {name}: true box {100 * scores['true_box']['accuracy']:.1f}% "
                      f"({scores['true_box']['seconds_per_photo']:.2f} s a photo), whole photo "
                      f"{100 * scores['whole_photo']['accuracy']:.1f}% ({scores['whole_photo']['seconds_per_photo']:.2f} s)")
    print(f"real SVHN {part} ({photos.paths[0].parent.name} {photos.paths[0].stem}-{photos.paths[-1].stem}, "
          f"{len(photos)} photos): end to end {100 * figures['end_to_end_accuracy']:.1f}%, "
          f"true box {100 * figures['true_box_accuracy']:.1f}%, sure {100 * figures['confident_share']:.1f}% "
          f"of photos ({results.percent(figures['confident_precision'])} right), mean IoU {figures['mean_iou']:.2f}")
    return {f"svhn_{part}": figures}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=None, help="folder of the saved reader (default: models/)")
    parser.add_argument("--no-tesseract", action="store_true", help="leave Tesseract out (it takes about a minute)")
    parser.add_argument("--tesseract-only", action="store_true", help="score Tesseract alone, write its JSON")
    parser.add_argument("--agreement", action="store_true", help="also score sure = every box agrees")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--svhn", default="validation", choices=[*real_photos.SVHN_REAL_PARTS, "none"],
                        help="which real SVHN photos of svhn-real/ to score (default: validation, train 201-256)")
    parser.add_argument("--svhn-only", action="store_true", help="score the real SVHN photos alone")
    parser.add_argument("--final", action="store_true", help="confirms the once-only read of --svhn test")
    parser.add_argument("--peers", action="store_true",
                        help="also score the peers (RapidOCR, Tesseract) on the same real SVHN photos")
    args = parser.parse_args(argv)
    if args.svhn == "test" and not args.final:
        parser.error("the real test photos are read once, with every choice made: add --final to read them")
    start = time.perf_counter()
    if args.tesseract_only:
        return tesseract_baseline()
    number_reader = reader.NumberReader.load(args.models)
    svhn = svhn_figures(number_reader, args.svhn, peers=args.peers) if args.svhn != "none" else {}
    if args.svhn_only:
        print(json.dumps(svhn, indent=1))
        print(f"({time.perf_counter() - start:.0f} s)")
        if args.json:
            args.json.write_text(json.dumps(svhn, indent=1))
        return svhn
    figures = real_photos.evaluate(number_reader, tesseract=not args.no_tesseract)
    figures.pop("_readings")
    figures.update(svhn)
    if not figures:
        raise SystemExit(f"no real photos (chars74k-digits/, svhn-sample/) in {paths.data_dir()}")
    print(results.real_table(figures))
    print()
    print(results.status_table(figures))
    print(json.dumps(figures, indent=1))
    if args.agreement:
        agreeing = real_photos.evaluate(AllBoxesAgree(number_reader), tesseract=False)
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
