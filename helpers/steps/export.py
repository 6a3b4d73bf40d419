"""Export the released reader for phones (TensorFlow Lite) and write its model card.

    python -m helpers.steps.export                    # models/: *.tflite, export.json, README.md (the model card)
    python -m helpers.steps.export --models DIR       # another folder saved by NumberReader.save

For each TFLite variant (float32, float16, int8) it writes the reader, the localizer and the detector beside the Keras
files, then reads the photos of `images/` and a few hundred fresh stand-in test images with the
Keras models and with each export: how often the readings (number and status) agree, and the
milliseconds per photo read one at a time on this CPU. The figures go to `export.json`; the model
card (`README.md`) is rendered from them and from `results/metrics.json`, so it is never typed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from helpers.app import lite, reader
from helpers.core import paths
from helpers.datasets import new_images
from helpers.report import model_card, results
from helpers.synth import street_numbers

EXPORT_FILE = "export.json"
README_START, README_END = "<!-- exports:start -->", "<!-- exports:end -->"
CHECK_PHOTOS = 300      # fresh stand-in test images the exports are compared on
TIMED_PHOTOS = 40       # of them, read one at a time for the speed column


def standin_photos(count: int, seed: int = 2026) -> list[np.ndarray]:
    """Fresh stand-in test images, drawn as the full run's stand-in is (never a training photo: a seed of their own)."""
    rng = np.random.default_rng(seed)
    return [street_numbers.render_house_number(rng, street_numbers.FULL_RUN_CONFIG, split="test")[0]
            for _ in range(count)]


def write_exports(folder: Path, keras_reader: reader.NumberReader) -> dict[str, dict[str, int]]:
    """Convert the folder's reader, localizer and detector to every TFLite variant; bytes written per file."""
    sizes = {}
    for variant in lite.VARIANTS:
        sizes[variant] = {}
        for model, name in ((keras_reader.reader, reader.READER_FILE), (keras_reader.localizer, reader.LOCALIZER_FILE),
                            (keras_reader.detector, reader.DETECTOR_FILE)):
            target = folder / reader.lite_file(name, variant)
            target.write_bytes(lite.convert(model, variant))
            sizes[variant][target.name] = target.stat().st_size
    return sizes


def _signature(reading: reader.Reading) -> tuple[str, str]:
    return reading.number, reading.status


def compare(folder: Path, photos: list, keras_reader: reader.NumberReader, *,
            timed: int = TIMED_PHOTOS) -> dict[str, dict]:
    """Per runtime: share of photos read exactly as Keras reads them, and ms per photo one at a time."""
    figures, baseline = {}, None
    for runtime in reader.RUNTIMES:    # "keras" first: the baseline
        number_reader = keras_reader if runtime == "keras" else reader.NumberReader.load(folder, runtime=runtime)
        readings = number_reader.read(photos)
        number_reader.read(photos[:1])                                   # warm-up of the one-photo path
        start = time.perf_counter()
        for photo in photos[:timed]:
            number_reader.read([photo])
        milliseconds = 1000 * (time.perf_counter() - start) / min(timed, len(photos))
        signatures = [_signature(r) for r in readings]
        baseline = baseline or signatures
        figures[runtime] = {"photos": len(photos), "ms_per_photo": milliseconds,
                            "agreement": float(np.mean([a == b for a, b in zip(signatures, baseline)]))}
    return figures


def new_image_readings(keras_reader: reader.NumberReader) -> list[dict]:
    """The Keras reader's answer on each labelled photo of images/ (the model card's examples)."""
    labels = json.loads((paths.PROJECT_ROOT / "images" / "labels.json").read_text())
    names = sorted(labels)
    readings = keras_reader.read([paths.PROJECT_ROOT / "images" / name for name in names])
    return [{"image": name, "truth": str(labels[name].get("number", "")), "read": r.number,
             "right": bool(new_images.is_right(labels[name], r.number)), "confidence": r.confidence,
             "status": r.status} for name, r in zip(names, readings)]


def export(folder: Path | None = None, *, check_photos: int = CHECK_PHOTOS) -> dict:
    """Write the TFLite files, compare them with Keras, save export.json and the model card."""
    folder = Path(folder or paths.models_dir())
    keras_reader = reader.NumberReader.load(folder)
    sizes = write_exports(folder, keras_reader)
    own = sorted((paths.PROJECT_ROOT / "images").glob("*.[pj][np]g"))
    figures = {"keras_bytes": {name: (folder / name).stat().st_size
                               for name in reader.model_files("keras")},
               "tflite_bytes": sizes, "new_images": new_image_readings(keras_reader),
               "comparison": compare(folder, [*own, *standin_photos(check_photos)], keras_reader),
               "compared_on": f"the {len(own)} photos of images/ and {check_photos} fresh stand-in test images",
               "processor": results.processor()}
    figures["file_bytes"] = {path.name: path.stat().st_size for path in sorted(folder.iterdir())
                             if path.suffix in (".keras", ".tflite", ".json") and path.name != EXPORT_FILE}
    (folder / EXPORT_FILE).write_text(json.dumps(figures, indent=1))
    metrics = results.load(paths.output_dir(paths.fast_mode()) / "results" / "metrics.json")
    (folder / "README.md").write_text(model_card.render(figures, metrics))
    return figures


def main(argv: list[str] | None = None) -> int:
    """The command line: export one models folder."""
    parser = argparse.ArgumentParser(prog="python -m helpers.steps.export", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="folder saved by NumberReader.save (default: models/)")
    parser.add_argument("--check-photos", type=int, default=CHECK_PHOTOS, help="stand-in images to compare on")
    args = parser.parse_args(argv)
    import helpers

    helpers.import_tensorflow_quietly()
    try:
        figures = export(args.models, check_photos=args.check_photos)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(model_card.exports_table(figures))
    readme = paths.PROJECT_ROOT / "README.md"
    if Path(args.models or paths.models_dir()).resolve() == (paths.PROJECT_ROOT / "models").resolve():
        update_readme(readme, figures)      # only the released models' figures belong in the README
    return 0


def update_readme(readme: Path, figures: dict) -> None:
    """Put the exports' table (format, size, agreement, speed) between the README's markers."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} markers for the exports' table.")
    head, rest = text.split(README_START, 1)
    table = f"{model_card.exports_table(figures)}\n\n_Compared on {figures['compared_on']}, on {figures['processor']}._"
    readme.write_text(f"{head}{README_START}\n{table}\n{README_END}{rest.split(README_END, 1)[1]}")


if __name__ == "__main__":
    raise SystemExit(main())
