"""Decoding model outputs and the metrics computed from them."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.core.labels import BLANK
from helpers.modeling import metrics


def _one_hot_outputs(length_probs, digit_probs) -> dict:
    outputs = {"length": np.array([length_probs])}
    for i, probs in enumerate(digit_probs, start=1):
        outputs[f"digit_{i}"] = np.array([probs])
    return outputs


def _probs(hot: int, strength: float = 0.9) -> np.ndarray:
    p = np.full(11, (1 - strength) / 10)
    p[hot] = strength
    return p


def test_decode_multihead_reads_length_then_digits() -> None:
    outputs = _one_hot_outputs(_probs(2)[:6] / _probs(2)[:6].sum(),
                               [_probs(4), _probs(2), _probs(BLANK), _probs(BLANK), _probs(BLANK)])
    decoded = metrics.decode_multihead(outputs)
    np.testing.assert_array_equal(decoded.rows[0], [2, 4, 2, BLANK, BLANK, BLANK])
    assert 0 < decoded.confidence[0] < 1
    assert metrics.number_string(decoded.rows[0]) == "42"


def test_decode_multihead_lets_confident_digits_overrule_a_hesitant_length() -> None:
    length = np.array([0.0, 0.0, 0.45, 0.55, 0.0, 0.0])           # slightly prefers 3 digits
    outputs = _one_hot_outputs(length, [_probs(1, .99), _probs(7, .99), _probs(BLANK, .99),
                                        _probs(BLANK, .99), _probs(BLANK, .99)])
    assert metrics.number_string(metrics.decode_multihead(outputs).rows[0]) == "17"


def test_decode_ctc_merges_repeats_and_drops_blanks() -> None:
    path = [BLANK, 3, 3, BLANK, 3, 5, 5, BLANK]
    logits = np.full((1, len(path), 11), -5.0)
    logits[0, np.arange(len(path)), path] = 5.0
    decoded = metrics.decode_ctc(logits)
    assert metrics.number_string(decoded.rows[0]) == "335"
    assert decoded.rows[0, 0] == 3 and (decoded.rows[0, 4:] == BLANK).all()


def test_decode_ctc_marks_too_long_paths_invalid() -> None:
    path = [1, BLANK, 2, BLANK, 3, BLANK, 4, BLANK, 5, BLANK, 6]
    logits = np.full((1, len(path), 11), -5.0)
    logits[0, np.arange(len(path)), path] = 5.0
    row = metrics.decode_ctc(logits).rows[0]
    assert row[0] == -1 and metrics.number_string(row) == "?"


def test_coverage_at_accuracy() -> None:
    correct = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], bool)
    confidence = np.linspace(1.0, 0.1, 10)
    assert metrics.coverage_at_accuracy(correct, confidence, 1.0) == pytest.approx(0.3)
    assert metrics.coverage_at_accuracy(correct, confidence, 0.8) == pytest.approx(0.5)
    assert metrics.coverage_at_accuracy(np.zeros(4, bool), np.ones(4), 0.98) == 0.0
    with pytest.raises(ValueError):
        metrics.coverage_at_accuracy(np.array([], bool), np.array([]), 0.98)


def test_sequence_metrics_count_whole_numbers() -> None:
    labels = np.array([[2, 1, 2, BLANK, BLANK, BLANK], [1, 7, BLANK, BLANK, BLANK, BLANK]])
    rows = np.array([[2, 1, 3, BLANK, BLANK, BLANK], [1, 7, BLANK, BLANK, BLANK, BLANK]])
    result = metrics.sequence_metrics(metrics.Decoded(rows, np.array([0.9, 0.8])), labels)
    assert result["sequence_accuracy"] == 0.5
    assert result["per_digit_accuracy"] == pytest.approx(2 / 3)
    assert result["length_accuracy"] == 1.0
    assert result["sequence_accuracy_length_2"] == 0.0 and result["sequence_accuracy_length_1"] == 1.0
    confusion = metrics.digit_confusion(rows, labels)
    assert confusion.sum() == 3 and confusion[2, 3] == 1 and confusion[7, 7] == 1


def test_margin_95_shrinks_with_more_numbers_and_matches_the_normal_rule() -> None:
    from helpers.modeling.metrics import margin_95

    assert abs(margin_95(0.5, 10_000) - 1.96 * 0.005) < 2e-4       # large n: the normal approximation
    assert margin_95(0.7, 56) > margin_95(0.7, 1500) > 0
    assert margin_95(1.0, 56) > 0                                    # a perfect score still has an interval
    with pytest.raises(ValueError):
        margin_95(0.5, 0)


def test_lower_bound_95_is_what_few_all_right_answers_can_promise() -> None:
    assert metrics.lower_bound_95(5, 5) == pytest.approx(0.05 ** (1 / 5))   # Clopper-Pearson at k = n
    assert metrics.lower_bound_95(0, 5) == 0.0
    assert metrics.lower_bound_95(95, 100) < 0.95 < metrics.lower_bound_95(990, 1000) + 0.05
    assert metrics.lower_bound_95(5, 5) < metrics.lower_bound_95(50, 50)   # more answers promise more
    with pytest.raises(ValueError):
        metrics.lower_bound_95(6, 5)


def test_paired_difference_sees_agreement_and_disagreement() -> None:
    from helpers.modeling.metrics import margin_95, paired_difference

    rng = np.random.default_rng(0)
    a = rng.random(1500) < 0.9
    same = a.copy()
    same[:10] = ~same[:10]                         # the two readers differ on only 10 numbers
    difference, margin = paired_difference(a, same)
    assert abs(difference - (a[:10].sum() - same[:10].sum()) / 1500) < 1e-12
    assert 0 < margin < margin_95(0.9, 1500) / 2   # far tighter than the single-accuracy margin
    independent = rng.random(1500) < 0.9           # unrelated errors: about sqrt(2) single margins
    assert paired_difference(a, independent)[1] > margin_95(0.9, 1500)
    assert paired_difference(a, a) == (0.0, 0.0)
    with pytest.raises(ValueError):
        paired_difference(a, a[:10])


def test_the_sure_threshold_takes_the_shape_from_many_answers_and_a_cautious_level_from_few() -> None:
    rng = np.random.default_rng(0)
    logit = rng.normal(3, 2, 5000)                         # many answers whose chance of being right is known
    right = rng.random(5000) < 1 / (1 + np.exp(-(1.5 * logit - 1)))
    confidence = 1 / (1 + np.exp(-logit))
    threshold, fit = metrics.sure_threshold((confidence, right), (confidence, right), precision=0.97, level=0.95)
    assert fit["slope"] == pytest.approx(1.5, abs=0.1) and fit["intercept"] == pytest.approx(-1, abs=0.15)
    needed = (np.log(0.97 / 0.03) - fit["intercept_low"]) / fit["slope"]
    assert threshold == pytest.approx(1 / (1 + np.exp(-needed)))
    assert fit["intercept_low"] < fit["intercept"]         # the level is the lower bound, not the estimate
    few = rng.choice(5000, 40, replace=False)               # fewer answers at the level: a more cautious threshold
    cautious, _ = metrics.sure_threshold((confidence, right), (confidence[few], right[few]), 0.97, 0.95)
    assert cautious > threshold                             # a level known from 40 answers is held lower
    worse = right.copy()
    worse[few[:20]] = False                                 # real photos read worse: a higher threshold
    assert metrics.sure_threshold((confidence, right), (confidence[few], worse[few]), 0.97, 0.95)[0] > cautious
    never, _ = metrics.sure_threshold((confidence, ~right), (confidence, right), 0.97, 0.95)
    assert never == 1.0                                     # confidence that does not predict right answers
    perfect, fit = metrics.sure_threshold((confidence, right), (confidence[few], np.ones(40, bool)), 0.97, 0.95)
    assert np.isfinite(fit["intercept"]) and 0 < perfect < 1  # all right: still a finite, cautious level
    with pytest.raises(ValueError, match="at least one answer"):
        metrics.sure_threshold((confidence, right), (np.zeros(0), np.zeros(0, bool)))


def test_top_confusions_lists_the_commonest_mistakes_first() -> None:
    matrix = np.array([[50, 3, 0], [1, 40, 7], [0, 0, 9]])
    assert metrics.top_confusions(matrix, ["0", "1", "blank"], 2) == [("1", "blank", 7), ("0", "1", 3)]
    assert metrics.top_confusions(np.eye(3, dtype=int), ["a", "b", "c"]) == []
