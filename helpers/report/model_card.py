"""The model card of the released models (models/README.md), rendered from the run's figures."""
from __future__ import annotations

from helpers.report.results import percent


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def figures_section(metrics: dict) -> str:
    """What the run measured with these models, each figure named with the data it comes from."""
    step1, step2, step4 = (metrics.get(key, {}) for key in ("step1", "step2", "step4"))
    real = metrics.get("real", {})
    source = "real SVHN" if step2.get("real_svhn") else "rendered stand-in"
    lines = []
    svhn = real.get("svhn", {}).get("test")
    if svhn:
        lines.append(f"- Real SVHN test photos 1-{svhn['count']} (read once, after every choice): "
                     f"{percent(svhn['end_to_end_accuracy'])} of whole numbers read end to end, "
                     f"{percent(svhn['true_box_accuracy'])} inside their true boxes; mean box IoU {svhn['mean_iou']:.2f}; "
                     f"{percent(svhn['confident_share'])} marked sure, {percent(svhn['confident_precision'])} of them right.")
    validation = real.get("svhn", {}).get("validation")
    if validation:
        lines.append(f"- Real SVHN validation photos (train 201-256, {validation['count']} photos; they chose the "
                     f"checkpoints and the threshold): {percent(validation['end_to_end_accuracy'])} end to end, "
                     f"{percent(validation['true_box_accuracy'])} in the true box.")
    lines += [f"- Step 2 reader, {_count(step2.get('count'))} {source} test numbers inside their true boxes: "
             f"{percent(step2.get('sequence_accuracy'))} whole numbers read.",
             f"- End to end (find, then read), {_count(step4.get('test_numbers'))} {source} test images: "
             f"{percent(step4.get('end_to_end_accuracy'))}; mean box IoU {step4.get('mean_iou', 0):.3f}.",
             f"- Step 1 reader, {_count(step1.get('count'))} synthetic MNIST test numbers: "
             f"{percent(step1.get('sequence_accuracy'))} whole numbers read."]
    chars74k, sample = real.get("chars74k"), real.get("svhn_sample")
    if chars74k:
        lines.append(f"- Real photographed digits (Chars74K, {chars74k['count']} street-scene digits, never trained "
                     f"on): {percent(chars74k['accuracy'])} read inside each digit's crop, "
                     f"{percent(chars74k['end_to_end_accuracy'])} through localize-then-read; of the answers "
                     f"marked sure, {percent(chars74k['confident_precision'])} right. Tesseract 5 reads "
                     f"{percent(chars74k.get('tesseract_accuracy'))} of them.")
    if sample:
        lines.append(f"- The nine real SVHN sample photos: {sample['end_to_end_correct']} of {sample['count']} "
                     f"read end to end, {sample['true_box_correct']} inside their true boxes.")
    if not real:
        lines.append("- This run has no real-photo figures (the data folder held no `chars74k-digits/`).")
    return "\n".join(lines)


def examples_section(new_images: list[dict]) -> str:
    """How the released reader reads each of Step 3's new images: the known failure cases among them."""
    rows = ["| image | number | read | confidence | status |", "|---|---|---|---|---|"]
    for item in new_images:
        verdict = "right" if item.get("right", item["read"] == item["truth"]) else "wrong"
        rows.append(f"| `{item['image']}` | {item['truth'] or '(none)'} | {item['read'] or '(no number)'} "
                    f"({verdict}) | {item['confidence']:.2f} | {item['status']} |")
    return "\n".join(rows)


def sizes_line(figures: dict) -> str:
    """Every released file with its size, in one line."""
    files = figures.get("file_bytes", {})
    return ", ".join(f"`{name}` {size / 2**20:.1f} MB" for name, size in files.items()) or "(sizes not recorded)"


def exports_table(figures: dict) -> str:
    """Format, file size, agreement with Keras and speed, as a Markdown table."""
    rows = ["| format | files (reader, localizer, detector) | readings as Keras's | ms per photo, one at a time |",
            "|---|---|---|---|"]
    for runtime, scores in figures["comparison"].items():
        sizes = figures["keras_bytes"] if runtime == "keras" else figures["tflite_bytes"][runtime.split("-")[1]]
        rows.append(f"| {runtime} | {sum(sizes.values()) / 2**20:.1f} MB | {100 * scores['agreement']:.1f}% "
                    f"of {scores['photos']} | {scores['ms_per_photo']:.0f} |")
    return "\n".join(rows)


def render(figures: dict, metrics: dict) -> str:
    """The whole model card as Markdown."""
    run = metrics.get("run", {})
    step2, step4 = metrics.get("step2", {}), metrics.get("step4", {})
    trained = (f"Step 2's reader trained {_minutes(step2.get('train_seconds'))}, Step 4's localizer "
               f"{_minutes(step4.get('train_seconds'))} (then {_minutes(step4.get('real_tune_seconds'))} with real photos "
               f"mixed in), the digit detector {_minutes(step4.get('detector_seconds'))} and the reader's adaptation "
               f"{_minutes(step4.get('adapt_seconds'))}, on {run.get('cpu_cores', '?')} CPU cores "
               f"({run.get('processor', 'processor not recorded')})")
    return f"""# Model card: the released house-number reader

Written by `python -m helpers.steps.export` from `export.json` and `results/metrics.json` of the run
started {run.get('started', '?')}; never edited by hand.

## What is here

| file | takes | returns |
|---|---|---|
| `number_localizer.keras` | the whole photo letterboxed to 64x64, RGB, float values 0-255 | `box`: top, left, bottom, right in 0-1 of that square; `has_number`: probability |
| `number_detector.keras` | the photo letterboxed to any square side divisible by 16 (the reader uses a pyramid), RGB, 0-255 | `heat`: probability of a digit centre every 4th pixel; `box`: distances from there to the digit's top, left, bottom and right, in pixels |
| `number_reader.keras` | 54x54 RGB crops, 0-255: the number's box grown by 30%, resized to 64x64, centre window | `length` (0-5 digits) and `digit_1`...`digit_5` (0-9, 10 = none), softmax each |
| `step1_reader.keras` | Step 1's synthetic MNIST numbers: 32x128 greyscale canvases, 0-255 | `length` and `digit_1`...`digit_5` as above, plus the column outputs of its design (`helpers.modeling.models.DESIGNS`) |
| `number_reader.json` | | settings: `min_confidence` (the "sure" threshold) and `calibration` (how it was set: a logistic fit on stand-in validation images for the shape, real SVHN validation photos for the level), `min_presence`, `min_found` (the detector score a number needs where the localizer sees none, chosen on real validation photos and scenes without a number; `min_found_sweep` has each score's accuracy), refining passes, box scales, whole-photo box, the route between localizer and detector, edge padding, the detector's pyramid and grouping |
| `*.float32.tflite`, `*.float16.tflite`, `*.int8.tflite` | the same inputs, any batch size | the same outputs (TensorFlow Lite builtin ops only; float16 and int8 store smaller weights) |

File sizes: {sizes_line(figures)}.

`helpers.app.reader.NumberReader.load()` puts them together (`runtime="tflite-float32"` for the
TFLite files); `python -m helpers.app photo.jpg` reads photos from the command line. The Keras
files hold no optimizer state.

## Training

Trained mostly on the offline stand-in, house numbers rendered by `helpers/synth/street_numbers.py` in
SVHN's format, with 200 real SVHN photos (train 1-200 of the data folder's `svhn-real/`) mixed into
about a quarter of the rows of the last training stages; train 201-256 chose the checkpoints and the
threshold, and test 1-128 were read once for the figures below. {trained}.

## Figures of this run

{figures_section(metrics)}

## The exports

Compared on {figures['compared_on']}, on {figures['processor']}:

{exports_table(figures)}

## Known failure cases

Step 3's new images (six real photographs published by other projects, seven made with fonts and
scenes held out of training), as the released Keras reader reads them:

{examples_section(figures['new_images'])}

Real photographs are harder than the stand-in: the real SVHN test figures above are the ones to
expect on a user's photos of house numbers. Small, blurred or low-contrast numbers, unusual type (seven-segment,
handwriting) and photos with other text are read worst; an answer marked `unsure` should be
checked by a person.

## Intended use and licences

For learning and research: reading house numbers in photos, with a person checking answers the
reader marks unsure. Not for decisions that need every number right. The training data is
rendered here (fonts under their own free licences, scikit-image's bundled photos). Evaluation
used MNIST (Step 1), real SVHN photos (Netzer et al. 2011, non-commercial use; 200 of them also
trained on) and Chars74K (de Campos, Babu & Varma 2009, research use; never trained on).
"""
