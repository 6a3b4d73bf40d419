"""Turning model outputs into numbers, and the metrics that count what matters."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers.core.boxes import iou as box_iou
from helpers.core.config import ACCURACY_TARGET, STRICT_ACCURACY_TARGET
from helpers.core.labels import BLANK

_EPS = 1e-12


@dataclass(frozen=True)
class Decoded:
    """Predicted label rows [length, d1..dN] (BLANK-padded) and the probability of each answer."""

    rows: np.ndarray
    confidence: np.ndarray


def _head_log_probs(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """log P(length) (n, 1 + positions) and log P(class) per digit head (n, positions, 11), in float64."""
    length_log = np.log(np.asarray(outputs["length"], np.float64) + _EPS)
    positions = len(length_log[0]) - 1
    digits = np.stack([outputs[f"digit_{i}"] for i in range(1, positions + 1)], axis=1)
    return length_log, np.log(digits.astype(np.float64) + _EPS)


def decode_multihead(outputs: dict[str, np.ndarray]) -> Decoded:
    """Most probable whole number: argmax over L of log P(L) + best digits before L + blanks after.

    As in Goodfellow et al. 2013 the length and the digits are chosen jointly, so a confident
    digit head can overrule a hesitant length head; the score is the answer's probability.
    """
    length_log, digit_log = _head_log_probs(outputs)
    count, positions = digit_log.shape[:2]
    best_digit = digit_log[:, :, :BLANK].argmax(-1)
    best_digit_log = digit_log[:, :, :BLANK].max(-1)
    blank_log = digit_log[:, :, BLANK]
    zeros = np.zeros((count, 1))
    digits_before = np.concatenate([zeros, np.cumsum(best_digit_log, axis=1)], axis=1)
    blanks_from = np.concatenate([np.cumsum(blank_log[:, ::-1], axis=1)[:, ::-1], zeros], axis=1)
    scores = length_log + digits_before + blanks_from
    lengths = scores.argmax(1)
    rows = np.full((count, positions + 1), BLANK, np.int64)
    rows[:, 0] = lengths
    keep = np.arange(positions)[None, :] < lengths[:, None]
    rows[:, 1:] = np.where(keep, best_digit, BLANK)
    return Decoded(rows, np.exp(scores.max(1)))


def decode_ctc(logits: np.ndarray, max_digits: int = 5) -> Decoded:
    """Greedy CTC decoding (`keras.ops.ctc_decode`: best class per column, repeats merged, blanks dropped);
    the confidence is the best path's probability. A path with more than `max_digits` digits gets length -1,
    so it never counts as correct."""
    import keras

    logits = np.asarray(logits, np.float32)
    count, columns = logits.shape[:2]
    paths, _ = keras.ops.ctc_decode(logits, np.full(count, columns, np.int32), strategy="greedy", mask_index=BLANK)
    paths = np.asarray(paths)[0]                                  # (n, longest path), padded with -1
    confidence = np.exp(_log_softmax(logits).max(-1).sum(-1))
    rows = np.full((count, max_digits + 1), BLANK, np.int64)
    for row, path in zip(rows, paths):
        digits = path[(path >= 0) & (path != BLANK)]
        if len(digits) > max_digits:
            row[0] = -1
            continue
        row[0] = len(digits)
        row[1:1 + len(digits)] = digits
    return Decoded(rows, confidence)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """log of softmax over the last axis, computed stably in float64."""
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def ctc_log_likelihood(logits: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """log P(number | per-column logits) under CTC (blank = BLANK), one value per row; -inf if impossible
    (`keras.ops.ctc_loss`, TensorFlow's forward algorithm)."""
    import keras

    rows = np.asarray(rows)
    logits = np.asarray(logits, np.float32)
    if rows.shape[0] != len(logits) or (rows[:, 0] < 0).any():
        raise ValueError(f"need one valid label row per image, got {rows.shape} for {len(logits)} images.")
    targets = np.where(np.arange(rows.shape[1] - 1)[None] < rows[:, :1], rows[:, 1:], 0).astype(np.int32)
    loss = keras.ops.ctc_loss(targets, logits, rows[:, 0].astype(np.int32),
                              np.full(len(logits), logits.shape[1], np.int32), mask_index=BLANK)
    # A path needs a column per digit and a blank between equal neighbours; TensorFlow gives a number without one
    # a large finite loss instead of an infinite one.
    digits = rows[:, 1:]
    repeats = ((digits[:, 1:] == digits[:, :-1]) & (np.arange(1, digits.shape[1])[None] < rows[:, :1])).sum(1)
    return np.where(rows[:, 0] + repeats > logits.shape[1], -np.inf, -np.asarray(loss, np.float64))


def decode_joint(outputs: dict[str, np.ndarray], ctc_weight: float) -> Decoded:
    """Heads and CTC columns read together: the candidate maximising log P_heads + w log P_CTC wins.

    Hybrid CTC/attention decoding (Watanabe et al. 2017): the candidates are the heads' best
    number of each length 1-5, the best one with any single digit swapped for that head's runner-up,
    and the CTC columns' own greedy reading. `outputs["column_logits"]` may hold one array per
    test-time shift, shape (shifts, n, columns, classes); their log-likelihoods are averaged.
    With `ctc_weight` 0 this is `decode_multihead`. The confidence stays the heads' probability.
    """
    if ctc_weight < 0:
        raise ValueError(f"ctc_weight must be 0 or more, got {ctc_weight}.")
    heads = decode_multihead(outputs)
    if ctc_weight == 0:
        return heads
    if "column_logits" not in outputs:
        raise ValueError("joint decoding needs per-column CTC logits (the attention design's column_logits).")
    # float32 once, as `ctc_log_likelihood` takes it, not once per candidate and shift
    columns = np.asarray(outputs["column_logits"], np.float32)
    columns = columns[None] if columns.ndim == 3 else columns
    length_log, digit_log = _head_log_probs(outputs)
    count, positions = digit_log.shape[:2]
    picks = np.arange(count)
    ranked = np.argsort(-digit_log[:, :, :BLANK], axis=-1)[:, :, :2]         # best and runner-up digit
    candidates = []
    for length in range(1, positions + 1):
        row = np.full((count, positions + 1), BLANK, np.int64)
        row[:, 0], row[:, 1:1 + length] = length, ranked[:, :length, 0]
        candidates.append(row)
    for position in range(1, positions + 1):
        row = heads.rows.copy()
        inside = row[:, 0] >= position
        best, second = ranked[:, position - 1, 0], ranked[:, position - 1, 1]
        row[inside, position] = np.where(row[inside, position] == best[inside], second[inside], best[inside])
        candidates.append(row)
    greedy = decode_ctc(columns[0], positions).rows
    candidates.append(np.where(greedy[:, :1] >= 0, greedy, heads.rows))    # too long: the heads' answer
    totals, heads_scores = [], []
    for row in candidates:
        score = length_log[picks, row[:, 0]] + sum(digit_log[picks, i, row[:, i + 1]] for i in range(positions))
        ctc = np.mean([ctc_log_likelihood(shift, row) for shift in columns], axis=0)
        heads_scores.append(score)
        totals.append(score + ctc_weight * ctc)
    best = np.argmax(np.stack(totals, 1), axis=1)
    rows = np.stack(candidates, 1)[picks, best]
    return Decoded(rows, np.exp(np.stack(heads_scores, 1)[picks, best]))


def number_string(row: np.ndarray) -> str:
    """Label row -> the number as text ("" for no digits, "?" for an invalid row)."""
    length = int(row[0])
    return "?" if length < 0 else "".join(str(int(d)) for d in row[1:1 + length])


def coverage_at_accuracy(correct: np.ndarray, confidence: np.ndarray, target: float = ACCURACY_TARGET) -> float:
    """Largest share of inputs the model can answer, most confident first, at >= `target` accuracy."""
    correct = np.asarray(correct, bool)
    if correct.size == 0:
        raise ValueError("coverage needs at least one prediction.")
    order = np.argsort(-np.asarray(confidence), kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, correct.size + 1)
    passing = np.nonzero(running >= target)[0]
    return float((passing[-1] + 1) / correct.size) if passing.size else 0.0


def sequence_metrics(predicted: Decoded, labels: np.ndarray) -> dict[str, float]:
    """Whole-number accuracy (length and every digit right), per-digit accuracy, coverage."""
    labels = np.asarray(labels)
    correct = whole_number_right(predicted, labels)
    true_digit = labels[:, 1:] != BLANK
    digit_right = (predicted.rows[:, 1:] == labels[:, 1:]) & true_digit
    by_length = {f"sequence_accuracy_length_{n}": float(correct[labels[:, 0] == n].mean())
                 for n in np.unique(labels[:, 0])}
    return {
        "sequence_accuracy": float(correct.mean()),
        "per_digit_accuracy": float(digit_right.sum() / true_digit.sum()),
        "length_accuracy": float((predicted.rows[:, 0] == labels[:, 0]).mean()),
        "coverage_at_98": coverage_at_accuracy(correct, predicted.confidence, ACCURACY_TARGET),
        "coverage_at_995": coverage_at_accuracy(correct, predicted.confidence, STRICT_ACCURACY_TARGET),   # 98% may keep all
        "count": int(len(labels)),
        **by_length,
    }


def digit_confusion(predicted_rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """11x11 counts of (true, predicted) classes over the true digit positions (10 = blank)."""
    true_digit = labels[:, 1:] != BLANK
    matrix = np.zeros((11, 11), np.int64)
    np.add.at(matrix, (labels[:, 1:][true_digit], predicted_rows[:, 1:][true_digit]), 1)
    return matrix


def top_confusions(matrix: np.ndarray, labels: list[str], count: int = 3) -> list[tuple[str, str, int]]:
    """The `count` most frequent mistakes of a confusion matrix (rows true, columns predicted): (true, read, times)."""
    errors = matrix.astype(np.int64).copy()
    np.fill_diagonal(errors, 0)
    order = np.argsort(errors, axis=None)[::-1][:count]
    return [(labels[i], labels[j], int(errors[i, j])) for i, j in zip(*np.unravel_index(order, errors.shape)) if errors[i, j]]


def margin_95(accuracy: float, count: int) -> float:
    """Half-width of the 95% interval of an accuracy measured on `count` numbers (Wilson score interval)."""
    if count <= 0:
        raise ValueError(f"an accuracy needs at least one number, got count={count}.")
    z = 1.959964
    spread = z * np.sqrt(accuracy * (1 - accuracy) / count + z * z / (4 * count * count))
    return float(spread / (1 + z * z / count))


def lower_bound_95(right: int, count: int) -> float:
    """One-sided 95% lower bound of an accuracy of `right` out of `count` (Clopper-Pearson): what a few
    all-right answers can promise, e.g. 5 of 5 -> 0.55."""
    if count <= 0 or not 0 <= right <= count:
        raise ValueError(f"need 0 <= right <= count and count > 0, got right={right}, count={count}.")
    if right == 0:
        return 0.0
    from scipy.stats import beta   # scipy comes with scikit-image

    return float(beta.ppf(0.05, right, count - right + 1))


def whole_number_right(predicted: Decoded, labels: np.ndarray) -> np.ndarray:
    """Per number: True where the length and every digit are right (what sequence_accuracy averages)."""
    labels = np.asarray(labels)
    if predicted.rows.shape != labels.shape:
        raise ValueError(f"predictions {predicted.rows.shape} and labels {labels.shape} differ in shape.")
    return (predicted.rows == labels).all(1)


def paired_difference(right_a: np.ndarray, right_b: np.ndarray) -> tuple[float, float]:
    """Accuracy of A minus accuracy of B on the same numbers, and the 95% margin of that difference.

    Paired: only the numbers one reader gets right and the other wrong carry information, so two
    readers that agree on most numbers are told apart by far fewer than the single-accuracy margins.
    """
    a, b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"need two equal 1-D sets of at least 2 outcomes, got {a.shape} and {b.shape}.")
    difference = a.astype(float) - b
    return float(difference.mean()), float(1.959964 * difference.std(ddof=1) / np.sqrt(difference.size))


def _logit(confidence) -> np.ndarray:
    confidence = np.clip(np.asarray(confidence, np.float64), 1e-6, 1 - 1e-6)
    return np.log(confidence / (1 - confidence))


def _logistic_fit(z: np.ndarray, right: np.ndarray, slope: float | None = None,
                  steps: int = 50) -> tuple[float, float, float]:
    """Logistic regression of `right` on `z` by Newton's method: (slope, intercept, standard error of the
    intercept). With `slope` given, only the intercept is fitted. Half a right and half a wrong answer at the
    mean `z` are added (a weak prior), so that answers all right or all wrong still give a finite fit."""
    if len(z) == 0:
        raise ValueError("a calibration needs at least one answer.")
    z = np.append(np.asarray(z, np.float64), [np.mean(z)] * 2)
    right = np.append(np.asarray(right, np.float64), [1.0, 0.0])
    weight = np.append(np.ones(len(z) - 2), [0.5, 0.5])
    a, b = (1.0 if slope is None else float(slope)), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * z + b)))
        w = weight * np.maximum(p * (1 - p), 1e-9)
        residual = weight * (right - p)
        if slope is None:
            gradient = np.array([np.sum(residual * z), np.sum(residual)])
            hessian = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]) + 1e-9 * np.eye(2)
            a, b = np.array([a, b]) + np.linalg.solve(hessian, gradient)
        else:
            b += np.sum(residual) / np.sum(w)
    p = 1 / (1 + np.exp(-(a * z + b)))
    return float(a), float(b), float(1 / np.sqrt(max(np.sum(weight * p * (1 - p)), 1e-9)))


def sure_threshold(shape: tuple[np.ndarray, np.ndarray], level_data: tuple[np.ndarray, np.ndarray],
                   precision: float = 0.97, level: float = 0.95) -> tuple[float, dict]:
    """The lowest confidence at which an answer is right at least `precision` of the time, with probability
    `level`, on photos like `level_data`'s: (threshold, the fit).

    How the chance of being right grows with the confidence (the slope of a logistic fit on its logit)
    comes from `shape` (confidence, right) pairs, many (e.g. the stand-in's validation images); how high it
    lies for real photos (the intercept) from `level_data`'s few pairs (e.g. the real validation photos),
    lowered to its one-sided `level` bound. Pass answers only (a "no number" is never sure). Every answer
    above the threshold is then at least as likely
    right. 1.0 (nothing is sure) when no confidence below 1 gets there."""
    from scipy.stats import norm

    slope, _, _ = _logistic_fit(_logit(shape[0]), np.asarray(shape[1], np.float64))
    _, intercept, error = _logistic_fit(_logit(level_data[0]), np.asarray(level_data[1], np.float64), slope=slope)
    low = intercept - norm.ppf(level) * error
    fit = {"slope": slope, "intercept": intercept, "intercept_low": low, "shape_count": len(shape[0]),
           "level_count": len(level_data[0]), "precision": precision, "level": level}
    if slope <= 0:
        return 1.0, fit
    needed = (np.log(precision / (1 - precision)) - low) / slope        # the logit the threshold must reach
    threshold = float(1 / (1 + np.exp(-needed)))
    return (threshold if threshold < 1 - 1e-6 else 1.0), fit


def confidence_threshold(correct: np.ndarray, confidence: np.ndarray, target: float = ACCURACY_TARGET) -> float:
    """Lowest confidence that still keeps the answers above it `target` accurate (validation data)."""
    correct, confidence = np.asarray(correct, bool), np.asarray(confidence, np.float64)
    coverage = coverage_at_accuracy(correct, confidence, target)
    if coverage == 0:
        return 1.0
    kept = int(round(coverage * correct.size))
    return float(np.sort(confidence)[::-1][kept - 1])


def digit_confidences(outputs: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple[float, ...]]:
    """Probability the digit heads gave each digit of the decoded rows."""
    result = []
    for index, row in enumerate(rows):
        length = max(int(row[0]), 0)
        result.append(tuple(float(outputs[f"digit_{p + 1}"][index, row[p + 1]]) for p in range(length)))
    return result


def score_readings(readings: list, truth: list[str], true_boxes: np.ndarray | None = None, *,
                   right: np.ndarray | None = None) -> dict:
    """The one scorer of end-to-end readings (anything with .number, .status and .box), against the true numbers.

    Always: accuracy, the share and precision of the answers marked sure ("read") with the precision's one-sided 95%
    lower bound, and each status's share and
    accuracy. With `true_boxes` (top, left, bottom, right per photo): the IoU of each box found with the true one,
    its mean and shares, and why each photo read wrong was lost: no box, a loose box (IoU < 0.5), a misread in a
    good box. `right` overrides number == truth (a photo may accept a second number). Arrays "_right", "_sure"
    and "_iou" come back too, for figures and counts; callers keep the keys starting with "_" out of metrics.json.
    """
    right = np.array([r.number == t for r, t in zip(readings, truth)]) if right is None else np.asarray(right, bool)
    sure = np.array([r.status == "read" for r in readings])
    if len(right) == 0:
        raise ValueError("scoring needs at least one reading.")
    by_status = {}
    for status in ("read", "unsure", "no number"):
        chosen = right[[r.status == status for r in readings]]
        by_status[status] = {"share": len(chosen) / len(right), "right": float(chosen.mean()) if len(chosen) else None}
    figures = {"count": len(right), "accuracy": float(right.mean()), "confident_share": float(sure.mean()),
               "confident_precision": float(right[sure].mean()) if sure.any() else None,
               "confident_precision_lower_95": lower_bound_95(int(right[sure].sum()), int(sure.sum())) if sure.any() else None,
               "by_status": by_status,
               "_right": right, "_sure": sure}
    if true_boxes is not None:
        found = np.array([r.box is not None for r in readings])
        overlap = box_iou(np.array([r.box if r.box is not None else (0, 0, 0, 0) for r in readings], np.float64),
                          np.asarray(true_boxes, np.float64))
        figures.update({"mean_iou": float(overlap.mean()), "iou_at_least_0.5": float((overlap >= 0.5).mean()),
                        "iou_at_least_0.75": float((overlap >= 0.75).mean()),
                        "lost_no_box": float(np.mean(~right & ~found)),
                        "lost_loose_box": float(np.mean(~right & found & (overlap < 0.5))),
                        "lost_good_box": float(np.mean(~right & found & (overlap >= 0.5))), "_iou": overlap})
    return figures
