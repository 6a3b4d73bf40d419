"""Step 2 as functions of the run configuration: the data (`prepare`), the exploration of reader settings at one
budget, the fine-tuning with real SVHN photos mixed in, the figures of both readers (`evaluate`) and, once every
Step 2 choice is made, both readers on the real SVHN test photos with the other readers beside them (`read_test_photos`)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from helpers.app import reader
from helpers.core import config, paths
from helpers.datasets import crops, digitstruct, real_photos
from helpers.modeling import metrics, models, training
from helpers.modeling.comparison import Comparison
from helpers.report import peers, results
from helpers.synth import street_numbers

DESIGN = models.DESIGNS["attention"]   # Step 1's chosen design family, on 54x54 colour crops


@dataclass
class Step2Data:
    """Where Step 2's photos come from and their tables (paths, boxes, label rows)."""

    root: Path
    name: str            # what the report calls the data
    real_svhn: bool      # the full SVHN was found in the data folder
    annotations: dict[str, list[digitstruct.Annotation]]
    tables: dict[str, crops.NumberTable]


def load_data(run: config.RunConfig) -> Step2Data:
    """The full SVHN if the data folder has it, else the rendered stand-in (made once, then cached)."""
    svhn = paths.data_dir() / "svhn"
    real_svhn = all((svhn / split / "digitStruct.mat").exists() for split in ("train", "test"))
    if real_svhn:
        root, name = svhn, "SVHN format 1 (real)"
    else:
        root = street_numbers.standin_dataset(run.step2.counts, seed=run.seed, config=street_numbers.standin_config(run.step2),
                                              progress=False)
        name = "the stand-in (rendered, not SVHN)"
    annotations = {split: digitstruct.load_digit_struct(root / split / "digitStruct.mat") for split in ("train", "test")}
    tables = {split: crops.number_table(root / split, annotations[split]) for split in ("train", "test")}
    return Step2Data(root, name, real_svhn, annotations, tables)


def training_args(run: config.RunConfig, setting: config.ReaderSetting, **changes) -> dict:
    """`training.fit_crops`'s arguments for one reader setting at the step's budget, with `changes`."""
    step = run.step2
    return {"batch_size": step.batch_size, "epochs": step.epochs, "steps_per_epoch": step.steps_per_epoch,
            "learning_rate": setting.learning_rate or step.learning_rate, "seed": run.seed,
            "box_jitter": step.box_jitter, "model_args": setting.model_args, "random_crop": setting.random_crop,
            **changes}


def explore(run: config.RunConfig, train_rows: crops.NumberTable,
            val_crops: tuple[np.ndarray, np.ndarray]) -> Comparison:
    """Train (or load) every setting from scratch at the same budget; score them on the validation crops."""
    runs = {setting.name: training.fit_crops(DESIGN, train_rows, val_crops, **training_args(run, setting))
            for setting in run.step2.settings}
    return Comparison.score(runs, val_crops, lambda _: metrics.decode_multihead)


@dataclass(frozen=True)
class SeedRepeat:
    """The chosen setting trained again from another seed, against its first run on the same validation numbers:
    how much the seed alone (initial weights, order and jitter of the batches) moves a setting."""

    accuracy: float        # the second run's whole-number accuracy on the validation numbers
    difference: float      # second run minus first, paired on the same numbers
    margin: float          # the difference's 95% margin
    train_seconds: float


def repeat_with_another_seed(run: config.RunConfig, setting: config.ReaderSetting, train_rows: crops.NumberTable,
                             val_crops: tuple[np.ndarray, np.ndarray],
                             explored: Comparison) -> tuple[SeedRepeat, training.TrainedModel]:
    """Train `setting` again at the exploration's budget from the run's seed plus one, and pair it with its first run
    (the second run's model too, for the run's count of models and training time)."""
    again = training.fit_crops(DESIGN, train_rows, val_crops, **training_args(run, setting, seed=run.seed + 1))
    right = whole_number_rights(again.model, val_crops)
    return SeedRepeat(float(right.mean()), *metrics.paired_difference(right, explored.right[setting.name]),
                      again.train_seconds), again


def real_rows() -> dict[str, crops.NumberTable]:
    """svhn-real's train 1-200 (trained on) and 201-256 (validation); test 1-128 is read at the end only."""
    rows = {part: real_photos.svhn_real_table(part) for part in ("train", "validation")}
    if any(table is None for table in rows.values()):
        raise FileNotFoundError(f"{paths.data_dir() / real_photos.SVHN_REAL} is missing: "
                                "the README says where the data comes from.")
    return rows


def fine_tuning_args(run: config.RunConfig, setting: config.ReaderSetting, epochs: int, steps: int) -> dict:
    """Arguments of a fine-tuning with real photos mixed in: a share (`real_rate_scale`) of the step's learning rate."""
    return training_args(run, setting, epochs=epochs, steps_per_epoch=steps, learning_rate=run.step2.learning_rate * run.step2.real_rate_scale)


def fine_tune_real(run: config.RunConfig, setting: config.ReaderSetting, mixed_rows: crops.NumberTable,
                   real_val_crops: tuple[np.ndarray, np.ndarray],
                   start_from: training.TrainedModel) -> training.TrainedModel:
    """Continue the chosen reader on stand-in rows with the real train photos mixed in; every epoch runs,
    the one that reads the most real validation photos is kept."""
    step = run.step2
    return training.fit_crops(DESIGN, mixed_rows, real_val_crops, start_from=start_from, patience=step.real_epochs,
                              **fine_tuning_args(run, setting, step.real_epochs, step.real_steps))


def whole_number_rights(model, crop_set: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per crop, whether the reader gets its whole number right."""
    return metrics.whole_number_right(training.predict(model, crop_set[0], metrics.decode_multihead), crop_set[1])


def whole_number_accuracy(model, crop_set: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of the crops whose whole number the reader gets right."""
    return float(whole_number_rights(model, crop_set).mean())


def unsure_threshold(model, crop_set: tuple[np.ndarray, np.ndarray]) -> float:
    """The lowest confidence that keeps the reader's answers on `crop_set` (validation crops) 98% right."""
    decoded = training.predict(model, crop_set[0], metrics.decode_multihead)
    return metrics.confidence_threshold(metrics.whole_number_right(decoded, crop_set[1]), decoded.confidence)


def by_length(decoded_metrics: dict, labels: np.ndarray, train_labels: np.ndarray | None = None) -> dict[str, dict]:
    """Per number length present: how many test numbers, the share read whole and, with `train_labels`,
    how many training numbers had that length."""
    lengths = labels[:, 0]
    train = {} if train_labels is None else {n: int((train_labels[:, 0] == n).sum()) for n in range(1, 6)}
    return {str(n): {"count": int((lengths == n).sum()), "accuracy": decoded_metrics[f"sequence_accuracy_length_{n}"],
                     **({"training_numbers": train[n]} if train else {})}
            for n in range(1, 6) if (lengths == n).any()}


def _count(number: int) -> str:
    """A count in a sentence: "none" for 0."""
    return "none" if number == 0 else str(number)


def longest_numbers(by_length_figures: dict[str, dict], read_rows: np.ndarray, labels: np.ndarray, train_count: int) -> str:
    """Why the longest numbers read worst, tested on what the reader did with them: how rare they were in
    training, how often the length head gave their length, and which of their digits were right."""
    n = max(map(int, by_length_figures))
    longest, rows, truth = by_length_figures[str(n)], read_rows[labels[:, 0] == n], labels[labels[:, 0] == n]
    share, length_right = longest["training_numbers"] / train_count, (rows[:, 0] == n)
    first_right = (rows[:, 1:n] == truth[:, 1:n]).all(1)   # all but the last digit right
    text = (f"{n}-digit numbers are {longest['training_numbers']:,} of the {train_count:,} training numbers "
            f"({100 * share:.1f}%). Of the {len(rows)} {n}-digit test numbers, the length head gave "
            f"{_count(length_right.sum())} the length {n}; the digit heads got the first {n - 1} digits right on "
            f"{_count(first_right.sum())} and the last digit on {_count((rows[:, n] == truth[:, n]).sum())}.")
    if not len(rows):
        return text
    digits_right = first_right.mean()
    if length_right.mean() >= 0.5:
        return text + " The length is mostly right, so the digits, not the rarity of long numbers, cost them."
    never = "never" if not length_right.any() else "seldom"
    return text + (f" The length head {never} gives them {n} digits, as long numbers were rare in training"
                   + (", and the digit heads fail on them too." if digits_right < 0.5 else "."))



@dataclass
class Step2Sets:
    """Step 2's data, split and cropped: validation split off the training split first, real SVHN by file number."""

    data: Step2Data
    train_rows: crops.NumberTable                  # the stand-in's (or SVHN's) training split, validation taken out
    val_rows: crops.NumberTable
    val_crops: tuple[np.ndarray, np.ndarray]       # centre windows of the true boxes, uint8, with label rows
    real_rows: dict[str, crops.NumberTable]        # real SVHN train 1-200 ("train") and 201-256 ("validation")
    mixed_rows: crops.NumberTable                  # training rows with the real train photos mixed in
    real_val_crops: tuple[np.ndarray, np.ndarray]
    load_seconds: float = 0.0                      # finding or rendering the data and parsing its digitStruct.mat

    @cached_property
    def test_crops(self) -> tuple[np.ndarray, np.ndarray]:
        """The test split's crops, made when first asked for (after every choice)."""
        return crops.crop_arrays(self.data.tables["test"])

    def summary(self) -> str:
        """What was loaded and how it was split, in three lines."""
        tables = self.data.tables
        return (f"Step 2 data: {self.data.name}; ready in {self.load_seconds:.1f} s | " + " | ".join(
            f"{split}: {len(t):,} numbers, {t.dropped} longer than 5 dropped" for split, t in tables.items()) +
            f"\nlengths 1-5 in train: {np.bincount(tables['train'].labels[:, 0], minlength=6)[1:]}\n"
            f"train {len(self.train_rows):,} | validation {len(self.val_rows):,} | crops {self.val_crops[0].shape} "
            f"{self.val_crops[0].dtype}")

    def real_summary(self) -> str:
        """The real photos' share of the fine-tuning rows and the real validation set, in one line."""
        return (f"training rows: {len(self.mixed_rows):,}, of which {len(self.mixed_rows) - len(self.train_rows):,} real "
                f"(photos 1-200 repeated) | real validation: {len(self.real_val_crops[1])} photos (train 201-256)")


def prepare(run: config.RunConfig) -> Step2Sets:
    """Load the data, split the validation numbers off the training split, crop them, and mix the real photos in."""
    start = time.perf_counter()
    data = load_data(run)
    seconds = time.perf_counter() - start
    train_rows, val_rows = crops.split_table(data.tables["train"], run.step2.val_count, seed=run.seed)
    real = real_rows()   # test 1-128: read once, by `read_test_photos`, after every choice
    return Step2Sets(data, train_rows, val_rows, crops.crop_arrays(val_rows), real,
                     crops.mix_tables(train_rows, real["train"], run.step2.real_share), crops.crop_arrays(real["validation"]),
                     seconds)


STANDIN_ONLY, WITH_REAL = "stand-in only", "real photos mixed in (the Step 2 reader)"


@dataclass
class Step2Results:
    """Both Step 2 readers' figures: real and stand-in validation, the stand-in test split, by length."""

    readers: dict[str, training.TrainedModel]      # STANDIN_ONLY, WITH_REAL
    validation: dict[str, dict[str, float]]        # per reader: real and stand-in validation accuracy
    gain_validation: tuple[float, float]           # WITH_REAL minus STANDIN_ONLY on the real validation photos, paired
    decoded: metrics.Decoded                       # the Step 2 reader on the test crops
    figures: dict                                  # its test metrics
    standin_only: float                            # the stand-in-only reader's test accuracy
    initial: float                                 # the first setting's (Step 1's trunk) test accuracy
    by_length: dict[str, dict]

    def validation_table(self, count_real: int, count_standin: int) -> str:
        """Both readers on both validation sets, as a Markdown table."""
        return results.markdown_table(
            [{"reader": name, "real": results.percent(v["real_validation"]), "standin": results.percent(v["standin_validation"])}
             for name, v in self.validation.items()],
            {"reader": "reader", "real": f"real SVHN validation ({count_real} photos)",
             "standin": f"stand-in validation ({count_standin:,} rendered numbers)"})

    def test_line(self) -> str:
        """The stand-in test figures in one line."""
        return (f"stand-in test, {self.figures['count']:,} rendered numbers: whole-number accuracy "
                f"{100 * self.figures['sequence_accuracy']:.2f}% (stand-in only: {100 * self.standin_only:.2f}%) | "
                f"per digit {100 * self.figures['per_digit_accuracy']:.2f}%")

    def record(self, run: config.RunConfig, sets: Step2Sets, explored: Comparison, chosen: str, initial: str,
               seconds: float, repeat: SeedRepeat | None = None) -> dict:
        """What results/metrics.json keeps of Step 2."""
        standin, real = self.readers[STANDIN_ONLY], self.readers[WITH_REAL]
        step = run.step2
        return {**self.figures, "data_source": sets.data.name, "real_svhn": sets.data.real_svhn, "fast_mode": run.fast,
                "configuration": chosen, "train_seconds": standin.train_seconds + real.train_seconds,
                "best_epoch": standin.info["best_epoch"], "parameters": real.model.count_params(),
                "train_numbers": len(sets.train_rows), "test_numbers": len(sets.test_crops[1]),
                "exploration": explored.record(against=chosen),
                "exploration_seed_repeat": asdict(repeat) if repeat else None,
                "exploration_budget": {key: getattr(step, key) for key in ("epochs", "steps_per_epoch", "batch_size")},
                "initial": {"configuration": initial, "test_sequence_accuracy": self.initial}, "by_length": self.by_length,
                "standin_only_test_sequence_accuracy": self.standin_only, "step_seconds": seconds,
                "real_fine_tune": {"real_share": step.real_share, "train_seconds": real.train_seconds,
                                   "best_epoch": real.info["best_epoch"], "validation": self.validation,
                                   "gain_validation": dict(zip(("difference", "margin"), self.gain_validation))}}


def evaluate(sets: Step2Sets, explored: Comparison, initial: str, standin: training.TrainedModel,
             real: training.TrainedModel) -> Step2Results:
    """Both readers on both validation sets, then the test crops read once: the Step 2 reader (`real`), the
    stand-in-only reader and the first setting (`initial`) for Q6."""
    readers = {STANDIN_ONLY: standin, WITH_REAL: real}
    real_right = {name: whole_number_rights(run.model, sets.real_val_crops) for name, run in readers.items()}
    validation = {name: {"real_validation": float(real_right[name].mean()),
                         "standin_validation": whole_number_accuracy(run.model, sets.val_crops)} for name, run in readers.items()}
    gain = metrics.paired_difference(real_right[WITH_REAL], real_right[STANDIN_ONLY])   # paired on the same photos
    decoded = training.predict(real.model, sets.test_crops[0], metrics.decode_multihead)
    figures = metrics.sequence_metrics(decoded, sets.test_crops[1])
    return Step2Results(readers, validation, gain, decoded, figures, whole_number_accuracy(standin.model, sets.test_crops),
                        whole_number_accuracy(explored.runs[initial].model, sets.test_crops),
                        by_length(figures, sets.test_crops[1], sets.train_rows.labels))


@dataclass
class Step2Test:
    """The real SVHN test photos read once by both Step 2 readers in their true boxes, and the other readers' scores
    on them and on Chars74K's digits (per-photo rights kept, to pair with each reader)."""

    photos: real_photos.LabelledPhotos
    right: dict[str, np.ndarray]     # per Step 2 reader: whether it reads each photo's number in its true box
    others: dict                     # `peers.evaluate`'s scores with their "_right" ({} when the other readers were not run)

    @property
    def accuracy(self) -> dict[str, float]:
        """Each Step 2 reader's accuracy in the true boxes."""
        return {name: float(right.mean()) for name, right in self.right.items()}

    @property
    def gain(self) -> tuple[float, float]:
        """The Step 2 reader minus the stand-in-only reader, paired on the same photos."""
        return metrics.paired_difference(self.right[WITH_REAL], self.right[STANDIN_ONLY])

    def peer_in_box(self, name: str = "rapidocr") -> dict | None:
        """A peer's score in the same true boxes, with its difference from the Step 2 reader paired on the same photos
        ("against_reader"); None where it was not run."""
        score = ((self.others.get(self.photos.name) or {}).get(name) or {}).get("true_box")
        if not score:
            return None
        return peers.paired_score(score, self.right[WITH_REAL])


def read_test_photos(results: Step2Results, *, others: bool = True) -> Step2Test:
    """Read the real SVHN test photos (test 1-128) in their true boxes with both Step 2 readers, whose every choice was
    made on validation, and (`others`) score Tesseract and RapidOCR on them and RapidOCR on Chars74K (minutes).
    Step 4's reader reads the same photos once more, end to end, after its own choices (`real_test.evaluate`)."""
    photos = real_photos.svhn_real("test")
    right = {name: real_photos.true_box_right(reader.NumberReader.in_boxes(run.model), photos)
             for name, run in results.readers.items()}
    other_readers = {} if not others else {**peers.evaluate([photos]),
                                          **peers.evaluate([real_photos.chars74k_digits()], names=("rapidocr",))}
    return Step2Test(photos, right, other_readers)
