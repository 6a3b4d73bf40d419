"""The report's real-photo section: the real SVHN test photos read end to end, the other readers, Chars74K.

`evaluate` reads everything once, with the final models and thresholds (Step 2's readers and the other readers read
the test photos at the end of Step 2: `step2.read_test_photos`); the notebook then shows the tables and figures of the
`RealResults` it returns, and `RealResults.record` is what metrics.json keeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers.app import reader
from helpers.datasets import real_photos
from helpers.modeling import metrics
from helpers.report import peers
from helpers.steps import step2

RELEASED, BEFORE = "released (detector + localizer)", "the localizer alone (earlier release)"


@dataclass
class RealResults:
    """What the real photographs gave: figures per part, readings, paired differences and the other readers."""

    photos: dict[str, real_photos.LabelledPhotos]   # "validation" (train 201-256) and "test" (test 1-128)
    readings: dict[str, tuple[dict, list, list]]    # per part: figures, end-to-end readings, true-box readings
    baseline: dict[str, dict]                       # the localizer alone's figures per part
    paired_finders: tuple[float, float]             # released minus the localizer alone, test, paired
    framing: dict[str, dict[str, float]]            # per finder: accuracy per margin around the number
    step2: step2.Step2Test                          # Step 2's readers (and the other readers) on the test photos
    yardsticks: dict                                # Chars74K's figures (`real_photos.evaluate`)
    yardstick_readings: dict                        # their readings, for the figures
    peers: dict                                     # other readers' scores ({} when not run)

    @property
    def svhn(self) -> dict[str, dict]:
        """The released reader's figures per part."""
        return {part: figures for part, (figures, _, _) in self.readings.items()}

    @property
    def test(self) -> dict:
        """The released reader's figures on the real test photos."""
        return self.svhn["test"]

    @property
    def finders(self) -> dict[str, dict[str, dict]]:
        """Both ways of finding the number, figures per part."""
        return {RELEASED: self.svhn, BEFORE: self.baseline}

    @property
    def localization_cost(self) -> tuple[float, float]:
        """Reading end to end minus reading in the true box, on the test photos, paired (the same reader)."""
        _, end_to_end, in_box = self.readings["test"]
        numbers = self.photos["test"].numbers
        return metrics.paired_difference(*(real_photos.answers_right(readings, numbers) for readings in (end_to_end, in_box)))

    @property
    def mine(self) -> dict[str, dict[str, float]]:
        """This reader's figures as the peers table lists them."""
        return real_photos.reader_figures(self.test, self.yardsticks)

    def record(self) -> dict:
        """What metrics.json keeps under "real"."""
        pair = ("difference", "margin")
        in_box = self.step2.peer_in_box()
        return {**self.yardsticks, "svhn": self.svhn, "peers": self.peers, "step2_reader_true_box": self.step2.accuracy,
                "step2_reader_gain_test": dict(zip(pair, self.step2.gain)), "peers_reader_figures": self.mine,
                "rapidocr_against_step2_reader": in_box["against_reader"] if in_box else None,
                "framing": self.framing["released"], "framing_before": self.framing[BEFORE], "svhn_before": self.baseline,
                "finders_paired_test": dict(zip(pair, self.paired_finders)),
                "localization_cost_test": dict(zip(pair, self.localization_cost))}


def pair_with_reader(other_readers: dict, mine: dict[tuple[str, str], np.ndarray]) -> dict:
    """The other readers' scores, each with its paired difference from this reader on the same photos
    ("against_reader": difference and 95% margin) where `mine` has this reader's rights for that set and way of
    reading ((set name, "true_box" or "whole_photo") -> right per photo); their per-photo rights left out."""
    return {part: {peer: {way: None if score is None else peers.paired_score(score, mine.get((part, way)))
                          for way, score in ways.items()} for peer, ways in by_peer.items()}
            for part, by_peer in other_readers.items()}


def evaluate(number_reader: reader.NumberReader, baseline_reader: reader.NumberReader,
             step2_test: step2.Step2Test) -> RealResults:
    """Read the real photos once with the released reader: both SVHN parts with both finders, the validation part at
    every framing, and Chars74K; pair the other readers' scores (read in `step2_test`) with it."""
    photos = {"validation": real_photos.svhn_real("validation"), "test": step2_test.photos}
    readings = {part: real_photos.svhn_scores(number_reader, part_photos) for part, part_photos in photos.items()}
    before = {part: real_photos.svhn_scores(baseline_reader, part_photos) for part, part_photos in photos.items()}
    test_numbers = photos["test"].numbers
    test_end_to_end, test_in_box = (real_photos.answers_right(readings["test"][k], test_numbers) for k in (1, 2))
    framing = {name: real_photos.framing_scores(finder, photos["validation"])
               for name, finder in (("released", number_reader), (BEFORE, baseline_reader))}
    others = bool(step2_test.others)   # Tesseract on Chars74K too when the other readers were run
    yardsticks = real_photos.evaluate(number_reader, tesseract=others, sample=False)   # the SVHN sample is in svhn-real
    yardstick_readings = yardsticks.pop("_readings")
    mine = {(photos["test"].name, "true_box"): test_in_box, (photos["test"].name, "whole_photo"): test_end_to_end}
    if "chars74k" in yardstick_readings:
        digits, in_crop, end_to_end = yardstick_readings["chars74k"]
        mine.update({(digits.name, "true_box"): real_photos.answers_right(in_crop, digits.numbers),
                     (digits.name, "whole_photo"): real_photos.answers_right(end_to_end, digits.numbers)})
    other_readers = pair_with_reader(step2_test.others, mine)
    return RealResults(photos, readings, {part: figures for part, (figures, _, _) in before.items()},
                       metrics.paired_difference(test_end_to_end, real_photos.answers_right(before["test"][1], test_numbers)),
                       framing, step2_test, yardsticks, yardstick_readings,
                       other_readers)
