"""The machine-readable record of a run: results/metrics.json."""
from __future__ import annotations

import json
import numbers
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

from helpers.core import config


def update(path: Path, section: str, values: dict[str, Any]) -> dict:
    """Merge `values` into `section` of the JSON file at `path` (written atomically)."""
    path = Path(path)
    record = load(path) if path.exists() else {}
    record.setdefault(section, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)
    return record


def load(path: Path) -> dict:
    """Read a metrics file, with a clear error when it is missing or damaged."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run the notebook to create it.")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); delete it and re-run the notebook.") from error


def start(path: Path, run: dict[str, Any]) -> dict:
    """Begin a fresh record for a top-to-bottom run (older figures in the file are dropped).

    The processor, library versions, CPU cores, start time and the seconds the report command spent
    getting data ready ($DIGITS_DATA_SECONDS) are recorded too, unless `run` gives them: every time in
    the record depends on them.
    """
    import keras
    import tensorflow as tf

    Path(path).unlink(missing_ok=True)
    return update(path, "run", {"processor": processor(), "tensorflow": tf.__version__, "keras": keras.__version__,
                                "cpu_cores": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                "data_seconds": float(os.environ.get("DIGITS_DATA_SECONDS", 0)), **run})


def processor(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and widest vector extension, e.g. 'Intel(R) Xeon(R) Processor, AVX2'.

    Both set how fast TensorFlow's oneDNN kernels train, so the same run can take twice as long
    on another 2-core machine.
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:   # not Linux: the name Python knows, without the extensions
        return platform.processor() or platform.machine() or "unknown processor"
    name = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    flags = set(flags.group(1).split()) if flags else set()
    widest = next((label for flag, label in [("amx_bf16", "AVX-512, AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2")]
                   if flag in flags), None)
    return ", ".join(part for part in [name.group(1).strip() if name else platform.machine(), widest] if part)


def versions() -> str:
    """One line with the versions that matter for reproducing a run."""
    import keras
    import matplotlib
    import numpy as np
    import tensorflow as tf

    return (f"Python {platform.python_version()} | TensorFlow {tf.__version__} | Keras {keras.__version__} | "
            f"NumPy {np.__version__} | Matplotlib {matplotlib.__version__}")


def run_record(runs: list, started: float) -> dict[str, float]:
    """The run's wall time since `started` (a `time.perf_counter()`), its peak memory, and how many of
    `runs` (TrainedModels: every model of the run) were trained here or loaded from the cache."""
    import resource

    cached = sum(run.from_cache for run in runs)   # a re-run loads what an earlier run of the same code trained
    return {"wall_seconds": time.perf_counter() - started,
            "peak_memory_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,   # Linux reports KiB
            "models_trained": len(runs) - cached, "models_from_cache": cached}


def run_line(record: dict[str, float]) -> str:
    """A `run_record` in one line: wall time, peak memory, models trained (and reused, where any were)."""
    reused = f", {record['models_from_cache']} reused from an earlier run" if record["models_from_cache"] else ""
    return (f"notebook ran in {record['wall_seconds'] / 60:.1f} min, peak memory {record['peak_memory_gib']:.1f} GiB; "
            f"{record['models_trained']} models trained here{reused}")


def markdown_table(rows: list[dict[str, Any]], columns: dict[str, str]) -> str:
    """A Markdown table of `rows`, with `columns` mapping each key to its header."""
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(key, "")) for key in columns) + " |")
    return "\n".join(lines)


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def glance_table(record: dict) -> str:
    """The "results at a glance" Markdown table, rendered from a metrics record (real photos first)."""
    rows = []
    svhn = record.get("real", {}).get("svhn", {}).get("test")
    peers = record.get("real", {}).get("peers", {})
    if svhn:
        rapid = peers.get("svhn_test", {}).get("rapidocr", {}).get("true_box")
        beside = f"; RapidOCR's recognizer there: {percent(rapid['accuracy'])}" if rapid else ""
        rows.append({"step": "2 + 4: real SVHN photos, localized then read (the app's path)",
                     "data": f"{svhn['count']} real SVHN test photos, read once at the end",
                     "seq": f"{percent(svhn['end_to_end_accuracy'])} (the same reader in the true box: "
                            f"{percent(svhn['true_box_accuracy'])}{beside}); mean box IoU {svhn['mean_iou']:.2f}",
                     "digit": "-", "coverage": sure_counts(svhn["confident_share"], svhn["confident_precision"],
                                                           svhn["count"]), "train": "-"})
    if "step1" in record:
        step = record["step1"]
        rows.append({"step": "1: synthetic MNIST numbers (1-5 digits)", "data": f"{step['count']:,} test numbers "
                     "from MNIST test digits", "seq": f"{100 * step['sequence_accuracy']:.2f}%",
                     "digit": f"{100 * step['per_digit_accuracy']:.2f}%",
                     "coverage": _test_coverage(step),
                     "train": f"{step['train_seconds'] / 60:.1f} min"})
    if "step2" in record:
        step = record["step2"]
        source = "real SVHN" if step.get("real_svhn") else "rendered stand-in, not photos"
        rows.append({"step": f"2: reader inside the true box ({source})",
                     "data": f"{step['count']:,} {'SVHN' if step.get('real_svhn') else 'stand-in'} test numbers",
                     "seq": f"{100 * step['sequence_accuracy']:.2f}%", "digit": f"{100 * step['per_digit_accuracy']:.2f}%",
                     "coverage": _test_coverage(step),
                     "train": f"{step['train_seconds'] / 60:.1f} min"})
    if "step3" in record:
        step = record["step3"]
        real_part = step.get("released_reader", {}).get("real_photos", {})   # the released reader, as in Q11
        made_part = record.get("step4", {}).get("new_images", {}).get("made_images")
        parts = [f"Step 2 reader: {step['numbers_read']}/{step['with_number']} whole, "
                 f"{step['in_true_box']['numbers_read']}/{step['with_number']} in the true box"] if "in_true_box" in step else []
        parts += [f"released reader: real photos found {real_part['found']}/{real_part['labelled']}, read {real_part['correct']}/"
                  f"{real_part['labelled']}"] if "found" in real_part else []
        if made_part:   # numbers read, then the images without a number apart (their right answer is "no number")
            empty = made_part["labelled"] - made_part["with_number"]
            parts.append(f"made images: read {made_part['numbers_read']}/{made_part['with_number']}" + (
                f" (and 'no number' on {made_part['correct'] - made_part['numbers_read']}/{empty} empty)" if empty else ""))
        rows.append({"step": "3: new images (found: box IoU >= 0.5)",
                     "data": f"{step['labelled']} labelled images in `images/`",
                     "seq": "; ".join(parts) or f"{step['correct']}/{step['labelled']}",
                     "digit": "-", "coverage": "-", "train": "-"})
    notes = ""
    if "step4" in record:
        step = record["step4"]
        source = "real SVHN" if step.get("real_svhn") else "stand-in"
        rows.append({"step": f"4: localize, then read ({'real SVHN' if step.get('real_svhn') else 'the stand-in, rendered'})",
                     "data": f"{step['test_numbers']:,} {source} test {'photos' if step.get('real_svhn') else 'images'}",
                     "seq": f"{100 * step['end_to_end_accuracy']:.2f}% (the same reader in the true box: "
                            f"{100 * step.get('adapted_reader_true_box_accuracy', step['ground_truth_crop_accuracy']):.2f}%)",
                     "digit": "-", "coverage": "-", "train": f"{step4_minutes(step):.1f} min"})
        notes = (f"\n\nLocalization on the {source} test {'photos' if step.get('real_svhn') else 'images'}: mean IoU {step['mean_iou']:.3f}, "
                 f"{100 * step['iou_at_least_0.5']:.1f}% of boxes at IoU >= 0.5, "
                 f"{100 * step['iou_at_least_0.75']:.1f}% at >= 0.75; "
                 f"{100 * step['blank_scenes_flagged']:.1f}% of {step['blank_test_scenes']} scenes without a number "
                 "answered \"no number\".")
    notes += _real_rows(record.get("real", {}), rows, peers)
    mode = "fast smoke run" if record.get("run", {}).get("fast_mode") else "full run"
    table = markdown_table(rows, {"step": "step", "data": "test data", "seq": "whole-number accuracy",
                                  "digit": "per-digit accuracy", "coverage": "sure answers",
                                  "train": "training time"})
    run = record.get("run", {})
    if "wall_seconds" in run:
        data = (f" (after {run['data_seconds'] / 60:.1f} min getting the data ready)"   # a few seconds: not worth a clause
                if run.get("data_seconds", 0) >= 30 else "")
        notes += (f"\n\nThe notebook ran top to bottom in {run['wall_seconds'] / 60:.1f} min{data}, "
                  f"peak memory {run['peak_memory_gib']:.1f} GiB.")
        if run.get("models_from_cache"):   # a run that loaded models is not a measure of training time
            total = run["models_from_cache"] + run.get("models_trained", 0)
            cached = f"All {total}" if run["models_from_cache"] == total else f"{run['models_from_cache']} of its {total}"
            notes += (f" {cached} models were reused from an earlier run of the same code and "
                      "settings; the training times in the table are those of the runs that trained them.")
        elif run.get("models_trained"):   # a cold run: its wall time is what a student waits
            notes += f" It trained all {run['models_trained']} of its models."
    machine = f" ({run['processor']})" if run.get("processor") else ""
    return (f"{table}{notes}\n\n_Measured in the {mode} on {run.get('cpu_cores', '?')} CPU cores"
            f"{machine}, started {run.get('started', '?')}._")


def step4_minutes(step: dict) -> float:
    """Step 4's training minutes: the localizer, its real-photo fine-tuning, the detector and the reader's adaptation."""
    parts = ("train_seconds", "real_tune_seconds", "detector_seconds", "adapt_seconds")
    return sum(step.get(part) or 0.0 for part in parts) / 60


def sure_counts(share: float, precision: float | None, count: int) -> str:
    """Sure answers as counts: "5 of 128 marked sure, all 5 right", "51 of 128 marked sure, 48 of them right" (the
    threshold was set on validation)."""
    sure = int(round(share * count))
    if not sure or precision is None:
        return f"{sure} of {count} marked sure"
    right = int(round(precision * sure))
    said = ("right" if right else "wrong") if sure == 1 else f"all {sure} right" if right == sure else f"{right} of them right"
    return f"{sure} of {count} marked sure, {said}"


def _test_coverage(step: dict) -> str:
    """Goodfellow et al.'s coverage: the threshold is set on the test answers themselves (a ceiling, not a promise).
    Where every answer is kept at 98% (accuracy already above it), the stricter target says more."""
    coverage, stricter = step["coverage_at_98"], step.get("coverage_at_995")
    where, target = "threshold set on these test numbers", f"{100 * config.ACCURACY_TARGET:.0f}%"
    if coverage == 1.0 and stricter is not None:
        return (f"{100 * stricter:.1f}% kept at {100 * config.STRICT_ACCURACY_TARGET:.1f}% accuracy (at {target}: all, "
                f"as accuracy is above it; {where})")
    return f"{100 * coverage:.1f}% kept at {target} accuracy ({where})"


def percent(value: float | None) -> str:
    """A share as "12.3%", or "-" when it was not measured."""
    return "-" if value is None else f"{100 * value:.1f}%"


def _real_rows(real: dict, rows: list[dict], peers: dict | None = None) -> str:
    """Rows (appended to `rows`) and a note for the real-photo yardstick, when the run measured it."""
    note = ""
    digits, sample = real.get("chars74k"), real.get("svhn_sample")
    if digits:
        rapid = (peers or {}).get("chars74k", {}).get("rapidocr", {}).get("true_box")
        beside = f"RapidOCR: {percent(rapid['accuracy'])}; " if rapid else ""
        rows.append({"step": "real photos: Chars74K street-scene digits, read inside each crop",
                     "data": f"{digits['count']} real photographed digits (never trained on)",
                     "seq": f"{percent(digits['accuracy'])} ({beside}Tesseract: {percent(digits.get('tesseract_accuracy'))})",
                     "digit": "-", "coverage": "-", "train": "-"})
        rows.append({"step": "real photos: the same digits, localized then read (the app's path)",
                     "data": f"{digits['count']} real photographed digits",
                     "seq": percent(digits["end_to_end_accuracy"]), "digit": "-",
                     "coverage": sure_counts(digits["confident_share"], digits["confident_precision"], digits["count"]),
                     "train": "-"})
    if sample:
        tesseract = sample.get("tesseract_correct")
        rows.append({"step": "real photos: the SVHN sample, localized then read",
                     "data": f"{sample['count']} real SVHN photos (never trained on)",
                     "seq": f"{sample['end_to_end_correct']}/{sample['count']} read (true box: "
                            f"{sample['true_box_correct']}/{sample['count']}; Tesseract: "
                            f"{'-' if tesseract is None else tesseract}/{sample['count']})",
                     "digit": "-", "coverage": "-", "train": "-"})
    if digits or sample:
        note = ("\n\nThe stand-in rows are measured on rendered images like the training ones. The real SVHN test "
                "photos were read once, after every choice. Chars74K's digits were never trained on and set no "
                "threshold, but two of the stand-in's settings and two of Step 4's were chosen on them (Q5), so they "
                "are a real check, not an untouched test. "
                "\"Marked sure\" answers pass the confidence threshold set on real SVHN validation photos (train "
                "201-256); Steps 1 and 2 give Goodfellow et al.'s coverage instead, whose threshold is set on the test "
                "answers themselves.")
    return note


def real_table(real: dict) -> str:
    """The real-photo yardstick as a Markdown table: each set and path, with Tesseract beside it."""
    rows = []
    digits, sample = real.get("chars74k"), real.get("svhn_sample")
    if digits:
        tesseract = percent(digits.get("tesseract_accuracy"))
        rows.append({"set": f"Chars74K, {digits['count']} street-scene digits", "path": "inside each digit's crop",
                     "right": percent(digits["accuracy"]),
                     "sure": percent(digits["in_crop_by_status"]["read"]["share"]),
                     "sure_right": percent(digits["in_crop_confident_precision"]), "tesseract": tesseract})
        rows.append({"set": f"Chars74K, {digits['count']} street-scene digits", "path": "localized, then read",
                     "right": percent(digits["end_to_end_accuracy"]), "sure": percent(digits["confident_share"]),
                     "sure_right": percent(digits["confident_precision"]), "tesseract": "-"})
    if sample:
        count = sample["count"]
        tesseract = "-" if sample.get("tesseract_correct") is None else f"{sample['tesseract_correct']}/{count}"
        rows.append({"set": f"real SVHN sample, {count} photos", "path": "localized, then read",
                     "right": f"{sample['end_to_end_correct']}/{count}", "sure": "-",
                     "sure_right": f"{sample['confident_wrong']} sure and wrong", "tesseract": tesseract})
        rows.append({"set": f"real SVHN sample, {count} photos", "path": "inside the annotated box",
                     "right": f"{sample['true_box_correct']}/{count}", "sure": "-", "sure_right": "-",
                     "tesseract": tesseract})
    return markdown_table(rows, {"set": "real photos", "path": "how read", "right": "read right",
                                 "sure": "marked sure", "sure_right": "sure answers right",
                                 "tesseract": "Tesseract 5 on the same digit images"})


def svhn_table(svhn: dict) -> str:
    """Real SVHN figures per part (validation, test): end to end, in the true box, sure answers, box IoU."""
    names = {"validation": "validation: train 201-256 (every choice made here)", "test": "test 1-128 (read once, after every choice)"}
    rows = [{"part": names.get(part, part), "count": str(f["count"]), "e2e": percent(f["end_to_end_accuracy"]),
             "box": percent(f["true_box_accuracy"]), "sure": percent(f["confident_share"]),
             "sure_right": percent(f["confident_precision"]), "iou": f"{f['mean_iou']:.2f}"}
            for part, f in svhn.items() if f]
    return markdown_table(rows, {"part": "real SVHN photos", "count": "photos", "e2e": "localized, then read",
                                 "box": "the same reader in the true box", "sure": "marked sure (end to end)",
                                 "sure_right": "sure answers right", "iou": "mean box IoU"})


def finders_table(figures: dict[str, dict[str, dict]]) -> str:
    """Two ways of finding the number on the real SVHN parts: box quality and where the wrong readings were lost.
    `figures`: {finder name: {part: `real_photos.svhn_scores` figures}}."""
    rows = [{"finder": name, "part": part, "e2e": percent(f["end_to_end_accuracy"]), "iou": f"{f['mean_iou']:.2f}",
             "good": percent(f["iou_at_least_0.5"]), "none": percent(f["lost_no_box"]),
             "loose": percent(f["lost_loose_box"]), "misread": percent(f["lost_good_box"])}
            for name, parts in figures.items() for part, f in parts.items()]
    return markdown_table(rows, {"finder": "finding the number", "part": "real SVHN", "e2e": "read right",
                                 "iou": "mean IoU", "good": "box IoU >= 0.5", "none": "lost: no box",
                                 "loose": "lost: loose box (IoU < 0.5)", "misread": "lost: misread in a good box"})


def framing_table(scores: dict[str, dict[str, float]]) -> str:
    """End-to-end accuracy per framing margin, one row per reader."""
    margins = next(iter(scores.values()))
    rows = [{"reader": name, **{m: percent(v) for m, v in by_margin.items()}} for name, by_margin in scores.items()]
    return markdown_table(rows, {"reader": "reader", **{m: f"room {m}" for m in margins}})


def length_table(by_length: dict[str, dict], columns: dict[str, str]) -> str:
    """Whole-number accuracy per number length: {length: {"count": n, key: accuracy or count, ...}}, `columns` key ->
    title (whole numbers are shown as counts)."""
    rows = [{"length": f"{length} digit{'s' if length != '1' else ''}", "count": f"{f['count']:,}",
             **{key: f"{f[key]:,}" if isinstance(f.get(key), numbers.Integral) else percent(f.get(key)) for key in columns}}
            for length, f in sorted(by_length.items())]
    return markdown_table(rows, {"length": "length", "count": "numbers", **columns})


def peers_table(peers: dict, reader_figures: dict[str, dict]) -> str:
    """This reader beside the OCR a user would try instead, per real set: in the true box and on the whole photo.

    `reader_figures`: {set name: {"true_box": accuracy, "whole_photo": accuracy}} of this project's reader."""
    names = {"svhn_test": "real SVHN test 1-128", "chars74k": "Chars74K digits", "svhn_validation": "real SVHN validation"}
    rows = []
    for set_name, by_peer in peers.items():
        mine = reader_figures.get(set_name, {})
        rows.append({"set": names.get(set_name, set_name), "who": "the released reader",
                     "box": percent(mine.get("true_box")), "whole": percent(mine.get("whole_photo")), "speed": "-"})
        for peer, scores in by_peer.items():
            box, whole = scores.get("true_box"), scores.get("whole_photo")
            if box is None and whole is None:
                continue
            speed = " / ".join(f"{s['seconds_per_photo']:.2f}" for s in (box, whole) if s)
            rows.append({"set": names.get(set_name, set_name), "who": {"rapidocr": "RapidOCR (PP-OCRv4)",
                                                                      "tesseract": "Tesseract 5"}.get(peer, peer),
                         "box": percent(box["accuracy"]) if box else "-",
                         "whole": percent(whole["accuracy"]) if whole else "-", "speed": speed})
    return markdown_table(rows, {"set": "real photos", "who": "reader", "box": "in the true box",
                                 "whole": "whole photo (finds the number itself)",
                                 "speed": "seconds per photo (box / whole)"})


def status_table(real: dict) -> str:
    """How often each answer status is right on the Chars74K digits, inside the crop and end to end."""
    digits = real.get("chars74k")
    if not digits:
        return ""
    rows = []
    for path, scores in (("inside each crop", digits["in_crop_by_status"]), ("localized, then read", digits["by_status"])):
        rows.append({"path": path, **{status: f"{percent(score['share'])} of photos, "
                                              f"{percent(score['right'])} right" if score["share"] else "none"
                                      for status, score in scores.items()}})
    return markdown_table(rows, {"path": "how read", "read": "\"read\" (sure)", "unsure": "\"unsure\"",
                                 "no number": "\"no number\" (a miss)"})


def update_readme(readme: Path, record: dict) -> None:
    """Replace the README's results section (between the markers) with the table for `record`."""
    readme = Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} section to fill in.")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(f"{head}{README_START}\n{glance_table(record)}\n{README_END}{tail}")


if __name__ == "__main__":
    # Used by scripts/report.sh after a full run: refresh the README's results table.
    import sys

    root = Path(__file__).resolve().parents[2]   # helpers/report/results.py
    update_readme(root / "README.md", load(Path(sys.argv[1]) if len(sys.argv) > 1 else root / "results" / "metrics.json"))
