"""The answers' repeated phrases."""
from __future__ import annotations

from helpers import wording


def test_gap_says_which_way_and_rounds_small_differences_away() -> None:
    assert wording.gap(0.905, 0.9) == "about the same as"
    assert wording.gap(0.95, 0.9) == "5.0 points above"
    assert wording.gap(0.8, 0.9) == "10.0 points below"


def test_answer_and_verdict_cover_misses_unsure_answers_and_empty_photos() -> None:
    assert wording.answer("27", 0.934, "read") == "read “27” (confidence 0.93)"
    assert wording.answer("27", 0.5, "unsure") == "read “27” (confidence 0.50, flagged unsure)"
    assert wording.answer("", 0.0, "no number") == "found no number"
    assert wording.verdict("27", "27") == "right"
    assert wording.verdict("27", "21") == "wrong (it is 27)"
    assert wording.verdict("", "") == "right: there is no number"
    assert wording.verdict("", "77") == "wrong: there is no number"
    assert wording.verdict(None, "5") == "no known answer"


def test_image_lines_one_bullet_per_image_with_its_box() -> None:
    text = wording.image_lines([
        {"name": "a.png", "how": "brass digits", "truth": "316", "number": "316", "confidence": 0.9,
         "status": "read", "iou": 0.81},
        {"name": "b.png", "how": "", "truth": "", "number": "77", "confidence": 0.87, "status": "read"}])
    assert text.splitlines() == [
        "* **a.png** (brass digits): read “316” (confidence 0.90), box IoU 0.81; right.",
        "* **b.png**: read “77” (confidence 0.87); wrong: there is no number."]


def test_paired_gap_gives_the_difference_its_margin_and_direction() -> None:
    assert wording.paired_gap(0.349, 0.017) == "34.9 ± 1.7 points above"
    assert wording.paired_gap(-0.027, 0.012) == "2.7 ± 1.2 points below"
    assert wording.paired_gap(0.0, 0.0) == "level (± 0.0 points) with"


def test_verdicts_name_only_the_changes_beyond_their_margin() -> None:
    changes = {"deeper": (0.03, 0.01), "centred windows": (-0.02, 0.01), "faster rate": (0.005, 0.01)}
    text = wording.verdicts(changes)
    assert text.startswith("deeper read more") and "centred windows read fewer" in text and "faster" not in text
    assert wording.verdicts({"faster rate": (0.005, 0.01)}) == "no change moved the result beyond the noise"
