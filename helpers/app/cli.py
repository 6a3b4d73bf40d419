"""Step 5's command line: read the number in photos and draw its box (the web page: `app_server`).

    python -m helpers.app photo.jpg door.png [--out annotated/] [--json]   # prints; --out writes annotated copies
    python -m helpers.app --serve [--port 8000]                            # web page on http://127.0.0.1:8000

Both use the released models in models/ (`reader.NumberReader.load`; `--models DIR` or $DIGITS_MODELS_DIR
for others, `--runtime tflite-float32` for the TensorFlow Lite exports). A bad file never
stops a batch: it gets a clear message on stderr and the exit status says something failed.
Paths and models are checked before TensorFlow starts (seconds), so a typo is answered at once.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers.app.annotation import annotate
from helpers.core.labels import confidence_text


def describe(name: str, reading) -> str:
    """One line for the terminal."""
    if not reading.number:
        return f"{name}: no number found"
    top, left, bottom, right = (round(v) for v in reading.box)
    digits = " ".join(f"{c:.2f}" for c in reading.digit_confidences)
    return (f"{name}: {reading.number} (confidence {confidence_text(reading.confidence)}, digits {digits}, {reading.status}) "
            f"box top={top} left={left} bottom={bottom} right={right}")


def annotated_names(files: list[str]) -> list[str]:
    """A distinct file name for each photo's annotated copy: `<name>_read.png`, with as much of the photo's
    folder and suffix as it takes to tell photos apart (train/1.png and test/1.png, photo.png and photo.jpg)."""

    def candidates(name: str) -> list[str]:
        """Ever longer names: 1, train_1, 1_png, train_1_png, svhn_train_1_png, ..."""
        path = Path(name)
        folders = [part for part in path.parent.parts if part not in ("/", ".", "..")]
        suffix = path.suffix.lstrip(".").lower()
        names = [path.stem, "_".join([*folders[-1:], path.stem])]
        for depth in range(len(folders) + 1):
            names.append("_".join([*folders[len(folders) - depth:], path.stem, *([suffix] if suffix else [])]))
        return names

    distinct = [candidates(name) for name in dict.fromkeys(files)]     # a file given twice counts once here
    chosen: list[str] = []
    for own in (candidates(name) for name in files):
        for level, candidate in enumerate(own):
            # Unique at this level across the batch, so that no other photo can come to the same name.
            if sum(other[min(level, len(other) - 1)] == candidate for other in distinct) == 1:
                break
        name, counter = candidate, 2
        while name in chosen:            # the same file given twice: numbered copies
            name, counter = f"{candidate}_{counter}", counter + 1
        chosen.append(name)
    return [f"{name}_read.png" for name in chosen]


def read_files(number_reader, files: list[str], out: Path | None) -> tuple[list[tuple[dict, str]], list[str]]:
    """Read each file on its own (a bad one cannot spoil the others): ((record, line) pairs, error messages)."""
    from helpers.core import images

    results, errors = [], []
    targets = annotated_names(files) if out is not None else [None] * len(files)
    for name, target_name in zip(files, targets):
        try:
            photo = images.open_photo(name)
        except (FileNotFoundError, ValueError) as error:
            errors.append(str(error))        # the message names the file already
            continue
        found = number_reader.read_all(photo)[0] if number_reader.detector is not None else number_reader.read(photo)
        reading = found[0]                   # the likeliest number first, then every other one found
        record = {"file": name, **reading.to_dict(), "others": [other.to_dict() for other in found[1:]]}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            target = out / target_name
            # Drawn on the photo at its own size, as the box is given (it was read shrunk if over 2048 px).
            full = photo.pixels if photo.pixels.shape[:2] == photo.size else \
                images.load_image(name, max_side=max(photo.size))
            annotate(full, reading, found[1:]).save(target)
            record["annotated"] = str(target)
        also = f"; also found {', '.join(other.number for other in found[1:])}" if found[1:] else ""
        results.append((record, describe(name, reading) + also +
                        (f" -> {record['annotated']}" if out is not None else "")))
    return results, errors


def run_cli(argv: list[str] | None = None) -> int:
    """The command-line program; returns the exit status (0 all read, 1 some files failed, 2 no models)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.app", description="Read the house number in photos.")
    parser.add_argument("photos", nargs="*", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write an annotated copy of each photo into this folder (default: none written)")
    parser.add_argument("--no-out", action="store_true", help=argparse.SUPPRESS)   # the default now; kept for old calls
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text lines")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder with the saved models (default: models/, or $DIGITS_MODELS_DIR)")
    parser.add_argument("--runtime", default="keras", help="keras (default), tflite-float32, tflite-float16 or tflite-int8")
    parser.add_argument("--serve", action="store_true", help="start the web page instead")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not args.photos and not args.serve:
        parser.error("give at least one photo, or --serve for the web page")
    from helpers.app import model_files
    from helpers.core import images, paths

    # Everything that needs no model is checked before TensorFlow's start-up of several seconds.
    try:
        model_files.check_models(args.models or paths.models_dir(), args.runtime)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    photos, errors = [], []
    for name in args.photos:
        try:
            images.check_image(name)
            photos.append(name)
        except (FileNotFoundError, ValueError) as error:
            errors.append(str(error))
    found = []
    if photos or args.serve:
        import helpers

        helpers.import_tensorflow_quietly()
        from helpers.app import reader

        try:
            number_reader = reader.NumberReader.load(args.models, runtime=args.runtime)
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.serve:
            from helpers.app import server as app_server

            app_server.serve(number_reader, args.host, args.port)
            return 0
        found, late_errors = read_files(number_reader, photos, None if args.no_out else args.out)
        errors += late_errors
    if args.json:
        print(json.dumps([record for record, _ in found], indent=1))
    else:
        for _, line in found:
            print(line)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(run_cli())
