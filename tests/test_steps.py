"""The step modules' own logic, apart from training (the fast notebook run drives the rest)."""
from __future__ import annotations

import types

import numpy as np

from helpers.core.labels import BLANK
from helpers.steps import real_test, step2


def _row(digits: str) -> list[int]:
    return [len(digits), *map(int, digits), *[BLANK] * (5 - len(digits))]


def test_longest_numbers_says_what_the_reader_did_with_them() -> None:
    labels = np.array([_row("12345"), _row("54321"), _row("12")])
    rare = np.array([_row("1234"), _row("5432"), _row("12")])          # the length head said four: rarity
    by_length = {"2": {"count": 1, "training_numbers": 90}, "5": {"count": 2, "training_numbers": 10}}
    text = step2.longest_numbers(by_length, rare, labels, 100)
    assert text.startswith("5-digit numbers are 10 of the 100 training numbers (10.0%).")
    assert ("the length head gave none the length 5; the digit heads got the first 4 digits right on 2 and the last "
            "digit on none.") in text
    assert text.endswith("The length head never gives them 5 digits, as long numbers were rare in training.")   # digits right
    three = np.array([_row("12345"), _row("54321"), _row("11111")])
    some = np.array([_row("12345"), _row("5432"), _row("1111")])        # one of the three given five digits
    assert "The length head seldom gives them 5 digits" in step2.longest_numbers(by_length, some, three, 100)
    both = np.array([_row("9999"), _row("9999"), _row("12")])            # the length and the digits wrong
    assert step2.longest_numbers(by_length, both, labels, 100).endswith("and the digit heads fail on them too.")
    digits = np.array([_row("12349"), _row("54329"), _row("12")])       # the length right, the last digit wrong
    assert "the digits, not the rarity" in step2.longest_numbers(by_length, digits, labels, 100)


def test_the_real_section_keeps_its_finders_apart_and_pairs_the_step2_readers_and_rapidocr() -> None:
    figures = {"end_to_end_accuracy": 0.5, "true_box_accuracy": 0.75}

    class Read:   # what a reading holds that the record uses
        def __init__(self, number: str) -> None:
            self.number = number

    class Photos:
        numbers = ["1", "2", "3", "4"]

    found, in_box = [Read(n) for n in "1x3x"], [Read(n) for n in "1234"]
    rapidocr = {"accuracy": 0.5, "count": 4, "_right": [True, False, True, False]}
    step2_test = step2.Step2Test(
        photos=types.SimpleNamespace(name="svhn_test", numbers=Photos.numbers),
        right={step2.STANDIN_ONLY: np.array([1, 0, 0, 1], bool), step2.WITH_REAL: np.array([1, 1, 0, 1], bool)},
        others={"svhn_test": {"rapidocr": {"true_box": rapidocr, "whole_photo": None}}})
    assert step2_test.peer_in_box()["accuracy"] == 0.5 and "_right" not in step2_test.peer_in_box()
    assert step2_test.peer_in_box("tesseract") is None                       # not run: nothing to say
    results = real_test.RealResults(
        photos={"test": Photos()}, readings={"validation": (figures, [], []), "test": (figures, found, in_box)},
        baseline={"validation": {"end_to_end_accuracy": 0.4}, "test": {"end_to_end_accuracy": 0.45}},
        paired_finders=(0.05, 0.03), framing={"released": {"0": 0.5}, real_test.BEFORE: {"0": 0.4}},
        step2=step2_test, yardsticks={}, yardstick_readings={}, peers={})
    record = results.record()
    assert record["step2_reader_true_box"] == {step2.STANDIN_ONLY: 0.5, step2.WITH_REAL: 0.75}
    assert record["step2_reader_gain_test"]["difference"] == 0.25   # the Step 2 reader minus the stand-in-only one, paired
    assert record["rapidocr_against_step2_reader"]["difference"] == -0.25   # RapidOCR 2 of 4 in the same boxes
    assert record["svhn"]["test"] is figures and record["svhn_before"]["test"]["end_to_end_accuracy"] == 0.45
    assert record["finders_paired_test"] == {"difference": 0.05, "margin": 0.03}
    assert record["framing"] == {"0": 0.5} and record["framing_before"] == {"0": 0.4}
    assert record["localization_cost_test"]["difference"] == -0.5   # 2 of 4 end to end against 4 of 4 in the true box


def test_other_readers_are_paired_with_this_reader_on_the_same_photos() -> None:
    scores = {"svhn_test": {"rapidocr": {"true_box": {"accuracy": 0.75, "count": 4, "_right": [True, True, True, False]},
                                         "whole_photo": None},              # not installed: None stays None
                            "tesseract": {"true_box": {"accuracy": 0.25, "count": 4, "_right": [True, False, False, False]}}},
              "elsewhere": {"rapidocr": {"true_box": {"accuracy": 1.0, "count": 1, "_right": [True]}}}}
    mine = {("svhn_test", "true_box"): np.array([True, True, False, False])}
    paired = real_test.pair_with_reader(scores, mine)
    assert paired["svhn_test"]["rapidocr"]["true_box"]["against_reader"]["difference"] == 0.25
    assert paired["svhn_test"]["tesseract"]["true_box"]["against_reader"]["difference"] == -0.25
    assert paired["svhn_test"]["rapidocr"]["whole_photo"] is None
    assert "against_reader" not in paired["elsewhere"]["rapidocr"]["true_box"]   # no reading of ours to pair with
    assert all("_right" not in score for part in paired.values() for peer in part.values()
               for score in peer.values() if score)                          # per-photo rights are not recorded
    assert "_right" in scores["svhn_test"]["rapidocr"]["true_box"]           # the input is left as it was


def test_the_seed_repeat_trains_the_chosen_setting_again_from_another_seed_and_pairs_it(monkeypatch) -> None:
    from helpers.core import config
    from helpers.modeling import training

    calls = []

    def fit(design, rows, val_crops, **args):
        calls.append(args)
        return training.TrainedModel("again", {}, 12.5, False, None, {})

    monkeypatch.setattr(training, "fit_crops", fit)
    monkeypatch.setattr(step2, "whole_number_rights", lambda model, crops: np.array([1, 1, 0, 1], bool))
    run, setting = config.RunConfig(), config.DEEPER
    explored = types.SimpleNamespace(right={setting.name: np.array([1, 0, 0, 1], bool)})
    repeat, again = step2.repeat_with_another_seed(run, setting, None, None, explored)
    assert again.model == "again"   # counted with the run's other models
    assert calls == [step2.training_args(run, setting, seed=run.seed + 1)]   # the exploration's budget, another seed
    assert (repeat.accuracy, repeat.difference, repeat.train_seconds) == (0.75, 0.25, 12.5)
    assert repeat.margin > 0
