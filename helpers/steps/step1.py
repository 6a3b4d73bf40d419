"""Step 1 as functions of the run configuration: the data, the designs' comparison, the chosen design's
training, the choice of reading (shifts, CTC vote) and the test score."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from helpers.core import config
from helpers.datasets import mnist as data
from helpers.modeling import metrics, models, training
from helpers.modeling.comparison import Comparison
from helpers.report import results, wording
from helpers.synth import sequences

NUMBERS = sequences.SequenceConfig()   # how validation and test numbers look (uniform lengths)
CHOICES = ("multihead", "attention")   # the designs that may get the full budget (CTC lacks a length head)


def training_numbers(step: config.Step1Config) -> sequences.SequenceConfig:
    """How training numbers look: as the test ones, with the configuration's length weights."""
    return dataclasses.replace(NUMBERS, augment=False, length_weights=step.length_weights)


@dataclass
class Step1Data:
    """The digit pools and the generated number sets of Step 1 (uint8 images, label rows)."""

    train_digits: sequences.DigitSource
    val_digits: sequences.DigitSource
    test_digits: sequences.DigitSource
    val_set: tuple[np.ndarray, np.ndarray]        # picks each run's best epoch
    read_val_set: tuple[np.ndarray, np.ndarray]   # picks the reading
    test_set: tuple[np.ndarray, np.ndarray]       # read once

    def summary(self) -> str:
        """The pools and the test numbers, in two lines."""
        images, labels = self.test_set
        return (f"digits: train {len(self.train_digits):,} | validation {len(self.val_digits):,} | test "
                f"{len(self.test_digits):,}\ntest numbers: {images.shape} {images.dtype}, {images.nbytes / 2**20:.0f} MiB; "
                f"per length 1-5: {np.bincount(labels[:, 0], minlength=6)[1:]}")


SEED_OFFSETS = {"validation": 1, "test": 2, "reading": 3}   # each generated set's seed: the run's seed plus this


def digit_pools(mnist: data.Mnist, run: config.RunConfig) -> tuple[sequences.DigitSource, sequences.DigitSource]:
    """MNIST's training digits as two disjoint pools: training, and the held-out validation digits."""
    return sequences.split_training_digits(mnist.train_images, mnist.train_labels,
                                           validation_size=run.step1.validation_digits, seed=run.seed)


def make_data(mnist: data.Mnist, run: config.RunConfig) -> Step1Data:
    """Split MNIST's training digits into two pools and generate the validation and test numbers."""
    step, seeds = run.step1, {name: run.seed + offset for name, offset in SEED_OFFSETS.items()}
    train_digits, val_digits = digit_pools(mnist, run)
    test_digits = sequences.DigitSource(mnist.test_images, mnist.test_labels, "mnist-test")
    return Step1Data(train_digits, val_digits, test_digits,
                     sequences.generate_sequences(val_digits, step.val_count, seed=seeds["validation"], config=NUMBERS),
                     sequences.generate_sequences(val_digits, step.read_val_count, seed=seeds["reading"], config=NUMBERS),
                     sequences.generate_sequences(test_digits, step.test_count, seed=seeds["test"], config=NUMBERS))


def sample_numbers(run: config.RunConfig, sets: Step1Data, count: int) -> tuple[np.ndarray, np.ndarray]:
    """A few training numbers, drawn as the training stream draws them (to look at)."""
    return sequences.generate_sequences(sets.train_digits, count, seed=run.seed, config=training_numbers(run.step1))


def fit(run: config.RunConfig, key: str, sets: Step1Data, *, epochs: int, steps: int,
        start_from: training.TrainedModel | None = None, **changes) -> training.TrainedModel:
    """Train (or load) design `key` on Step 1's numbers at the step's settings; `changes` go to `training.fit_design`
    (e.g. `cache=False`)."""
    step = run.step1
    return training.fit_design(models.DESIGNS[key], sets.train_digits, sets.val_set, batch_size=step.batch_size,
                               epochs=epochs, steps_per_epoch=steps, learning_rate=step.learning_rate, seed=run.seed,
                               config=training_numbers(step), model_args=step.model_args, start_from=start_from,
                               **changes)


def compare_designs(run: config.RunConfig, sets: Step1Data) -> Comparison:
    """Train (or load) every design at the comparison budget and score them on the validation numbers."""
    runs = {key: fit(run, key, sets, epochs=run.step1.compare_epochs, steps=run.step1.compare_steps)
            for key in models.DESIGNS}
    return Comparison.score(runs, sets.val_set, lambda key: models.DESIGNS[key].decode)


def train_chosen(run: config.RunConfig, sets: Step1Data, comparison: Comparison, key: str) -> training.TrainedModel:
    """Continue the chosen design from its comparison run with the full budget (a fresh schedule)."""
    return fit(run, key, sets, epochs=run.step1.epochs, steps=run.step1.steps_per_epoch,
                start_from=comparison.runs[key])


@dataclass
class Reading:
    """How the Step 1 reader reads: test-time shifts and the CTC columns' vote, chosen on validation numbers."""

    shifts: tuple[int, ...]
    ctc_weight: float
    scores: dict[tuple[tuple[int, ...], float], float]   # whole-number accuracy per (shifts, weight)
    count: int                                           # reading-validation numbers
    gains: dict[str, tuple[float, float]] = field(default_factory=dict)   # paired (difference, margin) per lever

    def decode(self, outputs) -> metrics.Decoded:
        """Decode a model's outputs with the chosen CTC weight."""
        return metrics.decode_joint(outputs, self.ctc_weight)

    def summary(self) -> str:
        """Which reading the validation numbers chose, in one line."""
        return (f"whole-number accuracy on {self.count:,} validation numbers above; the test reads with shifts "
                f"{self.shifts}, CTC weight {self.ctc_weight:g}")

    def table(self) -> str:
        """Markdown table of every option's validation accuracy."""
        weights = sorted({w for _, w in self.scores})
        rows = [{"shifts": str(s), **{str(w): f"{100 * self.scores[(s, w)]:.2f}%" for w in weights}}
                for s in dict.fromkeys(s for s, _ in self.scores)]
        return results.markdown_table(rows, {"shifts": "test-time shifts (px)",
                                             **{str(w): f"CTC weight {w:g}" for w in weights}})

    def sentence(self) -> str:
        """How the test numbers are read and why (for Q3)."""
        passes = ("Reading averages the heads' probabilities over the image and copies shifted by "
                  + " and ".join(f"{s:+d}" for s in self.shifts if s) + " px" if len(self.shifts) > 1
                  else "Reading takes each image once")
        vote = (f" and lets the CTC columns vote (weight {self.ctc_weight:g}, see above)" if self.ctc_weight
                else ", with the heads alone")
        return f"{passes}{vote}: {self.note()}"

    def note(self) -> str:
        """One sentence on why this reading (for Q3)."""
        plain = self.scores[((0,), 0.0)]
        if (self.shifts, self.ctc_weight) == ((0,), 0.0):
            return (f"no extra pass or CTC vote beat it on the validation numbers ({100 * plain:.2f}%; "
                    "the table above has the rest).")
        levers = []
        if len(self.shifts) > 1:
            levers.append(f"the shifts: {wording.signed_gap(*self.gains['shifts'], decimals=2)}")
        if self.ctc_weight:
            levers.append(f"the CTC vote on top: {wording.signed_gap(*self.gains['ctc_vote'], decimals=2)}")
        return (f"the validation numbers preferred this ({100 * self.scores[(self.shifts, self.ctc_weight)]:.2f}% "
                f"against {100 * plain:.2f}% for one unshifted pass of the heads alone; "
                f"{' and '.join(levers)}, paired 95% margins).")


def choose_reading(step: config.Step1Config, model, key: str, read_val_set: tuple[np.ndarray, np.ndarray]) -> Reading:
    """Score every combination of shifts and CTC weight on the reading-validation numbers; keep the best."""
    images, labels = read_val_set
    weights = step.ctc_weights if key == "attention" else (0.0,)   # only the attention design has columns
    outputs = {s: training.predict_outputs(model, images, shifts=s) for s in step.shift_options}
    right = {(s, w): metrics.whole_number_right(metrics.decode_joint(outputs[s], w), labels)
             for s in step.shift_options for w in weights}
    scores = {key: float(r.mean()) for key, r in right.items()}
    # Ties go to fewer passes, then to the heads alone.
    shifts, weight = max(scores, key=lambda k: (scores[k], -len(k[0]), -k[1]))
    gains = {"shifts": metrics.paired_difference(right[(shifts, 0.0)], right[((0,), 0.0)]),   # each lever alone,
             "ctc_vote": metrics.paired_difference(right[(shifts, weight)], right[(shifts, 0.0)])}   # paired
    return Reading(shifts, weight, scores, len(labels), gains)


def test_figures(model, reading: Reading, test_set: tuple[np.ndarray, np.ndarray]) -> tuple[metrics.Decoded, dict]:
    """Read the test numbers once with the chosen reading: the decoded answers and their metrics."""
    decoded = training.predict(model, test_set[0], reading.decode, shifts=reading.shifts)
    return decoded, metrics.sequence_metrics(decoded, test_set[1])


def record(run: config.RunConfig, comparison: Comparison, key: str, chosen: training.TrainedModel,
           reading: Reading, figures: dict) -> dict:
    """What results/metrics.json keeps of Step 1."""
    return {**figures, "train_seconds": comparison.runs[key].train_seconds + chosen.train_seconds,
            "best_epoch": chosen.info["best_epoch"],
            "images_seen": chosen.info["images_seen"] + comparison.runs[key].info["images_seen"],
            "parameters": chosen.model.count_params(), "data_source": "MNIST digits composed into synthetic numbers",
            "fast_mode": run.fast, "test_time_shifts": list(reading.shifts), "ctc_weight": reading.ctc_weight,
            "reading_validation_numbers": reading.count,
            "validation_accuracy_by_reading": {f"shifts {s}, ctc weight {w:g}": v for (s, w), v in reading.scores.items()},
            "reading_gains": {lever: {"difference": d, "margin": m} for lever, (d, m) in reading.gains.items()},
            "design": key, "comparison": comparison.record()}



def restart_dip(comparison: Comparison, key: str, chosen: training.TrainedModel) -> str:
    """The continuation's warm restart in words, to its lowest point ("" when the curves show no dip)."""
    first = comparison.runs[key].history["val_sequence_accuracy"]   # the comparison's epochs come first on the figure
    before, after = first[-1], chosen.history["val_sequence_accuracy"]
    low = int(np.argmin(after))
    if after[low] >= before:
        return ""
    return (f"The continuation restarts its schedule (learning rate warmed up to the peak again, then held high for its "
            f"first epochs): validation accuracy falls from {100 * before:.1f}% to {100 * after[low]:.1f}% at its lowest "
            f"(its epoch {low + 1}, {len(first) + low + 1} on the figure), then climbs as the rate decays, to {100 * max(after):.1f}%.")


def test_line(figures: dict) -> str:
    """The test figures in two lines: whole number, digit, length, coverage, and by length."""
    by_length = {n: f"{100 * figures[f'sequence_accuracy_length_{n}']:.2f}%" for n in range(1, 6)
                 if f"sequence_accuracy_length_{n}" in figures}
    return (f"whole-number accuracy {100 * figures['sequence_accuracy']:.2f}% | per-digit "
            f"{100 * figures['per_digit_accuracy']:.2f}% | length {100 * figures['length_accuracy']:.2f}% | coverage at "
            f"98% accuracy {100 * figures['coverage_at_98']:.1f}%, at 99.5% {100 * figures['coverage_at_995']:.1f}%\n"
            f"by length: {by_length}")
