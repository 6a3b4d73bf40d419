"""The stand-in ablation's saved runs (experiments/standin_ablation.py): loaded, tabled and compared step by step."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from helpers.modeling.metrics import margin_95
from helpers.report.results import markdown_table, percent

ABLATION_ORDER = ("first", "fonts", "geometry", "look", "clutter", "all")
# Short names for the table (the saved descriptions are longer, and one says when it was rendered).
ABLATION_LABELS = {"first": "the first stand-in", "fonts": "first + 100+ fonts", "geometry": "first + SVHN framing",
                   "look": "first + relief, muted colour, low resolution, blur", "all": "all four changes"}


def load_ablation(folder: Path) -> list[dict]:
    """The saved runs of experiments/standin_ablation.py, in the order of the realism changes."""
    runs = [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]
    return sorted(runs, key=lambda run: (ABLATION_ORDER.index(run["name"]) if run["name"] in ABLATION_ORDER
                                         else len(ABLATION_ORDER), run["name"]))


def ablation_table(runs: list[dict]) -> str:
    """The realism ablation as a Markdown table: each stand-in variant on real digits and on its own test split."""
    def label(run: dict) -> str:   # "..., clutter=True" (a --config-arg) reads "... + clutter"
        if run["name"] in ABLATION_LABELS:
            return ABLATION_LABELS[run["name"]]
        description = run.get("description", run["name"]).split(" (")[0].replace("100+ font families", "100+ fonts")
        return re.sub(r", (\w+)=True", lambda m: " + " + m[1].replace("_", " "), description)

    return markdown_table([{"variant": label(run), "steps": f"{run.get('steps', 1400):,}",
                            "real": percent(run["chars74k_accuracy"]),
                            "sure": f"{percent(run['chars74k_confident_share'])} / "
                                    f"{percent(run['chars74k_confident_precision'])}",
                            "standin": percent(run["standin_test_accuracy"])} for run in runs],
                          {"variant": "stand-in the reader trained on", "steps": "training steps",
                           "real": "Chars74K, inside each crop",
                           "sure": "Chars74K: marked sure (threshold: 98% right on its stand-in validation) / of them right",
                           "standin": "its own stand-in test split (true boxes)"})


ABLATION_STEPS = {"many fonts": ("first", "fonts"), "clutter": ("fonts", "fonts_clutter"),
                  "lone zeros": ("fonts_clutter", "fonts_clutter_zeros"),
                  "box jitter 0.15": ("fonts_clutter_zeros", "fonts_clutter_zeros_jitter"),
                  "box jitter 0.3 instead": ("fonts_clutter_zeros_jitter", "fonts_clutter_zeros_jitter30"),
                  "SVHN's framing": ("first", "geometry"), "the look": ("first", "look")}


def ablation_steps(runs: dict[str, dict], count: int) -> dict[str, tuple[float, float]]:
    """Each stand-in change against the variant it extends, on Chars74K's `count` digits: (difference, 95% margin).
    The runs saved accuracies only, not per-digit outcomes, so the margin treats the two runs as independent
    (wider than a paired one would be)."""
    steps = {}
    for change, (before, after) in ABLATION_STEPS.items():
        if before in runs and after in runs:
            a, b = runs[after]["chars74k_accuracy"], runs[before]["chars74k_accuracy"]
            steps[change] = (a - b, math.hypot(margin_95(a, count), margin_95(b, count)))
    return steps


def real_svhn_range(folder: Path) -> str:
    """The re-ranking's saved runs (standin_ablation.py --out experiments/results/real_svhn) in words: how far apart
    the stand-in variants read the real SVHN train photos in their true boxes, against one run's 95% margin."""
    runs = [run for run in load_ablation(folder) if "svhn_real_train_true_box_accuracy" in run]
    if not runs:
        return ""
    accuracies = [run["svhn_real_train_true_box_accuracy"] for run in runs]
    count, low, high = runs[0]["svhn_real_count"], min(accuracies), max(accuracies)
    margin = max(margin_95(accuracy, count) for accuracy in accuracies)
    verdict = "within the noise of each other" if high - low <= margin else "apart by more than one run's noise"
    return (f"the same reader trained on the stand-in and on {len(runs) - 1} variant{'s' if len(runs) > 2 else ''} of it read {percent(low)} to "
            f"{percent(high)} of all {count} real SVHN train photos in their true boxes, each known to about "
            f"±{100 * margin:.0f} points: {verdict} (the re-ranking of `experiments/standin_ablation.py`)")
