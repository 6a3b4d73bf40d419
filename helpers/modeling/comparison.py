"""Several trained readers scored on the same validation numbers, with paired differences between them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from helpers.modeling import metrics, training
from helpers.report import results


@dataclass
class Comparison:
    """Trained readers by name, each decoded and scored on one set of validation numbers."""

    runs: dict[str, training.TrainedModel]
    decoded: dict[str, metrics.Decoded]
    scores: dict[str, dict[str, float]]
    right: dict[str, np.ndarray]

    @classmethod
    def score(cls, runs: dict[str, training.TrainedModel], validation: tuple[np.ndarray, np.ndarray],
              decode: Callable[[str], Callable]) -> "Comparison":
        """Read `validation` (images, label rows) with every run; `decode(name)` gives each run's decoder."""
        images, labels = validation
        decoded = {name: training.predict(run.model, images, decode(name)) for name, run in runs.items()}
        return cls(runs, decoded, {name: metrics.sequence_metrics(d, labels) for name, d in decoded.items()},
                   {name: metrics.whole_number_right(d, labels) for name, d in decoded.items()})

    def accuracy(self, name: str) -> float:
        """Whole-number accuracy of one reader on the validation numbers."""
        return self.scores[name]["sequence_accuracy"]

    def best(self, among: tuple[str, ...] | None = None) -> str:
        """The reader with the highest whole-number accuracy (the first one on a tie)."""
        return max(among or tuple(self.runs), key=self.accuracy)

    def difference(self, first: str, second: str) -> tuple[float, float]:
        """Accuracy of `first` minus that of `second` on the same numbers, and its paired 95% margin."""
        return metrics.paired_difference(self.right[first], self.right[second])

    def ranked(self) -> list[str]:
        """The readers, most accurate first (ties in their original order)."""
        return sorted(self.runs, key=self.accuracy, reverse=True)

    def margin_over_runner_up(self, best: str) -> tuple[float, float]:
        """How far `best` leads the next reader, and the paired 95% margin of that lead (0, 0 for one reader)."""
        others = [name for name in self.ranked() if name != best]
        return self.difference(best, others[0]) if others else (0.0, 0.0)

    def behind(self, best: str) -> list[str]:
        """The readers that trail `best` by more than the paired 95% margin, best first."""
        gaps = {name: self.difference(name, best) for name in self.ranked()}
        return [name for name, (difference, margin) in gaps.items() if -difference > margin]

    def table(self, label: str, names: dict[str, str] | None = None, against: str | None = None) -> str:
        """Markdown table: parameters, training minutes, validation accuracies, best epoch, and with `against`
        each reader's paired difference to that one."""
        columns = {"name": label, "params": "parameters", "min": "train min", "seq": "whole-number acc. (val)",
                   "digit": "per-digit acc. (val)", "best": "best epoch"}
        rows = []
        for name, run in self.runs.items():
            row = {"name": (names or {}).get(name, name), "params": f"{run.model.count_params():,}",
                   "min": f"{run.train_seconds / 60:.1f}", "seq": f"{100 * self.accuracy(name):.2f}%",
                   "digit": f"{100 * self.scores[name]['per_digit_accuracy']:.2f}%", "best": run.info["best_epoch"]}
            if against is not None:
                difference, margin = self.difference(name, against)
                row["gap"] = "chosen" if name == against else f"{100 * difference:+.1f} ± {100 * margin:.1f} points"
            rows.append(row)
        if against is not None:
            columns["gap"] = "against the best (95%)"
        return results.markdown_table(rows, columns)

    def bullets(self, names: dict[str, str] | None = None, against: str | None = None) -> str:
        """One Markdown bullet per reader, best first: accuracy, per-digit accuracy, training minutes and,
        with `against`, the paired difference to that reader."""
        lines = []
        for name in self.ranked():
            notes = [f"per digit {100 * self.scores[name]['per_digit_accuracy']:.2f}%",
                     f"{self.runs[name].train_seconds / 60:.1f} min"]
            if against is not None and name != against:
                difference, margin = self.difference(name, against)
                notes.append(f"{100 * difference:+.1f} ± {100 * margin:.1f} points against the best")
            lines.append(f"* {(names or {}).get(name, name)}: {100 * self.accuracy(name):.2f}% ({'; '.join(notes)})")
        return "\n".join(lines)

    def record(self, against: str | None = None) -> dict[str, dict]:
        """Per reader, the figures results/metrics.json keeps."""
        record = {}
        for name, run in self.runs.items():
            record[name] = {"sequence_accuracy": self.accuracy(name),
                            "per_digit_accuracy": self.scores[name]["per_digit_accuracy"],
                            "train_seconds": run.train_seconds, "best_epoch": run.info["best_epoch"]}
            if against is not None:
                difference, margin = self.difference(name, against)
                record[name].update(difference_to_chosen=difference, difference_margin_95=margin)
        return record
